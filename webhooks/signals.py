"""The kernel says a transaction recorded events; once it commits, nudge the fan-out."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from portfolio.events import events_recorded
from webhooks import nudge


@receiver(events_recorded)
def _events_recorded(sender: Any, **kwargs: Any) -> None:
    nudge.after_commit()
