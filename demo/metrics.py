"""The demo metrics: which catalogue metrics each product carries, and six months of readings
that tell a story per metric (steady, gone red or amber, recovered, stale, never measured)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass

from django.utils import timezone

from demo.common import BuildState
from metrics.catalogue import BY_KEY
from metrics.models import Better, Metric
from metrics.services import MAX_READINGS, metric_create, metric_update, readings_ingest
from metrics.tasks import readings_maintain_run
from portfolio.models import PortfolioSettings

AV, RT, ER = "availability", "response-time", "error-rate"
TK, MT = "support-tickets", "mttr"
CT, CA, AD, BO = "cycle-time-reduction", "cost-avoidance", "adoption-rate", "business-outcome"

# Which catalogue metrics each product-managed product carries; retired products and project
# items carry none. Most have three to five that span improvement, operations and support;
# the ones marked below fall short (or go over), so the coverage warning has cases to show.
METRIC_SETS: dict[str, tuple[str, ...]] = {
    "hr-self-service-portal": (AV, RT, TK, MT, AD),
    "onboarding-offboarding": (AV, TK, CT, BO),
    "enterprise-intranet": (AV, TK, AD),
    "employee-directory": (AV, TK, AD),
    "learning-management": (AV, MT, AD, BO),
    "enterprise-data-warehouse": (AV, ER, TK, CA, BO),
    "bi-reporting-platform": (AV, RT, TK, AD),
    "data-integration-pipelines": (ER, MT, CA),
    "master-data-hub": (AV, TK, CT),
    "data-science-workbench": (AV, TK, AD),
    "mobile-device-management": (AV, TK, CA),
    "print-scan-service": (AV, TK, CA),
    "geographic-information-system": (AV, RT, ER),  # gap: operations only
    "enterprise-service-bus": (AV, ER, MT, CA),
    "api-gateway": (AV, RT, ER, MT, AD),
    "managed-file-transfer": (AV, ER, TK, CA),
    "event-streaming": (AV, ER, TK, AD),
    "single-sign-on": (AV, RT, TK, AD),
    "directory-service": (AV, ER, MT, CA),
    "privileged-access-management": (AV, TK, AD, BO),
    "access-request-review": (AV, TK, CT),
    "payroll": (AV, MT, CT, BO),
    "erp-general-ledger": (AV, RT, MT, CT),
    "erp-procurement-payables": (AV, TK, CT),
    "expense-claims": (AV, TK, CT, AD),
    "legacy-purchasing-module": (AV, TK, CA),
    "treasury-management": (AV, MT, CA),
    "fixed-asset-register": (AV, MT, CA),
    "budget-planning": (AV, MT, CT),
    "tax-reporting": (AV, MT, CT),
    "email-calendar": (AV, TK, AD),
    "chat-video-meetings": (AV, RT, TK, AD),
    "document-management": (AV, RT, TK, AD),
    "team-wiki": (AV, TK, AD),
    "network-file-shares": (AV, TK, CA),
    "digital-signage": (AV, TK, AD),
    "enterprise-search": (AV, RT, TK, AD),
    "video-portal": (AV, TK, AD),
    "crm": (AV, RT, ER, TK, MT, AD),  # gap: six, more than the five that decide anything
    "customer-self-service-portal": (AV, ER, TK, AD, BO),
    "contact-centre-telephony": (AV, TK, MT, BO),
    "customer-feedback-surveys": (TK, AD, BO),  # gap: nothing on operations
    "service-catalogue": (AV, TK, AD),
    "service-desk-ticketing": (AV, RT, TK, MT, CT),
    "configuration-management-database": (AV, MT, CA),
    "support-knowledge-base": (AV, TK, AD),
    "meeting-room-booking": (AV, TK, AD),
    "visitor-sign-in": (AV, TK, AD),
    "canteen-menu-app": (AD,),  # gap: one metric
    "warehouse-order-interface": (ER, TK),  # gap: two, nothing on improvement (an orphan)
    "legacy-sales-reporting": (AV, TK, CA),
    "contract-management": (AV, TK, CT),
    "field-service-scheduling": (AV, TK, AD),
    "legal-hold-tool": (AV,),  # gap: one metric (its owner left)
    # facilities-helpdesk: none yet (gap: no metrics at all)
}

# "Business outcome" is meant to be renamed after the result the product was bought for.
OUTCOME_NAMES = {
    "onboarding-offboarding": "New starters ready on day one",
    "learning-management": "Mandatory training completed on time",
    "enterprise-data-warehouse": "Morning reports ready by 8 am",
    "privileged-access-management": "Administrator accounts under control",
    "payroll": "Pay runs on time and right first time",
    "customer-self-service-portal": "Customer questions settled online",
    "contact-centre-telephony": "Calls answered within a minute",
    "customer-feedback-surveys": "Customer satisfaction score",
}

# The catalogue's hourly metrics are read daily in the demo: there is no live feed, and a
# daily reading keeps every status as meant for a day after a seed (hourly ones would all be
# stale two hours later). `make demo` seeds again at each start and tops the readings up.
DEMO_INTERVALS = {RT: dt.timedelta(days=1), ER: dt.timedelta(days=1)}
HISTORY_DAYS = 182  # readings reach this far back from the first build


@dataclass(frozen=True)
class Shape:
    """How a template's readings look: a typical value in each band, day-to-day noise, the
    possible range and the precision a source would report."""

    green: float
    amber: float
    red: float
    noise: float
    lowest: float
    highest: float
    decimals: int


SHAPES = {
    AV: Shape(99.86, 99.3, 98.4, 0.05, 90, 100, 2),
    RT: Shape(240, 690, 1450, 30, 40, 10_000, 0),
    ER: Shape(0.22, 1.4, 3.2, 0.07, 0, 100, 2),
    TK: Shape(12, 48, 75, 3, 0, 1_000, 0),
    MT: Shape(5.5, 31, 63, 1.2, 0.5, 1_000, 1),
    CT: Shape(26, 6, -4, 1.5, -50, 100, 1),
    CA: Shape(135, 38, -15, 10, -200, 10_000, 0),
    AD: Shape(85, 52, 33, 1.2, 0, 100, 1),
    BO: Shape(104, 73, 52, 2.5, 0, 200, 0),
}


@dataclass(frozen=True)
class Story:
    """A metric's path, as (days from the first build, band name or value) points, linear in
    between and flat after the last; from the last point on (and in the last two weeks of a
    steady one) every reading stays inside that point's band, so the status is the one meant.
    `stops`: the feed stopped that many days before the first build (stale). `feed`: False
    when no reading ever came (no data)."""

    path: tuple[tuple[int, str | float], ...] = ((-HISTORY_DAYS, "green"),)
    stops: int | None = None
    feed: bool = True


STEADY = Story()
STORIES: dict[tuple[str, str], Story] = {
    # Red: tickets climbing since the desk took over the catalogue orders; a release that
    # broke the portal's checkout; the old file servers failing on their way out.
    ("service-desk-ticketing", TK): Story(
        ((-HISTORY_DAYS, "green"), (-70, "green"), (-35, "amber"), (-14, "red"))
    ),
    ("customer-self-service-portal", ER): Story(
        ((-HISTORY_DAYS, "green"), (-9, "green"), (-8, "red"))
    ),
    ("network-file-shares", AV): Story(((-HISTORY_DAYS, "amber"), (-40, "amber"), (-25, "red"))),
    # Amber: slipping, or improving but not there yet.
    ("crm", RT): Story(((-HISTORY_DAYS, "green"), (-50, "green"), (-20, "amber"))),
    ("single-sign-on", AV): Story(((-HISTORY_DAYS, "green"), (-16, "green"), (-12, "amber"))),
    ("hr-self-service-portal", MT): Story(
        ((-HISTORY_DAYS, "green"), (-60, "green"), (-30, "amber"))
    ),
    ("expense-claims", TK): Story(((-HISTORY_DAYS, "green"), (-75, "green"), (-45, "amber"))),
    ("bi-reporting-platform", AD): Story(((-HISTORY_DAYS, 28.0), (-45, "amber"))),
    ("onboarding-offboarding", CT): Story(((-HISTORY_DAYS, 1.0), (-60, "amber"))),
    # Recovered: an incident two months ago, fixed since; adoption that grew into the green.
    ("api-gateway", RT): Story(
        ((-HISTORY_DAYS, "green"), (-78, "green"), (-74, "red"), (-60, "red"), (-54, "green"))
    ),
    ("customer-self-service-portal", AD): Story(((-HISTORY_DAYS, 38.0), (-30, "green"))),
    ("enterprise-search", AD): Story(((-HISTORY_DAYS, 61.0), (-40, "green"))),
    # Stale: feeds that stopped (the transfer monitor was not moved to the new server; the
    # printing supplier's monthly export ended; nobody sent figures after the owner left).
    ("managed-file-transfer", ER): Story(stops=-24),
    ("print-scan-service", TK): Story(stops=-40),
    ("contract-management", AV): Story(stops=-62),
    # No data: defined at the start of the introduction, nothing measured yet.
    ("event-streaming", AD): Story(feed=False),
}

SOURCES = {"operations": "monitoring", "support": "service-desk", "improvement": "owner"}


def _metric_fields(slug: str, key: str, currency: str) -> dict:
    fields = BY_KEY[key].defaults(currency)
    del fields["template"]
    if key in DEMO_INTERVALS:
        fields["expected_interval"] = DEMO_INTERVALS[key]
    if key == BO and slug in OUTCOME_NAMES:
        fields["name"] = OUTCOME_NAMES[slug]
    return fields


def _band(metric: Metric, band: str, shape: Shape) -> tuple[float, float]:
    """The values (lowest, highest) that give `band`, rounded as readings are."""
    step = 10.0**-shape.decimals
    warning, critical = metric.warning, metric.critical
    if metric.better == Better.HIGHER:
        bands = {
            "green": (warning, shape.highest),
            "amber": (critical, warning - step),
            "red": (shape.lowest, critical - step),
        }
    else:
        bands = {
            "green": (shape.lowest, warning),
            "amber": (warning + step, critical),
            "red": (critical + step, shape.highest),
        }
    return bands[band]


def story_readings(
    slug: str, metric: Metric, story: Story, anchor: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """Every reading of the story from its start up to `now` (deterministic per metric)."""
    if not story.feed:
        return []
    shape = SHAPES[metric.key]
    rng = random.Random(f"demo-metric/{slug}/{metric.key}")
    own_green = shape.green + rng.uniform(-1, 1) * shape.noise * 1.5
    interval = metric.expected_interval
    day = dt.timedelta(days=1)

    def level(point: str | float) -> float:
        if isinstance(point, str):
            return own_green if point == "green" else getattr(shape, point)
        return point

    path = story.path
    last_day, last_point = path[-1]
    settle = max(last_day, -14)
    end = now if story.stops is None else min(now, anchor + story.stops * day)
    out = []
    at = anchor - HISTORY_DAYS * day
    while at <= end:
        t = (at - anchor) / day
        base = level(last_point)
        for (d0, p0), (d1, p1) in itertools.pairwise(path):
            if d0 <= t < d1:
                base = level(p0) + (level(p1) - level(p0)) * (t - d0) / (d1 - d0)
                break
        value = base + rng.gauss(0, shape.noise)
        if rng.random() < 0.03:  # now and then a bad day, a busy week
            value += (shape.amber - shape.green) * rng.uniform(0.4, 1.3)
        value = min(max(value, shape.lowest), shape.highest)
        if t >= settle and isinstance(last_point, str):
            low, high = _band(metric, last_point, shape)
            inset = (high - low) / 10  # keep off the threshold itself
            value = min(max(value, low + inset), high - inset)
        out.append((at, round(value, shape.decimals) + 0.0))
        at += interval
    return out


# --- Building ------------------------------------------------------------------------------


def seed_metrics(state: BuildState) -> None:
    """The metrics of METRIC_SETS and their readings up to now.

    A metric's story is counted from its first build: `created_at` is set HISTORY_DAYS
    before that day, and readings come at its expected interval from there. A later build
    sends only the readings that came due since the latest one, through the same ingest
    path a monitoring system uses (which keeps the metric's latest reading up to date).
    """
    now = timezone.now()
    first_build = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history = dt.timedelta(days=HISTORY_DAYS)
    currency = PortfolioSettings.load().currency
    existing = {
        (m.product_id, m.key): m for m in Metric.objects.filter(product__slug__in=METRIC_SETS)
    }
    rows: list[dict] = []
    for slug, keys in METRIC_SETS.items():
        product = state.products[slug]
        for key in keys:
            fields = _metric_fields(slug, key, currency)
            metric = existing.get((product.pk, key))
            if metric is None:
                metric = metric_create(
                    actor=state.actor,
                    product=product,
                    template=key,
                    name=fields["name"],
                    expected_interval=fields["expected_interval"],
                )
                metric.created_at = first_build - history
                Metric.objects.filter(pk=metric.pk).update(created_at=metric.created_at)
                state.report.count("metric", True)
            else:
                changes = {k: v for k, v in fields.items() if getattr(metric, k) != v}
                if changes:
                    metric = metric_update(actor=state.actor, metric=metric, **changes)
                    state.report.count("metric", False)
            story = STORIES.get((slug, key), STEADY)
            anchor = metric.created_at + history
            source = SOURCES[metric.dimension]
            for at, value in story_readings(slug, metric, story, anchor, now):
                if metric.last_read_at is None or at > metric.last_read_at:
                    rows.append(
                        {
                            "metric": metric.pk,
                            "time": at.isoformat(),
                            "value": value,
                            "source": source,
                        }
                    )
    created = 0
    for start in range(0, len(rows), MAX_READINGS):
        batch = rows[start : start + MAX_READINGS]
        created += readings_ingest(actor=state.actor, rows=batch, default_source="demo").created
    # The story's history is older than the partitions a new database has: its months get
    # theirs now, and the days just written are rolled up, as the beat's task would do.
    readings_maintain_run()
    if created:
        state.report.created["reading"] = state.report.created.get("reading", 0) + created
