"""Reads for the portfolio dashboard, the split signal pages and an owner's load.

Every panel reads the latest finished snapshot, so the dashboard costs the same handful of
queries whatever the size of the portfolio: unit figures come from one grouped query over the
snapshot's unit rows, lists are sliced in SQL, and evidence is put into words in Python from
the JSON the run stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from analytics.charts import count_line
from analytics.models import (
    OVER_STATUSES,
    Candidate,
    LoadStatus,
    OwnerLoad,
    SignalKind,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    SplitSignal,
    SplitSignalQuerySet,
    UnitState,
)
from metrics.models import BY_SEVERITY, SEVERITY, Metric, Status
from metrics.selectors import with_status
from portfolio.models import PortfolioSettings
from portfolio.text import counted
from products.filters import ProductFilterSet
from products.models import WITHOUT_ACCOUNTABLE_OWNER, Cluster, Person, Product, Stage

ORPHANS_SHOWN = 10
OWNERS_SHOWN = 15
SIGNALS_SHOWN = 10
TREND_SNAPSHOTS = 12
OWNER_HISTORY = 8
REVIEWS_DUE_DAYS = 14
DASHBOARD_STAGES = [Stage.INTRODUCTION, Stage.GROWTH, Stage.MATURITY, Stage.RETIREMENT]
# The columns the orphan and signal lines read (the rest of product, unit and owner unread).
ORPHAN_COLUMNS = (
    "name",
    "stage",
    "members",
    "owner__name",
    "unit__kind",
    "unit__cluster__slug",
    "unit__product__slug",
)
SIGNAL_COLUMNS = (
    "kind",
    "status",
    "evidence",
    "opened_at",
    "cluster__name",
    "cluster__slug",
    "product__name",
    "product__slug",
)


@dataclass(frozen=True)
class Scope:
    """The dashboard's filters: which units (and, through them, owners and signals) count."""

    cluster: Cluster | None = None
    stage: str = ""
    owner: Person | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.cluster or self.stage or self.owner)

    def units(self, snapshot: Snapshot) -> QuerySet[UnitState]:
        units = UnitState.objects.filter(snapshot=snapshot)
        if self.cluster is not None:
            units = units.filter(cluster_id=self.cluster.pk)
        if self.stage:
            units = units.filter(stage=self.stage)
        if self.owner is not None:
            units = units.filter(owner_id=self.owner.pk)
        return units

    def unit_params(self) -> dict[str, str]:
        """The scope as the owner load and split signal lists read it (analytics/filters.py)."""
        params = {}
        if self.cluster is not None:
            params["cluster"] = self.cluster.slug
        if self.owner is not None:
            params["owner"] = str(self.owner.pk)
        if self.stage:
            params["stage"] = self.stage
        return params

    def product_params(self, **extra: str) -> dict[str, str]:
        """The product list's own filter names for this scope (products/filters.py)."""
        params = {}
        if self.cluster is not None:
            params["cluster"] = self.cluster.slug
        if self.owner is not None:
            params["owner"] = str(self.owner.pk)
        if self.stage:
            params["stage"] = self.stage
        params.update(extra)
        return params


def products_url(scope: Scope, **extra: str) -> str:
    return f"{reverse('product-list')}?{urlencode(scope.product_params(**extra))}"


def products_matching(params: dict[str, str]) -> QuerySet[Product]:
    """The products the product list shows for `params`: the same filterset, so a count
    taken here is the count its page shows."""
    return ProductFilterSet(params, queryset=Product.objects.all()).qs


@dataclass
class Bar:
    key: str
    label: str
    count: int
    url: str = ""
    pct: float = 0.0  # width against the panel's largest bar, or share of a stacked bar
    offset: float = 0.0  # where a stacked bar's segment starts, in % (the shares before it)


def scale(bars: list[Bar], *, stacked: bool = False) -> list[Bar]:
    """Widths in %: against the largest bar, or (stacked) as shares of the total."""
    top = sum(b.count for b in bars) if stacked else max((b.count for b in bars), default=0)
    start = 0.0
    for bar in bars:
        bar.pct = round(100 * bar.count / top, 1) if top else 0.0
        if stacked:
            bar.offset = round(start, 1)
            start += bar.pct
    return bars


# --- evidence in words -------------------------------------------------------------------------


def _names(names: list[str] | None) -> str:
    names = list(names or [])
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def evidence_lines(kind: str, evidence: dict[str, Any]) -> list[str]:
    """The evidence a run stored for a signal, as the sentences a leader reads."""
    e = evidence or {}
    member = e.get("member", "This member")
    if kind == SignalKind.CROWDING:
        lines = [
            f"{member} holds {e.get('estimate_share_pct', 0)}% of the cluster's open estimate "
            f"and {e.get('top_share_pct', 0)}% of its top {e.get('top_items', '?')} items "
            f"(the line is {e.get('threshold_pct', '?')}%)."
        ]
        idle = e.get("idle_members") or []
        if idle:
            verb = "has" if len(idle) == 1 else "have"
            lines.append(
                f"{_names(idle)} {verb} finished nothing in {e.get('idle_days', '?')} days."
            )
        if "weeks_seen" in e:
            lines.append(
                f"Seen in {e['weeks_seen']} of the last {e.get('weeks_window', '?')} weekly "
                f"snapshots ({e.get('weeks_required', '?')} needed)."
            )
        return lines
    if kind == SignalKind.DOMINANCE:
        return [
            f"{member} took {e.get('share_pct', 0)}% of the cluster's operations and support "
            f"effort in the last {e.get('window_days', '?')} days; the line is "
            f"{e.get('threshold_pct', '?')}% (a fair share is {e.get('fair_share_pct', '?')}%).",
            f"{_num(e.get('effort_days'))} of {_num(e.get('total_days'))} effort days, "
            f"over {counted(int(e.get('items') or 0), 'finished item')}.",
        ]
    reasons = e.get("reasons") or ["flagged strategic"]
    return [f"{member} is {_names(reasons)}: it may deserve an owner of its own."]


def _num(value) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "?"
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def evidence_summary(kind: str, evidence: dict[str, Any]) -> str:
    return " ".join(evidence_lines(kind, evidence))


# --- the dashboard ------------------------------------------------------------------------------


@dataclass
class Dashboard:
    snapshot: Snapshot | None
    running: Snapshot | None = None
    stages: list[Bar] = field(default_factory=list)
    units_total: int = 0
    units_active: int = 0
    products_total: int = 0
    accountable: int = 0
    orphan_products: int = 0
    orphans: list[UnitState] = field(default_factory=list)
    orphans_url: str = ""
    load: list[Bar] = field(default_factory=list)
    owners_total: int = 0
    owners_over: list[OwnerLoad] = field(default_factory=list)
    owners_over_total: int = 0
    owners_over_url: str = ""
    signals: list[SplitSignal] = field(default_factory=list)
    signals_total: int = 0
    signals_url: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    candidates_shown: int = 5
    metric_health: list[Bar] = field(default_factory=list)
    metrics_total: int = 0
    unit_health: list[Bar] = field(default_factory=list)
    trend: list[tuple[Snapshot, int]] = field(default_factory=list)
    # Filled by the page from reviews.selectors.reviews_due (reviews sit above analytics).
    reviews_due: list[Any] = field(default_factory=list)
    reviews_due_days: int = REVIEWS_DUE_DAYS

    @property
    def reviews_overdue(self) -> int:
        return sum(r.overdue for r in self.reviews_due)

    @property
    def reviews_soon(self) -> int:
        return sum(r.soon for r in self.reviews_due)

    @property
    def coverage_pct(self) -> int:
        return round(100 * self.accountable / self.units_total) if self.units_total else 0

    @property
    def orphan_count(self) -> int:
        return self.units_total - self.accountable

    @property
    def trend_svg(self) -> str:
        points = [
            (timezone.localtime(s.started_at).strftime("%H:%M %d %b"), n) for s, n in self.trend
        ]
        return mark_safe(  # noqa: S308 - charts.count_line escapes every text it writes
            count_line(points, title="Owners over the ceiling, by snapshot")
        )


def running_snapshot() -> Snapshot | None:
    return Snapshot.objects.filter(status=SnapshotStatus.RUNNING).order_by("-started_at").first()


def dashboard(scope: Scope, *, settings: PortfolioSettings) -> Dashboard:
    """Every panel of the dashboard for `scope`, from the latest finished snapshot.

    The trend's statement reads the last finished snapshots newest first, so its first row is
    the latest snapshot: one statement for both."""
    trend = over_ceiling_trend()
    snapshot = trend[-1][0] if trend else None
    board = Dashboard(snapshot=snapshot, running=running_snapshot(), trend=trend)
    board.candidates_shown = settings.candidates_shown
    if snapshot is None:
        return board
    units = scope.units(snapshot)
    _unit_panels(board, scope, units)
    _load_panel(board, scope, snapshot, units)
    _signal_panel(board, scope)
    _candidate_panel(board, scope, snapshot, settings.candidates_shown)
    _metric_panel(board, snapshot)
    return board


def _unit_panels(board: Dashboard, scope: Scope, units: QuerySet[UnitState]) -> None:
    # One grouped query gives stages, coverage and the units' worst metric health.
    rows = units.values("stage", "accountable", "active", "health").annotate(n=Count("id"))
    by_stage: dict[str, int] = {}
    by_health: dict[int | None, int] = {}
    for row in rows.order_by():
        n = row["n"]
        board.units_total += n
        board.accountable += n if row["accountable"] else 0
        board.units_active += n if row["active"] else 0
        by_stage[row["stage"]] = by_stage.get(row["stage"], 0) + n
        by_health[row["health"]] = by_health.get(row["health"], 0) + n
    by_product_stage, board.orphan_products = _product_counts(scope)
    board.stages = scale(
        [
            Bar(
                s.value,
                s.label,
                by_product_stage.get(s.value, 0),
                products_url(scope, stage=s.value),
            )
            if not scope.stage or scope.stage == s.value
            else Bar(s.value, s.label, 0)
            for s in DASHBOARD_STAGES
        ]
    )
    board.products_total = sum(b.count for b in board.stages)
    board.unit_health = scale(
        [
            Bar(BY_SEVERITY[rank].value, BY_SEVERITY[rank].label, by_health.get(rank, 0))
            for rank in sorted(BY_SEVERITY, reverse=True)
        ]
        + [Bar("none", "No metrics", by_health.get(None, 0))],
        stacked=True,
    )
    board.orphans = list(
        units.filter(accountable=False)
        .select_related("owner", "unit__cluster", "unit__product")
        # What a line shows and links: not every column of product, unit and owner.
        .only(*ORPHAN_COLUMNS)
        .order_by("name", "id")[:ORPHANS_SHOWN]
    )
    board.orphans_url = products_url(scope, owner="none")


def _product_counts(scope: Scope) -> tuple[dict[str, int], int]:
    """The live product counts the stage bars and the orphans link show, in one statement.

    Each is what its link's product list counts: the stage bars list `scope` without its stage
    (only that stage's bar counts under a stage filter), the orphans link lists `scope` with
    `owner=none` in place of its owner. Both share the cluster filter, so the statement takes
    that from the product filterset and counts each figure with its own FILTER clause."""
    products = products_matching({"cluster": scope.cluster.slug} if scope.cluster else {})
    mine = Q(unit__owner_id=scope.owner.pk) if scope.owner is not None else Q()
    orphans = WITHOUT_ACCOUNTABLE_OWNER
    if scope.stage:
        orphans &= Q(lifecycle_stage=scope.stage)
    counts = products.order_by().aggregate(
        orphans=Count("id", filter=orphans),
        **{
            s.value: Count("id", filter=mine & Q(lifecycle_stage=s.value)) for s in DASHBOARD_STAGES
        },
    )
    orphan_products = counts.pop("orphans")
    return counts, orphan_products


def _owner_rows(scope: Scope, snapshot: Snapshot, units: QuerySet[UnitState]):
    owners = OwnerLoad.objects.filter(snapshot=snapshot)
    if scope.owner is not None:
        owners = owners.filter(person_id=scope.owner.pk)
    elif scope.narrowed:
        owners = owners.filter(person_id__in=units.values("owner_id"))
    return owners


def _load_panel(
    board: Dashboard, scope: Scope, snapshot: Snapshot, units: QuerySet[UnitState]
) -> None:
    owners = _owner_rows(scope, snapshot, units)
    counts = dict(owners.values_list("status").annotate(n=Count("id")).order_by())
    list_url = reverse("owner-load-list")
    # The list reads the owner filter as the person, else owners with a unit in the scope.
    narrowed = {"person": str(scope.owner.pk)} if scope.owner is not None else scope.unit_params()
    board.load = scale(
        [
            Bar(
                s.value,
                s.label,
                counts.get(s.value, 0),
                f"{list_url}?{urlencode({'status': s.value, **narrowed})}",
            )
            for s in LoadStatus
        ]
    )
    over = [("status", s.value) for s in OVER_STATUSES]
    board.owners_over_url = f"{list_url}?{urlencode(over + list(narrowed.items()))}"
    board.owners_total = sum(counts.values())
    board.owners_over_total = sum(counts.get(s.value, 0) for s in OVER_STATUSES)
    board.owners_over = list(
        owners.filter(status__in=OVER_STATUSES)
        .select_related("person")
        .order_by("-design_problem", "-consecutive_over", "person__name")[:OWNERS_SHOWN]
    )


def signal_queryset(scope: Scope | None = None) -> SplitSignalQuerySet[SplitSignal]:
    signals = SplitSignal.objects.select_related("cluster", "product")
    if scope is None:
        return signals
    if scope.cluster is not None:
        signals = signals.filter(cluster_id=scope.cluster.pk)
    if scope.owner is not None:
        signals = signals.filter(cluster__unit__owner_id=scope.owner.pk)
    if scope.stage:
        signals = signals.filter(product__lifecycle_stage=scope.stage)
    return signals


def with_summaries(signals) -> list[SplitSignal]:
    signals = list(signals)
    for signal in signals:
        signal.summary = evidence_summary(signal.kind, signal.evidence)
    return signals


def _signal_panel(board: Dashboard, scope: Scope) -> None:
    # The first few and, in the same statement, how many there are (a window count, taken
    # before the LIMIT); no row means none.
    signals = (
        signal_queryset(scope)
        .filter(status=SignalStatus.OPEN)
        .only(*SIGNAL_COLUMNS)
        .annotate(total=Window(Count("id")))
        .order_by("-opened_at", "id")
    )
    first = list(signals[:SIGNALS_SHOWN])
    board.signals_total = first[0].total if first else 0
    board.signals = with_summaries(first)
    query: dict[str, str] = {"status": SignalStatus.OPEN, **scope.unit_params()}
    board.signals_url = f"{reverse('split-signal-list')}?{urlencode(query)}"


def _candidate_panel(board: Dashboard, scope: Scope, snapshot: Snapshot, shown: int) -> None:
    candidates = Candidate.objects.filter(snapshot=snapshot)
    if scope.cluster is not None:
        candidates = candidates.filter(unit__cluster_id=scope.cluster.pk)
    if scope.owner is not None:
        candidates = candidates.filter(unit__owner_id=scope.owner.pk)
    if scope.stage:
        candidates = candidates.filter(product__lifecycle_stage=scope.stage)
    board.candidates = list(
        candidates.select_related("product")
        .only("rank", "score", "reasons", "product__name", "product__slug")
        .order_by("rank")[:shown]
    )


def _metric_panel(board: Dashboard, snapshot: Snapshot) -> None:
    # Live, not from the snapshot: a metric turns stale with time alone, and the metric list
    # each figure opens reads the status now (one grouped query).
    by_severity = dict(
        with_status(Metric.objects.all()).order_by().values_list("severity").annotate(n=Count("id"))
    )
    counts = {status.value: by_severity.get(rank, 0) for status, rank in SEVERITY.items()}
    list_url = reverse("metric-list")
    order = [Status.RED, Status.AMBER, Status.STALE, Status.NO_DATA, Status.GREEN]
    board.metric_health = scale(
        [
            Bar(s.value, s.label, counts.get(s.value, 0), f"{list_url}?status={s.value}")
            for s in order
        ],
        stacked=True,
    )
    board.metrics_total = sum(b.count for b in board.metric_health)


def over_ceiling_trend(limit: int = TREND_SNAPSHOTS) -> list[tuple[Snapshot, int]]:
    """Owners over the ceiling (or triaging) in each of the last `limit` finished snapshots,
    oldest first."""
    snapshots = (
        Snapshot.objects.done()
        .annotate(over=Count("owners", filter=Q(owners__status__in=OVER_STATUSES)))
        .order_by("-started_at", "-id")[:limit]
    )
    return [(s, s.over) for s in reversed(list(snapshots))]


# --- an owner's load ----------------------------------------------------------------------------


@dataclass
class OwnerLoadView:
    snapshot: Snapshot | None
    load: OwnerLoad | None = None
    units: list[UnitState] = field(default_factory=list)
    history: list[tuple[Snapshot, OwnerLoad | None]] = field(default_factory=list)
    max_active: int = 0
    max_stable: int = 0


def owner_load(person: Person) -> OwnerLoadView:
    """`person`'s load in the latest snapshot, their units with the reasons, and their status
    over the last few snapshots: four queries, however many units or snapshots there are."""
    recent = list(Snapshot.objects.done().order_by("-started_at", "-id")[:OWNER_HISTORY])
    snapshot = recent[0] if recent else None
    view = OwnerLoadView(snapshot=snapshot)
    if snapshot is None:
        return view
    thresholds = snapshot.thresholds or {}
    view.max_active = int(thresholds.get("max_active_units", 0))
    view.max_stable = int(thresholds.get("max_stable_units", 0))
    loads = {
        load.snapshot_id: load
        for load in OwnerLoad.objects.filter(person=person, snapshot__in=[s.pk for s in recent])
    }
    view.load = loads.get(snapshot.pk)
    view.history = [(s, loads.get(s.pk)) for s in reversed(recent)]
    view.units = list(
        UnitState.objects.filter(snapshot=snapshot, owner=person)
        .select_related("unit__cluster", "unit__product")
        .order_by("-active", "name")
    )
    return view
