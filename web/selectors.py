"""Reads of the pages that compose several apps. Each app answers its own part (its
selectors.py); this layer puts them together for one page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.urls import reverse

from backlog.models import BacklogItem
from backlog.selectors import open_item_counts, top_open_items
from funding.selectors import requests_of_units
from metrics.models import BY_SEVERITY, Metric
from metrics.selectors import coverage_gaps, metrics_needing_attention, unit_health_subquery
from portfolio.events import EVENT_TYPES, LEADERS_ONLY_TYPES
from portfolio.models import Event, PortfolioSettings
from portfolio.permissions import AnyUser
from products.models import OwnershipUnit, Person, Stage
from products.selectors import ids_of_products_in_units, owned_units, unit_stage
from reviews.selectors import next_reviews, open_action_items

BACKLOG_TOP = 5
CHANGES_SHOWN = 25
# The changes an owner is shown on My work: their products, backlog items and metrics.
CHANGE_OBJECTS = ("product", "backlog_item", "metric")


@dataclass
class MyUnit:
    unit: OwnershipUnit
    stage: str
    stage_label: str
    health: str | None  # the worst metric status, None without metrics
    health_label: str
    open_items: int
    top_items: list[BacklogItem]
    backlog_url: str


@dataclass
class MyWork:
    person: Person | None
    units: list[MyUnit] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    gaps: list[tuple[Any, Any]] = field(default_factory=list)
    reviews: list[Any] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    changes: list[Event] = field(default_factory=list)
    since: dt.datetime | None = None


def changes_since(unit_ids: list[int], since: dt.datetime) -> list[Event]:
    """Events on these units' products, on their backlog items and on their metrics after
    `since`, newest first (one query: the objects are subqueries)."""
    products = ids_of_products_in_units(unit_ids)
    about = (
        Q(object_type="product", object_id__in=products)
        | Q(
            object_type="backlog_item",
            object_id__in=BacklogItem.objects.filter(unit_id__in=unit_ids).values("pk"),
        )
        | Q(
            object_type="metric",
            object_id__in=Metric.objects.filter(product_id__in=products).values("pk"),
        )
    )
    events = (
        Event.objects.filter(about, at__gt=since)
        .exclude(type__in=LEADERS_ONLY_TYPES)
        .order_by("-at", "-id")
    )
    out = list(events[:CHANGES_SHOWN])
    for event in out:
        body = event.data if isinstance(event.data, dict) else {}
        kind = EVENT_TYPES.get(event.type)
        event.description = kind.description if kind else event.type  # type: ignore[attr-defined]
        event.subject = body.get("name") or body.get("title") or ""  # type: ignore[attr-defined]
    return out


def my_work(user: AnyUser, *, since: dt.datetime | None) -> MyWork:
    """Everything the signed-in person owns and should look at, in a fixed number of queries
    whatever the number of units: units with members, backlog tops, open counts, metrics,
    coverage, reviews, action items, requests and changes each take one."""
    units = list(owned_units(user).annotate(health=unit_health_subquery("pk")))
    person = units[0].owner if units else None
    if person is None and user.is_authenticated:
        person = Person.objects.filter(user=user).first()
    work = MyWork(person=person, since=since)
    ids = [u.pk for u in units]
    tops = top_open_items(ids, n=BACKLOG_TOP)
    counts = open_item_counts(ids)
    stages = dict(Stage.choices)
    for unit in units:
        stage = unit_stage(unit.products.all())
        health = BY_SEVERITY[unit.health] if unit.health is not None else None
        work.units.append(
            MyUnit(
                unit=unit,
                stage=stage,
                stage_label=stages.get(stage, stage),
                health=health.value if health else None,
                health_label=health.label if health else "No metrics",
                open_items=counts.get(unit.pk, 0),
                top_items=tops.get(unit.pk, []),
                backlog_url=reverse("backlog-detail", args=[unit.pk]),
            )
        )
    work.metrics = metrics_needing_attention(ids)
    work.gaps = coverage_gaps(ids, PortfolioSettings.load()) if ids else []
    work.reviews = next_reviews(ids)
    work.actions = open_action_items(person.pk if person else None)
    work.requests = requests_of_units(ids)
    if ids and since is not None:
        work.changes = changes_since(ids, since)
    return work
