from django.apps import AppConfig


class WebConfig(AppConfig):
    """The top layer: URL wiring and the pages that compose several apps."""

    name = "web"
