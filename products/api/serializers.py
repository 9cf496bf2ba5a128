"""Input and output adapters for products, lifecycle transitions and upserts.

A product's output is declared once (`PRODUCT`, see portfolio/api/rows.py) and made from
values() rows: the list endpoint answers up to 1,000 rows, and model instances with a
field-by-field serializer cost more than the query.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio.api.rows import (
    Attached,
    Column,
    Computed,
    Nested,
    Output,
    iso_date,
    iso_datetime,
    version_column,
)
from portfolio.exports import Listing
from portfolio.validation import MAX_INT, parse_id, validate_date_range
from products.bulk import MAX_ROWS
from products.models import (
    Cluster,
    ClusterReason,
    Criticality,
    Kind,
    LifecycleTransition,
    ManagementModel,
    Person,
    Product,
    Stage,
    Team,
    source_validator,
)
from products.rules import (
    NAME_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    SLUG_MESSAGE,
    UNKNOWN_TEAM,
    choice_message,
)
from products.selectors import attach_api_relations

# The owner of a product's unit, in a product row (see PRODUCT); owner_ref() makes the same body
# from a Person for the serializers that read model instances.
OWNER_REF = Output(
    "OwnerRefSerializer",
    Column("id", serializers.IntegerField(), "unit__owner_id"),
    Column("name", serializers.CharField(), "unit__owner__name"),
    Column("email", serializers.EmailField(), "unit__owner__email"),
    Computed(
        "accountable",
        serializers.BooleanField(),
        lambda row: (
            bool(row["unit__owner__active"]) and row["unit__owner__user__is_active"] is not False
        ),
        reads=("unit__owner__active", "unit__owner__user__is_active"),
    ),
)
OwnerRefSerializer = OWNER_REF.serializer


def owner_ref(person: Person | None) -> dict | None:
    """{id, name, email, accountable} for a unit's owner; needs `owner__user` selected."""
    if person is None:
        return None
    return {
        "id": person.pk,
        "name": person.name,
        "email": person.email,
        "accountable": person.is_accountable,
    }


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
        # Every ref may be a slug (a slug can be all digits); those that spell an id may be one.
        ids = {number for number in map(parse_id, refs) if number is not None}
        found = Product.objects.filter(Q(pk__in=ids) | Q(slug__in=refs)).select_related("unit")
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
            "version",
        ]
        read_only_fields = fields


# People as a file; the queryset brings `units_owned` (an annotation) as the list's does.
PERSON_EXPORT = Listing.of_serializer(
    "people", PersonSerializer, prepare=lambda people: people.select_related("user")
)


class PersonInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    email = serializers.EmailField(max_length=254)
    title = serializers.CharField(max_length=120, allow_blank=True, required=False)
    active = serializers.BooleanField(required=False)
    departed_on = serializers.DateField(
        allow_null=True, required=False, validators=[validate_date_range]
    )
    username = serializers.SlugRelatedField(
        source="user",
        slug_field="username",
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
        help_text="The login linked to this person.",
    )


class TeamSerializer(serializers.ModelSerializer):
    members: serializers.PrimaryKeyRelatedField[Person] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "members",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    description = serializers.CharField(allow_blank=True, required=False)
    members = PersonRefField(many=True, required=False, help_text="Person ids.")


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
            "version",
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


def cluster_relations(queryset: QuerySet[Cluster]) -> QuerySet[Cluster]:
    """Clusters with what ClusterSerializer reads: the unit's owner and its products' slugs."""
    return queryset.select_related("unit__owner__user").prefetch_related(
        Prefetch("unit__products", queryset=Product.objects.only("id", "slug", "unit"))
    )


CLUSTER_EXPORT = Listing.of_serializer("clusters", ClusterSerializer, prepare=cluster_relations)


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
            "created_at": iso_datetime(unit.created_at),
            "updated_at": iso_datetime(unit.updated_at),
        }


class ExternalIdSerializer(serializers.Serializer):
    # To mypy this shadows Field.source; DRF's metaclass lifts declared fields off the class.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=40,
        validators=[source_validator],
        help_text="The system the id comes from, e.g. 'cmdb'.",
    )
    id = serializers.CharField(max_length=200, help_text="The product's id in that system.")


PRODUCT = Output(
    "ProductSerializer",
    Column("id", serializers.IntegerField()),
    Column("name", serializers.CharField()),
    Column("slug", serializers.SlugField()),
    Column("kind", serializers.ChoiceField(choices=Kind.choices)),
    Column("description", serializers.CharField()),
    Column("user_groups", serializers.CharField()),
    Column("user_count", serializers.IntegerField(allow_null=True)),
    Column("key_use_cases", serializers.CharField()),
    Column("business_capabilities", serializers.CharField()),
    Column("criticality", serializers.ChoiceField(choices=Criticality.choices)),
    Column("strategic", serializers.BooleanField()),
    Column("under_significant_change", serializers.BooleanField()),
    Column("lifecycle_stage", serializers.ChoiceField(choices=Stage.choices)),
    Column("stage_changed_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("management_model", serializers.ChoiceField(choices=ManagementModel.choices)),
    Column("project_end_date", serializers.DateField(allow_null=True), convert=iso_date),
    Column(
        "team", serializers.SlugField(allow_null=True, help_text="The team's slug."), "team__slug"
    ),
    Column(
        "cluster",
        serializers.SlugField(allow_null=True, help_text="The cluster's slug, if any."),
        "unit__cluster__slug",
    ),
    Nested(
        "owner",
        OWNER_REF,
        when="unit__owner_id",
        allow_null=True,
        help_text="The owner of the product's unit.",
    ),
    Column(
        "unit",
        serializers.IntegerField(allow_null=True, help_text="The ownership unit's id."),
        "unit_id",
    ),
    # Read for a whole page in two more queries (selectors.attach_api_relations).
    Attached(
        "dependencies",
        serializers.ListField(
            child=serializers.SlugField(), help_text="Slugs of the products this one depends on."
        ),
        "dependency_slugs",
    ),
    Attached("external_ids", ExternalIdSerializer(many=True), "external"),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
    version_column(),
    doc="A product as the API answers it (read-only).",
)
ProductSerializer = PRODUCT.serializer


def product_api_rows(qs: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    """The API's product rows, read as values: a page of 100 products with their unit, cluster,
    owner, login and team would otherwise build some 700 model instances. Dependencies and
    external ids come after, in one plain query each for the page (attach_api_relations)."""
    return qs.values(*PRODUCT.columns)


# The product list as a file: the API's bodies, dependencies and external ids read per chunk.
PRODUCT_EXPORT = Listing.of_output(
    "products", PRODUCT, rows=product_api_rows, attach=attach_api_relations
)


def _choice(field: str, choices, **kwargs) -> serializers.ChoiceField:
    """A choice field that refuses a value in the words of products/rules.py, as the bulk
    upsert does."""
    return serializers.ChoiceField(
        choices=choices, error_messages={"invalid_choice": choice_message(field)}, **kwargs
    )


class ProductInputSerializer(serializers.Serializer):
    """What a client may send to create (POST) or change (PUT/PATCH) a product.

    The limits and messages are products/rules.py's, which the services and the bulk upsert
    apply too, so a bad value is named the same way on every path."""

    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    slug = serializers.SlugField(
        max_length=SLUG_MAX_LENGTH,
        required=False,
        help_text="Made from the name if left out.",
        error_messages={"invalid": SLUG_MESSAGE},
    )
    kind = _choice("kind", Kind.choices, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    user_groups = serializers.CharField(allow_blank=True, required=False)
    user_count = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, allow_null=True, required=False
    )
    key_use_cases = serializers.CharField(allow_blank=True, required=False)
    business_capabilities = serializers.CharField(allow_blank=True, required=False)
    criticality = _choice("criticality", Criticality.choices, required=False)
    strategic = serializers.BooleanField(required=False, help_text="Leaders only.")
    under_significant_change = serializers.BooleanField(required=False)
    lifecycle_stage = _choice(
        "lifecycle_stage",
        Stage.choices,
        required=False,
        help_text="On create only; later moves go through the transition endpoint.",
    )
    management_model = _choice("management_model", ManagementModel.choices, required=False)
    project_end_date = serializers.DateField(
        allow_null=True, required=False, validators=[validate_date_range]
    )
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": UNKNOWN_TEAM},
    )
    cluster = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Cluster.objects.select_related("unit"),
        allow_null=True,
        required=False,
        help_text="Cluster slug (leaders only).",
    )
    owner = PersonRefField(allow_null=True, required=False, help_text="Person id (leaders only).")
    dependencies = ProductRefList(required=False, help_text="Product ids or slugs.")
    # many=True hands max_length/min_length to the ListSerializer; the stubs check the child.
    external_ids = ExternalIdSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]

    def validate_external_ids(self, value):
        # A PATCH makes nested fields optional too; an external id still needs both parts.
        if any("source" not in e or "id" not in e for e in value):
            raise serializers.ValidationError("Each external id needs a source and an id.")
        return [(e["source"], e["id"]) for e in value]


class MigrationPlanInputSerializer(serializers.Serializer):
    planned_end_date = serializers.DateField(
        allow_null=True, required=False, validators=[validate_date_range]
    )
    targets = ProductRefList(required=False, default=list, help_text="Product ids or slugs.")
    capability_dropped = serializers.BooleanField(required=False, default=False)
    dropped_reason = serializers.CharField(allow_blank=True, required=False, default="")


# Labelled apart from the product's own stage so the schema names each choice set once.
TO_STAGE_CHOICES = [(value, f"to {label.lower()}") for value, label in Stage.choices]
FROM_STAGE_CHOICES = [(value, f"from {label.lower()}") for value, label in Stage.choices]


class TransitionInputSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=TO_STAGE_CHOICES)
    reason = serializers.CharField(allow_blank=True, required=False, default="")
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Leaders: retire although the migration plan is not done (needs a reason).",
    )
    migration_plan = MigrationPlanInputSerializer(
        required=False, allow_null=True, help_text="Needed to enter retirement."
    )


class TransitionSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True)
    from_stage = serializers.ChoiceField(choices=FROM_STAGE_CHOICES, read_only=True)
    to_stage = serializers.ChoiceField(choices=TO_STAGE_CHOICES, read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = LifecycleTransition
        fields = ["id", "product", "from_stage", "to_stage", "actor", "at", "reason", "override"]
        read_only_fields = fields


# --- Upserts: described for the schema; the rows are checked by products.bulk in plain Python ---


class UpsertRowSerializer(serializers.Serializer):
    external_id = ExternalIdSerializer(help_text="Matches the product to create or update.")
    name = serializers.CharField(max_length=160, required=False, help_text="Required to create.")
    slug = serializers.SlugField(max_length=160, required=False)
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    user_groups = serializers.CharField(allow_blank=True, required=False)
    user_count = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, allow_null=True, required=False
    )
    key_use_cases = serializers.CharField(allow_blank=True, required=False)
    business_capabilities = serializers.CharField(allow_blank=True, required=False)
    criticality = serializers.ChoiceField(choices=Criticality.choices, required=False)
    strategic = serializers.BooleanField(required=False)
    under_significant_change = serializers.BooleanField(required=False)
    management_model = serializers.ChoiceField(choices=ManagementModel.choices, required=False)
    project_end_date = serializers.DateField(
        allow_null=True, required=False, validators=[validate_date_range]
    )
    team = serializers.SlugField(allow_null=True, required=False, help_text="Team slug.")
    owner = serializers.EmailField(
        allow_null=True,
        required=False,
        help_text="Owner's email; for a product in a cluster, absent or the cluster's owner.",
    )
    lifecycle_stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        help_text="For new products; an existing product must repeat its stage or leave it out.",
    )


class BulkUpsertInputSerializer(serializers.Serializer):
    # many=True hands max_length/min_length to the ListSerializer; the stubs check the child.
    rows = UpsertRowSerializer(many=True, max_length=MAX_ROWS, min_length=1)  # type: ignore[call-arg]


class UpsertRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged"])


class BulkUpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rows = UpsertRowResultSerializer(many=True)


class UpsertResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    product = ProductSerializer()


class BulkRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    # To mypy this shadows Serializer.errors; DRF's metaclass lifts declared fields off the class.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
    rule = serializers.CharField(required=False)


class BulkErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    # To mypy this shadows Serializer.errors; DRF's metaclass lifts declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    rows = BulkRowErrorSerializer(many=True, required=False)


SLUG_OR_ID = re.compile(r"^[-a-zA-Z0-9_]+\Z")


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class ProductRefField(serializers.Field):
    """One product given by id or slug; unknown ones name the field."""

    default_error_messages = {
        "unknown": "No product with id or slug: {ref}.",
        "invalid": "Give a product id or slug.",
    }

    def to_internal_value(self, data) -> Product:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        ref = str(data)
        if not ref or len(ref) > 160 or not SLUG_OR_ID.match(ref):
            # A slug is letters, digits, '-' and '_': anything else (a NUL byte, say) names
            # no product, and PostgreSQL would refuse it as a literal.
            self.fail("unknown", ref=ref.encode("unicode_escape").decode("ascii")[:40])
        query = Q(slug=ref)
        if (number := parse_id(ref)) is not None:
            query |= Q(pk=number)
        product = Product.objects.filter(query).order_by("pk").first()
        if product is None:
            self.fail("unknown", ref=ref)
        return product

    def to_representation(self, value: Product) -> str:
        return value.slug
