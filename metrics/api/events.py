"""The API body of a metric for its events (portfolio/events.py), registered in
MetricsConfig.ready(): the body GET /api/v1/metrics/<id>/ answers, its status included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metrics.api.serializers import METRIC, metric_rows
from metrics.models import Metric
from portfolio import events


def metrics(ids: Sequence[int]) -> dict[int, Any]:
    return {row["id"]: METRIC.one(row) for row in metric_rows(Metric.objects.filter(pk__in=ids))}


def register() -> None:
    events.register_representation("metric", metrics)
