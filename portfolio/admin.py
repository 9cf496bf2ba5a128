"""The admin is for superusers to inspect records and manage logins and groups.

Catalogue records are read-only here: their writes carry rules and history, so they go
through the services behind the pages and the API.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from portfolio.models import PortfolioSettings


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PortfolioSettings)
class PortfolioSettingsAdmin(ReadOnlyAdmin):
    pass
