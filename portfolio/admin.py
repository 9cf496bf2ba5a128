"""The admin is for superusers to inspect records and manage logins and groups.

Catalogue records are read-only here: their writes carry rules and history, so they go
through the services behind the pages and the API.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from portfolio.models import Event, PortfolioSettings


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Lists, shows and shows the history of a record; writes nothing.

    simple_history's page for a past version saves the form posted to it ("revert") after
    checking only that the user may *view* the record, so a superuser could otherwise rewrite
    any field there (a lifecycle stage, an owner) past every rule. Past versions are shown,
    never posted back.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(PortfolioSettings)
class PortfolioSettingsAdmin(ReadOnlyAdmin):
    pass


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The recorded changes, for support to look one up; never written here (services record
    them with their change)."""

    list_display = ("position", "type", "object_type", "object_id", "actor_name", "job", "at")
    list_filter = ("type", "object_type")
    search_fields = ("=object_id", "actor_name")
    ordering = ("-id",)
    show_full_result_count = False  # no COUNT over the whole table on every list page

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
