"""A handful of metrics per product, and their readings.

A metric keeps a copy of its latest reading (`last_value`, `last_read_at`), maintained by
every write of readings, so a status is a function of one metric row and the clock: lists
show badges for any number of products without reading the readings table.
"""

from __future__ import annotations

import datetime as dt
from typing import Self, TypeVar

from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portfolio.permissions import AnyUser, is_leader
from portfolio.versioning import Versioned
from products.models import Dimension, Product


class Level(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    BUSINESS = "business", "Business"


class Better(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Status(models.TextChoices):
    """A metric's health. `SEVERITY` orders them for roll-ups: the worst member wins."""

    GREEN = "green", "Green"
    NO_DATA = "no_data", "No data"
    STALE = "stale", "Stale"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


SEVERITY = {
    Status.GREEN: 0,
    Status.NO_DATA: 1,
    Status.STALE: 2,
    Status.AMBER: 3,
    Status.RED: 4,
}
BY_SEVERITY = {rank: status for status, rank in SEVERITY.items()}

INTERVAL_CHOICES = [
    (dt.timedelta(minutes=5), "Every 5 minutes"),
    (dt.timedelta(hours=1), "Hourly"),
    (dt.timedelta(days=1), "Daily"),
    (dt.timedelta(weeks=1), "Weekly"),
    (dt.timedelta(days=30), "Monthly"),
    (dt.timedelta(days=91), "Quarterly"),
]


_MetricT = TypeVar("_MetricT", bound="Metric")


class MetricQuerySet(models.QuerySet[_MetricT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:

        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(product__unit__owner__user=user)


class Metric(Versioned):
    """A metric definition on a product (see DOMAIN.md: Metric).

    Thresholds are the last value still inside their band: with a higher-is-better metric,
    a reading below `warning` is amber and one below `critical` is red. Without a warning
    threshold, missing the target is amber.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="metrics")
    key = models.SlugField(
        max_length=60, help_text="Short name, unique on the product; readings refer to it."
    )
    name = models.CharField(max_length=120)
    template = models.CharField(
        max_length=40, blank=True, help_text="The catalogue template it was made from, if any."
    )
    description = models.TextField(blank=True)
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.OPERATIONAL)
    dimension = models.CharField(
        max_length=20, choices=Dimension.choices, default=Dimension.OPERATIONS
    )
    unit = models.CharField(max_length=30, help_text="What a reading counts, e.g. %, ms, tickets.")
    better = models.CharField(max_length=10, choices=Better.choices, default=Better.HIGHER)
    target = models.FloatField()
    warning = models.FloatField(null=True, blank=True)
    critical = models.FloatField(null=True, blank=True)
    expected_interval = models.DurationField(
        default=dt.timedelta(days=1),
        validators=[MinValueValidator(dt.timedelta(minutes=1))],
        help_text="How often a reading should come in.",
    )
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_read_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Refreshed by readings, not edited: a new reading is no conflict for an edit in progress.
    unversioned_fields = frozenset({"last_value", "last_read_at"})
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = MetricQuerySet.as_manager()

    class Meta:
        ordering = ["product", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="metric_key_unique"),
            models.CheckConstraint(
                condition=Q(expected_interval__gte=dt.timedelta(minutes=1)),
                name="metric_interval_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name}: {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("metric-detail", args=[self.pk])

    @property
    def ref(self) -> str:
        """How readings and CSV files name the metric: product-slug/key."""
        return f"{self.product.slug}/{self.key}"

    @property
    def higher_is_better(self) -> bool:
        return self.better == Better.HIGHER


_ReadingT = TypeVar("_ReadingT", bound="Reading")


class ReadingQuerySet(models.QuerySet[_ReadingT]):
    def visible_to(self, user: AnyUser) -> Self:
        """Readings of the metrics `user` sees. When that is every metric (any login today)
        the filter is left out: an `IN (SELECT id FROM metrics_metric)` that keeps every row
        would still make the database read every metric id, on every list request."""
        visible = Metric.objects.visible_to(user)
        if visible.query.is_empty():
            return self.none()
        if not visible.query.where:
            return self
        return self.filter(metric__in=visible.values("pk"))


class Reading(models.Model):
    """One value of a metric at a time, from a source (a monitoring tool, a person, a file).

    (metric, taken_at, source) is unique: re-sending a reading stores nothing new. The unique
    index leads with metric and time, so a chart's range scan reads only its rows.

    The table is partitioned by month of `taken_at` (migration 0003, metrics/partitions.py):
    in the database the primary key is (id, taken_at); ids come from one sequence, so `id`
    alone stays unique and Django keeps it as the pk.
    """

    id = models.BigAutoField(primary_key=True)
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="readings")
    taken_at = models.DateTimeField()
    value = models.FloatField()
    source = models.CharField(max_length=60, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReadingQuerySet.as_manager()

    class Meta:
        ordering = ["metric", "taken_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "taken_at", "source"], name="reading_metric_time_source"
            ),
        ]
        indexes = [
            # Readings arrive in time order, so a BRIN index answers `updated_since` at a
            # fraction of a b-tree's write cost.
            BrinIndex(fields=["updated_at"], name="reading_updated_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id} @ {self.taken_at:%Y-%m-%d %H:%M}: {self.value}"


class Grain(models.TextChoices):
    HOUR = "hour", "Hourly"
    DAY = "day", "Daily"


class ReadingRollup(models.Model):
    """The readings of one metric in one hour or one day, summed up (metrics/rollups.py).

    Long charts read these instead of raw readings; they outlive the raw partitions that
    retention drops. A bucket is exact once rolled: a day with a reading written since is
    listed in `RollupPending` until the roll-up task recomputes it, and charts read that day
    from the raw readings meanwhile.
    """

    metric = models.ForeignKey(
        Metric, on_delete=models.CASCADE, related_name="rollups", db_index=False
    )
    grain = models.CharField(max_length=4, choices=Grain.choices)
    bucket_start = models.DateTimeField()
    count = models.PositiveIntegerField()
    sum = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    last_value = models.FloatField(help_text="The value of the latest reading in the bucket.")
    last_taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "grain", "bucket_start"], name="reading_rollup_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.grain} {self.bucket_start:%Y-%m-%d %H:%M}: {self.count}"


class RollupPending(models.Model):
    """A (metric, UTC day) whose readings changed since its roll-ups were computed.

    Written by a trigger on the readings table (every insert, correction or delete, whatever
    path it takes), read and cleared by the roll-up task. No foreign key: the trigger's insert
    stays cheap, and a row left by a deleted metric rolls up to nothing.
    """

    metric_id = models.BigIntegerField()
    day = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric_id", "day"], name="rollup_pending_day"),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.day:%Y-%m-%d}"
