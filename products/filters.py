"""The product filterset, shared by the product list page and /api/v1/products/."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from portfolio.filters import UpdatedSinceFilterSet
from portfolio.validation import parse_id
from products.models import (
    Cluster,
    Criticality,
    Kind,
    ManagementModel,
    Person,
    Product,
    Stage,
    Team,
)

NONE = "none"


class SlugListFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Comma-separated product slugs."""


class ProductFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # distinct=False: these filter the product's own columns, so no row can repeat, and a
    # DISTINCT over the joined row would sort the whole result before the page limit.
    stage = django_filters.MultipleChoiceFilter(
        field_name="lifecycle_stage", choices=Stage.choices, label="Stage", distinct=False
    )
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices, distinct=False)
    model = django_filters.ChoiceFilter(
        field_name="management_model", choices=ManagementModel.choices, label="Managed as"
    )
    criticality = django_filters.MultipleChoiceFilter(choices=Criticality.choices, distinct=False)
    strategic = django_filters.BooleanFilter()
    cluster = django_filters.CharFilter(method="filter_cluster", label="Cluster (slug or 'none')")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner (person id or 'none')")
    team = django_filters.CharFilter(field_name="team__slug", label="Team (slug)")
    # The dependency map's "+N more" links: what the named products depend on, directly, and
    # what depends on them. A subquery each, so no row repeats and no query is added.
    dependency_of = SlugListFilter(
        method="filter_dependency_of", label="Dependencies of (product slugs, comma-separated)"
    )
    dependant_of = SlugListFilter(
        method="filter_dependant_of", label="Dependants of (product slugs, comma-separated)"
    )
    external_source = django_filters.CharFilter(
        field_name="external_ids__source", label="Has an id from this source", distinct=True
    )
    external_id = django_filters.CharFilter(
        field_name="external_ids__external_id", label="External id", distinct=True
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("lifecycle_stage", "stage"),
            ("updated_at", "updated"),
            ("unit__owner__name", "owner"),
            ("criticality", "criticality"),
        )
    )

    class Meta:
        model = Product
        fields = ["q", "stage", "kind", "model", "criticality", "strategic", "updated_since"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(slug__icontains=value) | Q(description__icontains=value)
        )

    def filter_cluster(self, queryset, name, value):
        if value == NONE:
            return queryset.filter(unit__kind="product")
        return queryset.filter(unit__cluster__slug=value)

    def filter_dependency_of(self, queryset, name, value):
        edges = Product.dependencies.through.objects.filter(from_product__slug__in=value)
        return queryset.filter(id__in=edges.values("to_product_id"))

    def filter_dependant_of(self, queryset, name, value):
        edges = Product.dependencies.through.objects.filter(to_product__slug__in=value)
        return queryset.filter(id__in=edges.values("from_product_id"))

    def filter_owner(self, queryset, name, value):
        if value == NONE:
            return queryset.without_accountable_owner()
        person_id = parse_id(value)
        if person_id is None:
            return queryset.none()
        return queryset.filter(unit__owner_id=person_id)


class PersonFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Person
        fields = ["q", "active", "updated_since"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class TeamFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    member = django_filters.ModelChoiceFilter(
        field_name="members", queryset=Person.objects.all(), label="Member"
    )

    class Meta:
        model = Team
        fields = ["q", "member", "updated_since"]


class ClusterFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    owner = django_filters.ModelChoiceFilter(
        field_name="unit__owner", queryset=Person.objects.all(), label="Owner"
    )
    has_reason = django_filters.BooleanFilter(method="filter_has_reason", label="Has a reason")

    class Meta:
        model = Cluster
        fields = ["q", "owner", "has_reason", "updated_since"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_has_reason(self, queryset, name, value):
        return queryset.exclude(reasons=[]) if value else queryset.filter(reasons=[])
