from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # `signals`: nudge the fan-out when a transaction that recorded events commits (the
        # kernel sends `events_recorded`; it cannot import us). `tasks`: the tick registered in
        # every process, not only in workers (whose autodiscovery imports it), because a server
        # without a broker runs it in a thread (webhooks/nudge.py).
        from webhooks import signals, tasks  # noqa: F401
