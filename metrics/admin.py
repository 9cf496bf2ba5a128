from django.contrib import admin

from metrics.models import Metric


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ("name", "product", "dimension", "unit", "last_value", "last_read_at")
    list_filter = ("level", "dimension", "better")
    search_fields = ("name", "key", "product__name")
    raw_id_fields = ("product",)
