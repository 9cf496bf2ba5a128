from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Nudge the fan-out when a transaction that recorded events commits (the kernel sends
        # `events_recorded`; it cannot import us).
        from webhooks import signals  # noqa: F401
