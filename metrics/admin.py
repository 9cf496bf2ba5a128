from django.contrib import admin

from metrics.models import Metric


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    """Read-only: metrics and their readings are written only through metrics/services.py, which
    keep the last value, the status and the history consistent."""

    list_display = ("name", "product", "dimension", "unit", "last_value", "last_read_at")
    list_filter = ("level", "dimension", "better")
    search_fields = ("name", "key", "product__name")
    raw_id_fields = ("product",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
