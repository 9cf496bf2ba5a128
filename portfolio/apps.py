from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"

    def ready(self) -> None:
        # Connects the Celery signals that mark outbox messages done, in web and worker alike.
        from portfolio import outbox  # noqa: F401
