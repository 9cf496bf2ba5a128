"""The status rules of a metric, once in Python and once as SQL, kept in step by the tests.

- `no data`: no reading ever came in.
- `stale`: the latest reading is older than `stale_interval_multiple` expected intervals
  (portfolio settings; 2 by default). A stale metric shows no colour: its last value is news
  from too long ago.
- `red`: the latest value is worse than the critical threshold.
- `amber`: it is worse than the warning threshold (or, with none set, misses the target).
- `green`: otherwise. A value exactly at a threshold is still inside the better band.

"Worse" follows the metric's better direction. A roll-up (product, unit) takes the worst
status of its members, in the order green < no data < stale < amber < red.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, overload

from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from metrics.models import BY_SEVERITY, SEVERITY, Better, Status
from portfolio.models import PortfolioSettings


def is_worse(value: float, threshold: float, better: str) -> bool:
    return value < threshold if better == Better.HIGHER else value > threshold


def metric_status(
    *,
    better: str,
    target: float,
    warning: float | None,
    critical: float | None,
    last_value: float | None,
    last_read_at: dt.datetime | None,
    expected_interval: dt.timedelta,
    now: dt.datetime,
    stale_multiple: int,
) -> Status:
    if last_read_at is None or last_value is None:
        return Status.NO_DATA
    if last_read_at < now - expected_interval * stale_multiple:
        return Status.STALE
    if critical is not None and is_worse(last_value, critical, better):
        return Status.RED
    if is_worse(last_value, target if warning is None else warning, better):
        return Status.AMBER
    return Status.GREEN


def status_of(metric: Any, *, now: dt.datetime, stale_multiple: int) -> Status:
    """The status of a Metric instance (or anything with its fields)."""
    return metric_status(
        better=metric.better,
        target=metric.target,
        warning=metric.warning,
        critical=metric.critical,
        last_value=metric.last_value,
        last_read_at=metric.last_read_at,
        expected_interval=metric.expected_interval,
        now=now,
        stale_multiple=stale_multiple,
    )


def worst(statuses) -> Status | None:
    """The roll-up of some statuses; None when there are none."""
    ranks = [SEVERITY[Status(s)] for s in statuses]
    return BY_SEVERITY[max(ranks)] if ranks else None


def settings_multiple() -> Coalesce:
    """The settings' stale multiple, read inside the statement that needs it (no extra query)."""

    value = PortfolioSettings.objects.filter(pk=1).values("stale_interval_multiple")
    default = PortfolioSettings._meta.get_field("stale_interval_multiple").default
    return Coalesce(Subquery(value), Value(default), output_field=IntegerField())


def severity_expression(
    *, now: dt.datetime, stale_multiple: int | None = None, prefix: str = ""
) -> Case:
    """The severity (see models.SEVERITY) of a metric as a SQL expression on its row.

    `prefix` points at the metric from another model, e.g. "metrics__" from a product.
    Without `stale_multiple` the portfolio settings' value is read in the same statement.
    """

    def f(name: str) -> F:
        return F(prefix + name)

    multiple = settings_multiple() if stale_multiple is None else Value(stale_multiple)
    stale_before = ExpressionWrapper(
        Value(now, output_field=DateTimeField())
        - ExpressionWrapper(f("expected_interval") * multiple, output_field=DurationField()),
        output_field=DateTimeField(),
    )
    amber_line = Coalesce(f("warning"), f("target"))
    higher = Q(**{prefix + "better": Better.HIGHER})
    lower = Q(**{prefix + "better": Better.LOWER})
    value = prefix + "last_value"
    return Case(
        When(Q(**{prefix + "last_read_at__isnull": True}), then=Value(SEVERITY[Status.NO_DATA])),
        When(Q(**{prefix + "last_read_at__lt": stale_before}), then=Value(SEVERITY[Status.STALE])),
        When(
            (higher & Q(**{value + "__lt": f("critical")}))
            | (lower & Q(**{value + "__gt": f("critical")})),
            then=Value(SEVERITY[Status.RED]),
        ),
        When(
            (higher & Q(**{value + "__lt": amber_line}))
            | (lower & Q(**{value + "__gt": amber_line})),
            then=Value(SEVERITY[Status.AMBER]),
        ),
        default=Value(SEVERITY[Status.GREEN]),
        output_field=IntegerField(),
    )


@overload
def status_from_severity(rank: int) -> Status: ...
@overload
def status_from_severity(rank: None) -> None: ...
@overload
def status_from_severity(rank: int | None) -> Status | None: ...
def status_from_severity(rank: int | None) -> Status | None:
    return None if rank is None else BY_SEVERITY[rank]
