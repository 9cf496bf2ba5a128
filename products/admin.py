from django.contrib import admin

from portfolio.admin import ReadOnlyAdmin
from products.models import (
    Cluster,
    ExternalId,
    LifecycleTransition,
    MigrationPlan,
    OwnershipUnit,
    Person,
    Product,
    Team,
)
from products.selectors import unit_created


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "lifecycle_stage", "management_model", "unit"]
    list_filter = ["lifecycle_stage", "kind", "management_model"]
    search_fields = ["name", "slug", "external_ids__external_id"]
    inlines = [ExternalIdInline]
    list_select_related = ["unit__cluster", "unit__product"]


@admin.register(OwnershipUnit)
class OwnershipUnitAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "owner", "is_active"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["cluster", "product", "owner"]
    # The history page says who created the unit and when, also for a unit created with its
    # product in bulk, whose creation is recorded on the product (products.selectors).
    object_history_template = "admin/products/ownershipunit/object_history.html"

    def history_view(self, request, object_id, extra_context=None):
        unit = OwnershipUnit.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        created = unit_created(unit) if unit is not None else None
        return super().history_view(
            request, object_id, extra_context={**(extra_context or {}), "created": created}
        )


@admin.register(LifecycleTransition)
class LifecycleTransitionAdmin(ReadOnlyAdmin):
    list_display = ["product", "from_stage", "to_stage", "actor", "at", "override"]
    list_filter = ["to_stage", "override"]


admin.site.register(MigrationPlan, ReadOnlyAdmin)


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["name", "email", "title", "active", "user"]
    list_filter = ["active"]
    search_fields = ["name", "email"]


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "reasons"]
    search_fields = ["name"]
