from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # The token's event body (portfolio/events.py): the kernel cannot import us.
        from accounts.api import events

        events.register()
