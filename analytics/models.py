"""Snapshots of the portfolio's computed signals (DOMAIN.md: Computed signals).

A run writes one `Snapshot` and, under it, one row per unit, owner, raised cluster condition,
candidate and product readiness. Pages read the latest finished snapshot and say "as of" its
time; rules that judge "consecutive" or "3 of the last 4 weeks" read the earlier ones. Split
signals are the one thing that lives across snapshots: a signal opens, stays open while its
condition holds, and closes when a leader splits the member out, dismisses it, or the
condition clears.
"""

from __future__ import annotations

from typing import Self, TypeVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from portfolio.links import object_url
from portfolio.permissions import AnyUser


class SnapshotStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Recompute now"


_SnapshotT = TypeVar("_SnapshotT", bound="Snapshot")


class SnapshotQuerySet(models.QuerySet[_SnapshotT]):
    def done(self) -> Self:
        return self.filter(status=SnapshotStatus.DONE)

    def latest_done(self) -> Snapshot | None:
        return self.done().order_by("-started_at", "-id").first()


class Snapshot(models.Model):
    """One run of the analytics: when, why, with which thresholds, from what data."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.RUNNING
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    task_id = models.CharField(max_length=64, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    steps = models.PositiveSmallIntegerField(default=0)
    step_label = models.CharField(max_length=80, blank=True)
    thresholds = models.JSONField(default=dict, help_text="The settings the run applied.")
    inputs = models.JSONField(default=dict, help_text="What the run read, counted.")
    results = models.JSONField(default=dict, help_text="Portfolio-wide totals.")
    error = models.TextField(blank=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"])]

    def __str__(self) -> str:
        return f"Snapshot {self.pk} ({self.status}, {self.started_at:%Y-%m-%d %H:%M})"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None


class UnitState(models.Model):
    """An active ownership unit as one snapshot saw it."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey("products.OwnershipUnit", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        "products.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cluster = models.ForeignKey(
        "products.Cluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=160)
    stage = models.CharField(max_length=20)
    members = models.PositiveIntegerField(default=0)
    accountable = models.BooleanField(help_text="Has an owner who has not left.")
    active = models.BooleanField(help_text="Actively evolving (else stable).")
    reasons = ArrayField(models.TextField(), default=list, blank=True)
    health = models.SmallIntegerField(null=True, blank=True, help_text="Worst metric severity.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "unit"], name="unitstate_once"),
        ]
        indexes = [
            models.Index(fields=["snapshot", "owner"], name="unitstate_snapshot_owner"),
            # The dashboard's first orphans (a unit nobody accountable owns), by name: an index
            # walk to the first ten instead of sorting every orphan of the snapshot.
            models.Index(
                fields=["snapshot", "name", "id"],
                condition=Q(accountable=False),
                name="unitstate_orphans",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'active' if self.active else 'stable'})"


class LoadStatus(models.TextChoices):
    OK = "ok", "OK"
    AT_CEILING = "at_ceiling", "At ceiling"
    OVER = "over", "Over"
    TRIAGING = "triaging", "Triaging"


OVER_STATUSES = (LoadStatus.OVER, LoadStatus.TRIAGING)


class OwnerLoad(models.Model):
    """One owner's load against the ceiling in one snapshot."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="owners")
    person = models.ForeignKey("products.Person", on_delete=models.CASCADE, related_name="+")
    active_units = models.PositiveSmallIntegerField()
    stable_units = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=LoadStatus.choices)
    consecutive_over = models.PositiveSmallIntegerField(
        default=0, help_text="Snapshots in a row, up to this one, over the ceiling."
    )
    design_problem = models.BooleanField(default=False)
    suggestions = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "person"], name="ownerload_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.status}"

    @property
    def total(self) -> int:
        return self.active_units + self.stable_units


class SignalKind(models.TextChoices):
    CROWDING = "crowding", "Backlog crowding"
    DOMINANCE = "dominance", "Operational dominance"
    STRATEGIC = "strategic", "Strategic significance"


class SignalObservation(models.Model):
    """A split condition that held for a cluster member in one snapshot."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="observations")
    cluster = models.ForeignKey("products.Cluster", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=SignalKind.choices)
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    evidence = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "kind", "cluster"], name="observation_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} in cluster {self.cluster_id}"


class SignalStatus(models.TextChoices):
    OPEN = "open", "Open"
    SPLIT = "split", "Split out"
    DISMISSED = "dismissed", "Dismissed"
    CLEARED = "cleared", "Cleared"


_SplitSignalT = TypeVar("_SplitSignalT", bound="SplitSignal")


class SplitSignalQuerySet(models.QuerySet[_SplitSignalT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def open(self) -> Self:
        return self.filter(status=SignalStatus.OPEN)


class SplitSignal(models.Model):
    """A reason to split a member out of its cluster, with the evidence, until acted on."""

    cluster = models.ForeignKey(
        "products.Cluster", on_delete=models.CASCADE, related_name="split_signals"
    )
    kind = models.CharField(max_length=12, choices=SignalKind.choices)
    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="split_signals"
    )
    status = models.CharField(
        max_length=10, choices=SignalStatus.choices, default=SignalStatus.OPEN
    )
    evidence = models.JSONField(default=dict)
    opened_at = models.DateTimeField()
    first_snapshot = models.ForeignKey(
        Snapshot, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_snapshot = models.ForeignKey(
        Snapshot, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    close_note = models.TextField(blank=True)
    new_owner = models.ForeignKey(
        "products.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    split_product = models.ForeignKey(
        "products.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The member the leader split out (usually the signal's own member).",
    )

    objects = SplitSignalQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "kind", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "kind", "product"],
                condition=Q(status__in=["open", "dismissed"]),
                name="splitsignal_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.product} in {self.cluster}"

    def get_absolute_url(self) -> str:
        return object_url("split-signal", self.pk)


class Candidate(models.Model):
    """A product worth taking on first (orphaned or neglected), ranked in one snapshot."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="candidates")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("products.OwnershipUnit", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveIntegerField()
    score = models.PositiveSmallIntegerField()
    reasons = ArrayField(models.TextField(), default=list)

    class Meta:
        ordering = ["snapshot", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "product"], name="candidate_once"),
        ]
        # The dashboard's first candidates in rank order, without joining every candidate of
        # the snapshot to its product first.
        indexes = [models.Index(fields=["snapshot", "rank"], name="candidate_rank")]

    def __str__(self) -> str:
        return f"#{self.rank}: product {self.product_id} ({self.score})"


READINESS_CHECKS = (
    ("owner_named", "Owner named"),
    ("users_documented", "User base documented"),
    ("use_cases_documented", "Key use cases documented"),
    ("backlog_started", "Backlog started"),
    ("metrics_covered", "3 to 5 metrics covering improvement, operations and support"),
    ("review_scheduled", "Next quarterly review scheduled"),
)


class Readiness(models.Model):
    """How far a product is onboarded as a product, as a checklist with a score."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="readiness")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    owner_named = models.BooleanField()
    users_documented = models.BooleanField()
    use_cases_documented = models.BooleanField()
    backlog_started = models.BooleanField()
    metrics_covered = models.BooleanField()
    review_scheduled = models.BooleanField(
        null=True, help_text="The unit has a review scheduled today or later."
    )
    score = models.PositiveSmallIntegerField(help_text="Share of the known checks met, in %.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "product"], name="readiness_once"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}: {self.score}%"

    def checks(self) -> list[tuple[str, str, bool | None]]:
        return [(name, label, getattr(self, name)) for name, label in READINESS_CHECKS]
