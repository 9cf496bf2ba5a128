"""`manage.py outbox`: what the outbox still owes, and a way to relay it by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portfolio import outbox
from portfolio.models import OutboxMessage


class Command(BaseCommand):
    help = (
        "Show the outbox backlog: messages not yet published, published but not done, and "
        "given up. --relay publishes what is due now (what the beat does every interval)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--relay", action="store_true", help="Publish the messages that are due now."
        )
        parser.add_argument(
            "--list", type=int, default=0, metavar="N", help="Also list the N oldest open ones."
        )

    def handle(self, *args: Any, relay: bool = False, list: int = 0, **options: Any) -> None:
        if relay:
            result = outbox.redeliver()
            self.stdout.write(f"Relayed {result['published']} of {result['due']} due message(s).")
        state = outbox.backlog()
        oldest = state["oldest"].isoformat(timespec="seconds") if state["oldest"] else "-"
        self.stdout.write(
            f"Not yet published: {state['pending']}\n"
            f"Published, not done: {state['published_not_done']}\n"
            f"Given up (see last_error): {state['given_up']}\n"
            f"Oldest open message: {oldest}"
        )
        for message in OutboxMessage.objects.filter(done_at__isnull=True)[:list]:
            self.stdout.write(
                f"#{message.pk} {message.task}{tuple(message.args)} created "
                f"{message.created_at:%Y-%m-%d %H:%M:%S}, {message.attempts} attempt(s)"
                + (f": {message.last_error}" if message.last_error else "")
            )
