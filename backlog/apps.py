from django.apps import AppConfig


class BacklogConfig(AppConfig):
    name = "backlog"

    def ready(self) -> None:
        from backlog import services
        from backlog.api import events
        from products import services as product_services

        product_services.UNIT_CHANGE_HOOKS.append(services.carry_items_on_unit_change)
        product_services.STAGE_CHANGE_HOOKS.append(services.freeze_backlog_on_retirement)
        events.register()
