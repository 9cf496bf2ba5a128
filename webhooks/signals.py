"""The kernel says a transaction recorded events; once it commits, nudge the fan-out. An
endpoint written anywhere (services, admin, a failure pause) makes the nudge ask again whether
anyone listens."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portfolio.events import events_recorded
from webhooks import nudge
from webhooks.models import Endpoint


@receiver(events_recorded)
def _events_recorded(sender: Any, **kwargs: Any) -> None:
    nudge.after_commit()


@receiver(post_save, sender=Endpoint)
@receiver(post_delete, sender=Endpoint)
def _endpoint_written(sender: Any, **kwargs: Any) -> None:
    nudge.forget_listeners()
