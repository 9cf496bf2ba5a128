from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        # Django's documented place for start-up registration: models are loaded only now.
        from metrics import checks  # noqa: F401  (registers the stored-readings check)
        from metrics.selectors import health_subquery, unit_health_subquery
        from products import extensions

        extensions.register_health(product=health_subquery, unit=unit_health_subquery)

        from metrics.api import events

        events.register()
