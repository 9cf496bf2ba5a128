from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"

    def ready(self) -> None:
        # The catalogue's event bodies (portfolio/events.py): the kernel cannot import us.
        from products.api import events

        events.register()
