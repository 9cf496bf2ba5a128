"""What every step of the demo build shares: its state and its report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from products.models import Cluster, Person, Product, Team


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


@dataclass
class BuildReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1


@dataclass
class BuildState:
    """One build's shared state: the steps act as `actor` (the demo leader), count what they
    write in `report`, and leave what they made (by username or slug) for the later steps."""

    log: Callable[[str], None]
    pdfs: bool = True
    today: dt.date = field(default_factory=timezone.localdate)
    report: BuildReport = field(default_factory=BuildReport)
    users: dict[str, object] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    actor: object = None
    funding_changed: bool = False  # a build that writes funding recomputes the analytics
