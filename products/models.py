"""The catalogue: people, teams, clusters, products, the ownership units they are run in, and
their lifecycle."""

from __future__ import annotations

from typing import Self, TypeVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from portfolio.links import object_url
from portfolio.permissions import AnyUser, is_leader
from portfolio.versioning import Versioned

_PersonT = TypeVar("_PersonT", bound="Person")


class PersonQuerySet(models.QuerySet[_PersonT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        return self if is_leader(user) else self.none()

    def accountable(self) -> Self:
        """People who can be held accountable: not departed and not locked out."""
        return self.filter(active=True).exclude(user__is_active=False)


class Person(Versioned):
    """Someone who can own products and clusters, optionally linked to a login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    name = models.CharField(max_length=120)
    email = models.EmailField(unique=True)
    title = models.CharField("job title", max_length=120, blank=True)
    active = models.BooleanField(default=True, help_text="Unticked once the person has left.")
    departed_on = models.DateField(null=True, blank=True)
    # When the leaders were told which units this departure orphaned: the notice goes once
    # per departure however often its task runs; a return clears it for the next departure.
    departure_notice_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active=True) | Q(departed_on__isnull=False),
                name="person_departed_has_date",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_url("person-detail", self.pk)

    @property
    def is_accountable(self) -> bool:
        return self.active and (self.user is None or self.user.is_active)


_TeamT = TypeVar("_TeamT", bound="Team")


class TeamQuerySet(models.QuerySet[_TeamT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        return self if is_leader(user) else self.none()


class Team(Versioned):
    """A stable cross-functional team that stays with its products across their lifecycle."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(Person, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(m2m_fields=[members])
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_url("team-detail", self.slug)


class ClusterReason(models.TextChoices):
    SAME_USERS = "same_users", "Same users"
    SAME_DOMAIN = "same_domain", "Same business domain"
    TECHNICAL_DEPENDENCY = "technical_dependency", "Technical dependency"


_ClusterT = TypeVar("_ClusterT", bound="Cluster")


class ClusterQuerySet(models.QuerySet[_ClusterT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit__owner__user=user)

    def without_reason(self) -> Self:
        return self.filter(reasons=[])


class Cluster(Versioned):
    """Products grouped under one owner, one backlog and one identity for their users.

    A cluster must say why it groups its members; one with no reason is flagged, because
    "they are all small" is not a reason.
    """

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    reasons = ArrayField(
        models.CharField(max_length=32, choices=ClusterReason.choices),
        default=list,
        blank=True,
        help_text="Why these products belong together.",
    )
    reason_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_url("cluster-detail", self.slug)

    @property
    def has_reason(self) -> bool:
        return bool(self.reasons)

    def get_reasons_display(self) -> list[str]:
        labels = dict(ClusterReason.choices)
        return [labels.get(r, r) for r in self.reasons]


class Stage(models.TextChoices):
    INTRODUCTION = "introduction", "Introduction"
    GROWTH = "growth", "Growth"
    MATURITY = "maturity", "Maturity"
    RETIREMENT = "retirement", "Retirement"
    RETIRED = "retired", "Retired"


STAGE_ORDER = [s.value for s in Stage]
LIVE_STAGES = [Stage.INTRODUCTION, Stage.GROWTH, Stage.MATURITY]

# What each stage asks the owner to invest in (shown on pages and, later, in review packets).
STAGE_FOCUS: dict[str, str] = {
    Stage.INTRODUCTION: "Prove the product with its first users and settle how it runs.",
    Stage.GROWTH: "Invest in new capabilities and in adoption.",
    Stage.MATURITY: "Invest in performance and in lowering the cost to run.",
    Stage.RETIREMENT: "Carry out a managed migration to the target, then switch off.",
    Stage.RETIRED: "Nothing: the product is switched off and its backlog is frozen.",
}


class Dimension(models.TextChoices):
    """The three things a unit's owner is accountable for; backlog items and metrics carry one."""

    IMPROVEMENT = "improvement", "Improvement"
    OPERATIONS = "operations", "Operations"
    SUPPORT = "support", "Support"


class Kind(models.TextChoices):
    SYSTEM = "system", "System"
    PLATFORM = "platform", "Platform"
    SERVICE = "service", "Service"
    INTEGRATION = "integration", "Integration"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"


class Criticality(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ManagementModel(models.TextChoices):
    PRODUCT = "product", "Product"
    PROJECT = "project", "Project"


class UnitKind(models.TextChoices):
    CLUSTER = "cluster", "Cluster"
    PRODUCT = "product", "Product"


_OwnershipUnitT = TypeVar("_OwnershipUnitT", bound="OwnershipUnit")


class OwnershipUnitQuerySet(models.QuerySet[_OwnershipUnitT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner__user=user)

    def current(self) -> Self:
        return self.filter(is_active=True)

    def without_accountable_owner(self) -> Self:
        return self.filter(
            Q(owner__isnull=True) | Q(owner__active=False) | Q(owner__user__is_active=False)
        )


class OwnershipUnit(models.Model):
    """What one owner is accountable for as one thing: a cluster, or a product in no cluster.

    Every cluster has one unit; every product has its own unit, which lies dormant
    (is_active=False) while the product belongs to a cluster and wakes when it splits out,
    so a product's history as a unit of its own is never lost. Backlogs, funding, reviews
    and owner load hang on units.
    """

    kind = models.CharField(max_length=10, choices=UnitKind.choices)
    cluster = models.OneToOneField(
        Cluster, null=True, blank=True, on_delete=models.CASCADE, related_name="unit"
    )
    product = models.OneToOneField(
        "products.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_unit",
    )
    owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="units"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Written in bulk by sync clients: the history copy keeps no secondary indexes (it is read
    # per object, by history_id order) and no foreign key to the user table (a check per row at
    # commit), which roughly halves the cost of each history row a sync writes.
    history = HistoricalRecords(
        no_db_index=["cluster", "product", "owner", "updated_at"], user_db_constraint=False
    )
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    objects = OwnershipUnitQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="cluster", cluster__isnull=False, product__isnull=True)
                    | Q(kind="product", product__isnull=False, cluster__isnull=True)
                ),
                name="unit_is_cluster_or_product",
            ),
            models.CheckConstraint(
                condition=Q(kind="product") | Q(is_active=True),
                name="cluster_unit_always_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return self._member().get_absolute_url()

    def _member(self) -> Cluster | Product:
        member = self.cluster if self.kind == UnitKind.CLUSTER else self.product
        assert member is not None  # unit_is_cluster_or_product: the kind's side is always set
        return member

    @property
    def name(self) -> str:
        return self._member().name

    @property
    def has_accountable_owner(self) -> bool:
        return self.owner is not None and self.owner.is_accountable


_ProductT = TypeVar("_ProductT", bound="Product")


class ProductQuerySet(models.QuerySet[_ProductT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit__owner__user=user)

    def with_unit(self) -> Self:
        return self.select_related("unit__cluster", "unit__owner__user", "team")

    def without_accountable_owner(self) -> Self:
        return self.filter(WITHOUT_ACCOUNTABLE_OWNER)


# Products whose unit has nobody who can be held accountable: no owner, an owner who left, or
# one whose login is disabled (the product list's `owner=none`; the dashboard counts it too).
WITHOUT_ACCOUNTABLE_OWNER = (
    Q(unit__owner__isnull=True)
    | Q(unit__owner__active=False)
    | Q(unit__owner__user__is_active=False)
)


class Product(Versioned):
    """An IT system, platform or service run as a product (or tracked as a project).

    `unit` is the ownership unit the product is currently run in: its own, or its cluster's.
    The owner is the unit's owner; a product never has an owner of its own beside that.
    """

    name = models.CharField(max_length=160)
    # unique=True also gives a pattern-ops index: the bulk upsert finds taken "slug-N" with it.
    slug = models.SlugField(max_length=160, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SYSTEM)
    description = models.TextField(blank=True)
    user_groups = models.TextField(blank=True, help_text="Who uses it, one group per line.")
    user_count = models.PositiveIntegerField(null=True, blank=True)
    key_use_cases = models.TextField(blank=True, help_text="One use case per line.")
    business_capabilities = models.TextField(blank=True, help_text="One capability per line.")
    dependencies = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents"
    )
    criticality = models.CharField(
        max_length=10, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    strategic = models.BooleanField(default=False)
    under_significant_change = models.BooleanField(
        default=False, help_text="Going through significant operational change right now."
    )
    lifecycle_stage = models.CharField(
        max_length=20, choices=Stage.choices, default=Stage.INTRODUCTION
    )
    stage_changed_at = models.DateTimeField(auto_now_add=True)
    management_model = models.CharField(
        max_length=10, choices=ManagementModel.choices, default=ManagementModel.PRODUCT
    )
    project_end_date = models.DateField(null=True, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    unit = models.ForeignKey(
        OwnershipUnit,
        on_delete=models.PROTECT,
        related_name="products",
        null=True,
        db_index=False,  # (unit, name) below serves every lookup by unit
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # See OwnershipUnit.history: no secondary indexes on the bulk-written history copy.
    history = HistoricalRecords(
        no_db_index=["slug", "lifecycle_stage", "team", "unit", "updated_at"],
        user_db_constraint=False,
    )
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(management_model="product") | Q(project_end_date__isnull=False),
                name="project_has_end_date",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "name"]),
            # The list's most common shape: filtered by stage, ordered by name.
            models.Index(fields=["lifecycle_stage", "name", "id"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_url("product-detail", self.slug)

    @property
    def cluster(self) -> Cluster | None:
        unit = self.unit
        return unit.cluster if unit is not None and unit.kind == UnitKind.CLUSTER else None

    @property
    def owner(self) -> Person | None:
        return self.unit.owner if self.unit is not None else None

    @property
    def stage_focus(self) -> str:
        return STAGE_FOCUS[self.lifecycle_stage]

    @property
    def is_project(self) -> bool:
        return self.management_model == ManagementModel.PROJECT


source_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]{0,39}$",
    "Lower-case letters, digits, '.', '_' or '-', at most 40 characters.",
)


# The product's own descriptive columns: what forms, services, the bulk upsert and the API
# read and write beside the lifecycle, the unit and the team.
PRODUCT_FIELDS = (
    "name",
    "slug",
    "kind",
    "description",
    "user_groups",
    "user_count",
    "key_use_cases",
    "business_capabilities",
    "criticality",
    "strategic",
    "under_significant_change",
    "management_model",
    "project_end_date",
)


class ExternalId(models.Model):
    """The product's id in another system (CMDB, ticketing, monitoring), unique per source."""

    # No index of its own: one_id_per_source (product, source) serves lookups by product.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="external_ids", db_index=False
    )
    source = models.CharField(max_length=40, validators=[source_validator])
    external_id = models.CharField(max_length=200)

    class Meta:
        ordering = ["source"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="external_id_unique"),
            models.UniqueConstraint(fields=["product", "source"], name="one_id_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class MigrationPlan(models.Model):
    """How a product in retirement hands over: to target products, or drops the capability."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="migration_plan")
    targets = models.ManyToManyField(Product, blank=True, related_name="migrations_in")
    capability_dropped = models.BooleanField(default=False)
    dropped_reason = models.TextField(blank=True)
    planned_end_date = models.DateField()
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[targets])
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(capability_dropped=False) | ~Q(dropped_reason=""),
                name="dropped_capability_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"Migration plan for {self.product}"


class LifecycleTransition(models.Model):
    """One recorded move between lifecycle stages: from, to, who, when and why."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.TextField(blank=True)
    override = models.BooleanField(
        default=False, help_text="A leader retired the product before its plan was done."
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.product}: {self.from_stage} → {self.to_stage}"


class ImportState(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    CONFIRMED = "confirmed", "Confirmed"


class ImportUpload(models.Model):
    """A catalogue file uploaded for import: its rows as parsed, the plan shown to the leader
    and the catalogue's fingerprint when the plan was made. Confirming writes the stored rows
    (no second upload) if the catalogue has not changed since."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=255, blank=True)
    state = models.CharField(
        max_length=12, choices=ImportState.choices, default=ImportState.PREVIEWED
    )
    fingerprint = models.CharField(max_length=64)
    rows = models.JSONField(default=list, help_text="The file's product rows, as parsed.")
    sheets = models.JSONField(default=dict, help_text="Its people, teams and clusters rows.")
    preview = models.JSONField(default=dict, help_text="Counts and each row's planned action.")
    result = models.JSONField(null=True, blank=True, help_text="Counts once confirmed.")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename or 'file'}, {self.state})"
