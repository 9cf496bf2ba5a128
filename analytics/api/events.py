"""The API bodies of split signals and analytics runs for their events (portfolio/events.py),
registered in AnalyticsConfig.ready(): the bodies their endpoints answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics.api.serializers import ANALYTICS_RUN, SPLIT_SIGNAL
from analytics.models import Snapshot, SplitSignal
from portfolio import events


def split_signals(ids: Sequence[int]) -> dict[int, Any]:
    rows = SplitSignal.objects.filter(pk__in=ids).values(*SPLIT_SIGNAL.columns)
    return {row["id"]: SPLIT_SIGNAL.one(row) for row in rows}


def runs(ids: Sequence[int]) -> dict[int, Any]:
    rows = Snapshot.objects.filter(pk__in=ids).values(*ANALYTICS_RUN.columns)
    return {row["id"]: ANALYTICS_RUN.one(row) for row in rows}


def register() -> None:
    events.register_representation("split_signal", split_signals)
    events.register_representation("analytics_run", runs)
