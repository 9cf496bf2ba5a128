from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"

    def ready(self) -> None:
        # Connects the Celery signals that mark outbox messages done, in web and worker alike.
        from portfolio import events, outbox  # noqa: F401
        from portfolio.api.serializers import PortfolioSettingsSerializer
        from portfolio.models import PortfolioSettings

        def settings_bodies(ids):
            return {
                s.pk: PortfolioSettingsSerializer(s).data
                for s in PortfolioSettings.objects.filter(pk__in=ids)
            }

        events.register_representation("settings", settings_bodies)
