"""Input and output adapters for people, teams, clusters, units and the portfolio settings.

Output serializers only read what the selectors prefetched (no per-row queries); input
serializers check shapes and resolve references, then the views hand the values to services.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio.models import Cluster, ClusterReason, Person, PortfolioSettings, Team
from products.models import Product

MAX_INT = 2_147_483_647


# --- Shared pieces ------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    rule = serializers.CharField(required=False)


class OwnerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    accountable = serializers.BooleanField()


def owner_ref(person: Person | None) -> dict | None:
    """{id, name, accountable} for a unit's owner; needs `owner__user` selected."""
    if person is None:
        return None
    return {"id": person.pk, "name": person.name, "accountable": person.is_accountable}


class PersonRefField(serializers.PrimaryKeyRelatedField):
    """A person given by id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Person.objects.select_related("user"))
        super().__init__(**kwargs)


class ProductRefListField(serializers.ListField):
    """Products given by id or slug, resolved with one query; unknown ones name the field."""

    child = serializers.CharField(max_length=160)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list):
            data = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in data]
        refs = super().to_internal_value(data)
        ids = {int(r) for r in refs if r.isascii() and r.isdigit() and len(r) < 19}
        slugs = {r for r in refs if not (r.isascii() and r.isdigit())}
        found = Product.objects.filter(Q(pk__in=ids) | Q(slug__in=slugs)).select_related("unit")
        by_ref: dict[str, Product] = {}
        for product in found:
            by_ref[str(product.pk)] = product
            by_ref[product.slug] = product
        missing = [r for r in refs if r not in by_ref]
        if missing:
            raise serializers.ValidationError(f"No product with id or slug: {', '.join(missing)}.")
        products = [by_ref[r] for r in refs]
        return list({p.pk: p for p in products}.values())


@extend_schema_field(
    {"type": "array", "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}
)
class ProductRefList(ProductRefListField):
    pass


# --- People -------------------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True)
    units_owned = serializers.IntegerField(
        read_only=True, help_text="Active ownership units this person owns."
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "email",
            "title",
            "active",
            "departed_on",
            "username",
            "units_owned",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PersonInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    email = serializers.EmailField(max_length=254)
    title = serializers.CharField(max_length=120, allow_blank=True, required=False)
    active = serializers.BooleanField(required=False)
    departed_on = serializers.DateField(allow_null=True, required=False)
    username = serializers.SlugRelatedField(
        source="user",
        slug_field="username",
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
        help_text="The login linked to this person.",
    )


# --- Teams --------------------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "members", "created_at", "updated_at"]
        read_only_fields = fields


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    description = serializers.CharField(allow_blank=True, required=False)
    members = PersonRefField(many=True, required=False, help_text="Person ids.")


# --- Clusters -----------------------------------------------------------------------------------


class ClusterSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    unit = serializers.IntegerField(source="unit.pk", read_only=True, allow_null=True)
    members = serializers.SerializerMethodField()
    flagged_without_reason = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "reasons",
            "reason_note",
            "flagged_without_reason",
            "owner",
            "unit",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OwnerRefSerializer(allow_null=True))
    def get_owner(self, obj: Cluster) -> dict | None:
        unit = getattr(obj, "unit", None)
        return owner_ref(unit.owner) if unit is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_members(self, obj: Cluster) -> list[str]:
        unit = getattr(obj, "unit", None)
        if unit is None:
            return []
        return sorted(p.slug for p in unit.products.all())

    def get_flagged_without_reason(self, obj: Cluster) -> bool:
        return not obj.reasons


class ClusterInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    description = serializers.CharField(allow_blank=True, required=False)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=ClusterReason.choices),
        required=False,
        max_length=len(ClusterReason.choices) * 2,
    )
    reason_note = serializers.CharField(allow_blank=True, required=False)
    owner = PersonRefField(allow_null=True, required=False, help_text="Person id.")


class ClusterMembersInputSerializer(serializers.Serializer):
    add = ProductRefList(
        required=False, default=list, help_text="Product ids or slugs to bring into the cluster."
    )
    remove = ProductRefList(
        required=False,
        default=list,
        help_text="Product ids or slugs to take out; they get a unit of their own again.",
    )
    new_owner = PersonRefField(
        allow_null=True,
        required=False,
        help_text="Person id owning the removed products' own units (default: the cluster's "
        "owner).",
    )


# --- Ownership units (read-only) ----------------------------------------------------------------


class UnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    cluster = serializers.SlugField(allow_null=True, help_text="The cluster's slug, if a cluster.")
    product = serializers.SlugField(allow_null=True, help_text="The product's slug, if a product.")
    owner = OwnerRefSerializer(allow_null=True)
    accountable = serializers.BooleanField(help_text="Has an owner who is active and can log in.")
    is_active = serializers.BooleanField()
    members = serializers.ListField(child=serializers.SlugField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, unit):
        is_cluster = unit.kind == "cluster"
        owner = unit.owner
        return {
            "id": unit.pk,
            "kind": unit.kind,
            "name": unit.cluster.name if is_cluster else unit.product.name,
            "cluster": unit.cluster.slug if is_cluster else None,
            "product": None if is_cluster else unit.product.slug,
            "owner": owner_ref(owner),
            "accountable": owner is not None and owner.is_accountable,
            "is_active": unit.is_active,
            "members": sorted(p.slug for p in unit.products.all()),
            "created_at": _dt(unit.created_at),
            "updated_at": _dt(unit.updated_at),
        }


_DT = serializers.DateTimeField()


def _dt(value):
    return _DT.to_representation(value) if value is not None else None


# --- Portfolio settings -------------------------------------------------------------------------


class PortfolioSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = PortfolioSettings
        exclude = ["id"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        current = self.instance
        low = attrs.get("metrics_min", getattr(current, "metrics_min", 3))
        high = attrs.get("metrics_max", getattr(current, "metrics_max", 5))
        if low > high:
            raise serializers.ValidationError(
                {"metrics_min": ["The minimum number of metrics cannot exceed the maximum."]}
            )
        return attrs
