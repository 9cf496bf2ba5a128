"""Reads on metrics: statuses and roll-ups computed in SQL, coverage, and chart series
downsampled in the database (one row per time bucket, never one per reading)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import IntegerField, Max, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Col
from django.utils import timezone

from metrics.models import (
    BY_SEVERITY,
    SEVERITY,
    Grain,
    Metric,
    Reading,
    ReadingRollup,
    RollupPending,
    Status,
)
from metrics.status import severity_expression
from portfolio.models import PortfolioSettings
from portfolio.permissions import AnyUser
from portfolio.statements import columns
from products.models import Dimension, ManagementModel, Product

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

RANGES: dict[str, tuple[str, dt.timedelta]] = {
    "30d": ("30 days", dt.timedelta(days=30)),
    "quarter": ("Quarter", dt.timedelta(days=91)),
    "year": ("Year", dt.timedelta(days=365)),
}
DEFAULT_RANGE = "quarter"
CHART_POINTS = 240
NICE_STEPS = [
    dt.timedelta(minutes=m)
    for m in (1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200)
]


class _Severity(TypedDict):
    severity: int


def with_status(
    queryset: QuerySet[Metric], *, now: dt.datetime | None = None
) -> QuerySet[WithAnnotations[Metric, _Severity]]:
    """Metrics annotated with `severity` (see models.SEVERITY), computed in the query."""
    return queryset.annotate(severity=severity_expression(now=now or timezone.now()))


def health_subquery(
    outer: str = "pk", *, now: dt.datetime | None = None, multiple: int | None = None
) -> Subquery:
    """The worst severity of a product's metrics, for annotating product querysets.

    One correlated subquery inside the list's own statement: badges cost no extra query.
    NULL when the product has no metric.
    """
    worst = (
        Metric.objects.filter(product_id=OuterRef(outer))
        .annotate(severity=severity_expression(now=now or timezone.now(), stale_multiple=multiple))
        .values("product_id")
        .annotate(worst=Max("severity"))
        .values("worst")
    )
    return Subquery(worst, output_field=IntegerField())


def unit_health_subquery(outer: str = "pk", *, now: dt.datetime | None = None) -> Subquery:
    """The worst severity of the metrics of a unit's products, for annotating unit querysets
    (a page header's badge inside the page's own unit query). NULL without any metric."""
    worst = (
        Metric.objects.filter(product__unit_id=OuterRef(outer))
        .annotate(severity=severity_expression(now=now or timezone.now()))
        .order_by()
        .values("product__unit_id")
        .annotate(worst=Max("severity"))
        .values("worst")
    )
    return Subquery(worst, output_field=IntegerField())


# --- Coverage ----------------------------------------------------------------------------------


@dataclass
class Coverage:
    """Whether a product's metrics number between the minimum and maximum and cover every
    dimension (improvement, operations, support), and what is missing."""

    count: int
    minimum: int
    maximum: int
    dimensions: set[str]
    missing: list[str] = field(default_factory=list)

    @property
    def count_ok(self) -> bool:
        return self.minimum <= self.count <= self.maximum

    @property
    def ok(self) -> bool:
        return self.count_ok and not self.missing

    @property
    def problems(self) -> list[str]:
        problems = []
        if self.count < self.minimum:
            need = self.minimum - self.count
            problems.append(
                f"Add {need} more metric{'s' if need > 1 else ''}: "
                f"{self.count} of at least {self.minimum}."
            )
        elif self.count > self.maximum:
            problems.append(
                f"{self.count} metrics is more than {self.maximum}; keep the few that "
                f"decide something."
            )
        for dimension in self.missing:
            problems.append(f"No metric covers {dimension.lower()}.")
        return problems


def coverage_from(dimensions: list[str], settings: PortfolioSettings) -> Coverage:
    present = set(dimensions)
    missing = [label for value, label in Dimension.choices if value not in present]
    return Coverage(len(dimensions), settings.metrics_min, settings.metrics_max, present, missing)


def coverage(product: Product) -> Coverage:
    dims = list(Metric.objects.filter(product=product).values_list("dimension", flat=True))
    return coverage_from(dims, PortfolioSettings.load())


# --- Series for charts -------------------------------------------------------------------------


class Bucket(NamedTuple):
    """One time bucket of a series. A named tuple, not a frozen dataclass: a year's chart
    makes a few hundred per request, and a frozen dataclass's __init__ is several times
    slower to call."""

    start: dt.datetime
    avg: float
    low: float
    high: float
    count: int  # type: ignore[assignment]  # hides tuple.count(), which nothing calls


def bucket_width(span: dt.timedelta, points: int = CHART_POINTS) -> dt.timedelta:
    """The smallest 'nice' width that cuts `span` into at most `points` buckets."""
    for step in NICE_STEPS:
        if span / step <= points:
            return step
    return NICE_STEPS[-1]


SERIES_SQL = f"""
    SELECT date_bin(%s, taken_at, %s) AS bucket, avg(value), min(value), max(value), count(*)
      FROM {Reading._meta.db_table}
     WHERE metric_id = %s AND taken_at >= %s AND taken_at < %s
     GROUP BY bucket
     ORDER BY bucket
"""


# A chart whose buckets are an hour wide or more reads roll-ups instead of readings: a year
# of a 5-minute metric is 365 daily rows, not 105,120 readings. Days with a pending roll-up
# (written since the last roll-up run) come from the raw readings, so nothing is stale; so
# does the head of the range before its first whole hour or day (the first bucket starts at
# `from`, and the next ones at whole roll-up buckets).
ROLLUP_SERIES_SQL = f"""
    WITH pending AS (
        SELECT day FROM {RollupPending._meta.db_table}
         WHERE metric_id = %(metric)s AND day >= %(first_day)s AND day < %(end)s
    ), parts AS (
        SELECT x.bucket_start AS at, x.count, x.sum, x.min, x.max
          FROM {ReadingRollup._meta.db_table} x
         WHERE x.metric_id = %(metric)s AND x.grain = %(grain)s
           AND x.bucket_start >= %(start)s AND x.bucket_start < %(end)s
           AND date_trunc('day', x.bucket_start, 'UTC') NOT IN (SELECT day FROM pending)
        UNION ALL
        SELECT r.taken_at, 1, r.value, r.value, r.value
          FROM pending p
          JOIN {Reading._meta.db_table} r
            ON r.metric_id = %(metric)s
           AND r.taken_at >= p.day AND r.taken_at < p.day + interval '24 hours'
         WHERE r.taken_at >= %(start)s AND r.taken_at < %(end)s
        UNION ALL
        SELECT r.taken_at, 1, r.value, r.value, r.value
          FROM {Reading._meta.db_table} r
         WHERE r.metric_id = %(metric)s AND r.taken_at >= %(from)s AND r.taken_at < %(start)s
    )
    SELECT GREATEST(date_bin(%(width)s, at, %(start)s), %(from)s) AS bucket,
           sum(sum) / sum(count), min(min), max(max), sum(count)
      FROM parts
     GROUP BY bucket
     ORDER BY bucket
"""
GRAIN_WIDTH = {Grain.HOUR: dt.timedelta(hours=1), Grain.DAY: dt.timedelta(days=1)}

# The same for several metrics at once (review packets' trends, sparklines).
ROLLUP_SERIES_MANY_SQL = f"""
    WITH pending AS (
        SELECT metric_id, day FROM {RollupPending._meta.db_table}
         WHERE metric_id = ANY(%(metrics)s) AND day >= %(first_day)s AND day < %(end)s
    ), parts AS (
        SELECT x.metric_id, x.bucket_start AS at, x.count, x.sum, x.min, x.max
          FROM {ReadingRollup._meta.db_table} x
         WHERE x.metric_id = ANY(%(metrics)s) AND x.grain = %(grain)s
           AND x.bucket_start >= %(start)s AND x.bucket_start < %(end)s
           AND NOT EXISTS (SELECT FROM pending p WHERE p.metric_id = x.metric_id
                              AND p.day = date_trunc('day', x.bucket_start, 'UTC'))
        UNION ALL
        SELECT r.metric_id, r.taken_at, 1, r.value, r.value, r.value
          FROM pending p
          JOIN {Reading._meta.db_table} r
            ON r.metric_id = p.metric_id
           AND r.taken_at >= p.day AND r.taken_at < p.day + interval '24 hours'
         WHERE r.taken_at >= %(start)s AND r.taken_at < %(end)s
        UNION ALL
        SELECT r.metric_id, r.taken_at, 1, r.value, r.value, r.value
          FROM {Reading._meta.db_table} r
         WHERE r.metric_id = ANY(%(metrics)s) AND r.taken_at >= %(from)s
           AND r.taken_at < %(start)s
    )
    SELECT metric_id, GREATEST(date_bin(%(width)s, at, %(start)s), %(from)s) AS bucket,
           sum(sum) / sum(count), min(min), max(max), sum(count)
      FROM parts
     GROUP BY metric_id, bucket
     ORDER BY metric_id, bucket
"""


def series_grain(width: dt.timedelta) -> Grain | None:
    """The roll-up a chart of this bucket width reads: daily from a day, hourly from an
    hour, raw readings below (every 'nice' width from an hour up is a whole number of
    hours, from a day up of days)."""
    if width >= GRAIN_WIDTH[Grain.DAY]:
        return Grain.DAY
    if width >= GRAIN_WIDTH[Grain.HOUR]:
        return Grain.HOUR
    return None


def _ceil(moment: dt.datetime, grain: Grain) -> dt.datetime:
    """`moment` rounded up to the next UTC hour or day (itself if it is one)."""
    utc = moment.astimezone(dt.UTC)
    floor = utc.replace(minute=0, second=0, microsecond=0)
    if grain == Grain.DAY:
        floor = floor.replace(hour=0)
    return floor if floor == utc else floor + GRAIN_WIDTH[grain]


def series_query(
    metric_id: int, start: dt.datetime, end: dt.datetime, *, points: int = CHART_POINTS
) -> tuple[dt.timedelta, str, list[Any] | dict[str, Any]]:
    """The bucket width, and the one statement (with its parameters) that `series` runs."""
    width = bucket_width(end - start, points)
    grain = series_grain(width)
    if grain is None:
        return width, SERIES_SQL, [width, start, metric_id, start, end]
    return (
        width,
        ROLLUP_SERIES_SQL,
        {"metric": metric_id, **_rollup_params(grain, start, end, width)},
    )


def _rollup_params(
    grain: Grain, start: dt.datetime, end: dt.datetime, width: dt.timedelta
) -> dict[str, Any]:
    # Buckets line up with whole roll-up buckets from the first whole one.
    first = _ceil(start, grain)
    return {
        "from": start,
        "grain": grain.value,
        "start": first,
        "first_day": first.replace(hour=0),  # the UTC day the first bucket is in
        "end": end,
        "width": width,
    }


def _rollup_grain(width: dt.timedelta) -> Grain | None:
    """The roll-up buckets of this width are made of, if it is a whole number of them."""
    grain = series_grain(width)
    if grain is None or width % GRAIN_WIDTH[grain]:
        return None
    return grain


def series(
    metric_id: int, start: dt.datetime, end: dt.datetime, *, points: int = CHART_POINTS
) -> tuple[dt.timedelta, list[Bucket]]:
    """A metric's readings in [start, end), averaged per time bucket by the database: from
    the raw readings for short ranges, from hourly or daily roll-ups for long ones (one
    query either way)."""
    width, sql, params = series_query(metric_id, start, end, points=points)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return width, list(map(Bucket._make, cursor.fetchall()))


SERIES_MANY_SQL = f"""
    SELECT metric_id, date_bin(%s, taken_at, %s) AS bucket, avg(value), min(value), max(value),
           count(*)
      FROM {Reading._meta.db_table}
     WHERE metric_id = ANY(%s) AND taken_at >= %s AND taken_at < %s
     GROUP BY metric_id, bucket
     ORDER BY metric_id, bucket
"""


def series_many(
    metric_ids: Iterable[int], start: dt.datetime, end: dt.datetime, width: dt.timedelta
) -> dict[int, list[Bucket]]:
    """The bucketed series of several metrics over one window, in one query: from roll-ups
    when the width is a whole number of hours or days, as `series` does."""
    ids = list(metric_ids)
    if not ids:
        return {}
    out: dict[int, list[Bucket]] = defaultdict(list)
    grain = _rollup_grain(width)
    with connection.cursor() as cursor:
        if grain is None:
            cursor.execute(SERIES_MANY_SQL, [width, start, ids, start, end])  # type: ignore[list-item]
        else:
            cursor.execute(
                ROLLUP_SERIES_MANY_SQL, {"metrics": ids, **_rollup_params(grain, start, end, width)}
            )
        for metric_id, *bucket in cursor.fetchall():
            out[metric_id].append(Bucket(*bucket))
    return dict(out)


def window(range_key: str, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    now = now or timezone.now()
    return now - RANGES[range_key][1], now


# The chart's metric: what `Metric.objects.only(*CHART_FIELDS).get(pk=...)` reads, in one
# statement written once per process (building it through the ORM cost three times the read).
CHART_FIELDS = ("name", "unit", "target", "warning", "critical")
_METRIC_TABLE, _CHART_ATTNAMES, _CHART_COLUMNS = columns(Metric, CHART_FIELDS)
CHART_METRIC_SQL = (
    f"SELECT {', '.join(_CHART_COLUMNS)} FROM {_METRIC_TABLE}"
    f" WHERE {_METRIC_TABLE}.{connection.ops.quote_name(Metric._meta.pk.column)} = %s"
)


def _converters(model: type[Model], attnames: list[str]) -> list[tuple[int, Col, list[Any]]]:
    """The database converters the ORM applies to these columns, by position: none for the
    chart's fields on PostgreSQL today, applied all the same should a field ever need one."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    out = []
    for i, attname in enumerate(attnames):
        col = fields[attname].get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            out.append((i, col, found))
    return out


_CHART_CONVERTERS = _converters(Metric, _CHART_ATTNAMES)


def chart_metric(user: AnyUser, pk: int) -> Metric | None:
    """The metric a chart draws (`CHART_FIELDS` loaded, the rest deferred), or None when there
    is no such metric or `user` may not see it. Visibility stays `Metric.objects.visible_to`:
    while it is every metric (any login today) the statement written once reads the row; a
    narrower rule is read through the ORM."""
    visible = Metric.objects.visible_to(user)
    if visible.query.is_empty():
        return None
    if visible.query.where:
        try:
            return visible.only(*CHART_FIELDS).get(pk=pk)
        except Metric.DoesNotExist:
            return None
    with connection.cursor() as cursor:
        cursor.execute(CHART_METRIC_SQL, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    if _CHART_CONVERTERS:
        values = list(row)
        for i, col, converters in _CHART_CONVERTERS:
            for convert in converters:
                values[i] = convert(values[i], col, connection)
        row = tuple(values)
    return Metric.from_db(connection.alias, _CHART_ATTNAMES, row)


SPARK_SQL = f"""
    SELECT metric_id, date_bin(%s, taken_at, %s) AS bucket, avg(value)
      FROM {Reading._meta.db_table}
     WHERE metric_id = ANY(%s) AND taken_at >= %s AND taken_at < %s
     GROUP BY metric_id, bucket
     ORDER BY metric_id, bucket
"""


def sparklines(
    metric_ids: Iterable[int], *, days: int = 30, now: dt.datetime | None = None, points: int = 30
) -> dict[int, list[tuple[dt.datetime, float]]]:
    """Small series for many metrics at once (one query): bucketed averages over `days`,
    from the daily roll-ups when the buckets are whole days (the default)."""
    ids = list(metric_ids)
    if not ids:
        return {}
    end = now or timezone.now()
    start = end - dt.timedelta(days=days)
    width = bucket_width(end - start, points)
    grain = _rollup_grain(width)
    if grain is not None:
        return {
            metric_id: [(b.start, b.avg) for b in buckets]
            for metric_id, buckets in series_many(ids, start, end, width).items()
        }
    out: dict[int, list[tuple[dt.datetime, float]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(SPARK_SQL, [width, start, ids, start, end])  # type: ignore[list-item]
        for metric_id, bucket, avg in cursor.fetchall():
            out[metric_id].append((bucket, avg))
    return dict(out)


# --- An owner's attention list -----------------------------------------------------------------

ATTENTION = (Status.RED, Status.AMBER, Status.STALE, Status.NO_DATA)


def metrics_needing_attention(unit_ids: Iterable[int], *, n: int = 20) -> list[Metric]:
    """Metrics of these units' products that are red, amber, stale or without data, worst
    first, each with `severity` and `status` (one query)."""
    ids = list(unit_ids)
    if not ids:
        return []
    wanted = [SEVERITY[s] for s in ATTENTION]
    metrics = (
        with_status(Metric.objects.filter(product__unit_id__in=ids).select_related("product"))
        .filter(Q(severity__in=wanted))
        .order_by("-severity", "product__name", "name", "id")
    )
    out: list[Metric] = list(metrics[:n])
    for metric in out:
        metric.status = BY_SEVERITY[metric.severity]  # type: ignore[attr-defined]
    return out


def coverage_gaps(
    unit_ids: Iterable[int], settings: PortfolioSettings
) -> list[tuple[Product, Coverage]]:
    """These units' products (managed as products) whose metrics miss a dimension or number
    outside the settings' range, with what is missing (one query)."""
    ids = list(unit_ids)
    if not ids:
        return []
    products = (
        Product.objects.filter(unit_id__in=ids, management_model=ManagementModel.PRODUCT)
        .annotate(dimensions=ArrayAgg("metrics__dimension", default=Value([])))
        .order_by("name", "id")
    )
    gaps: list[tuple[Product, Coverage]] = []
    for product in products:
        dims = [d for d in product.dimensions if d]
        found = coverage_from(dims, settings)
        if not found.ok:
            gaps.append((product, found))
    return gaps
