from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Portfolio analytics"

    def ready(self) -> None:
        from analytics.api import events

        events.register()
