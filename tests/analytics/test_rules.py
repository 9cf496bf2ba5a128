"""Every analytics rule on both sides of its threshold, on factory-built portfolios, computed
by the real SQL into real snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import SignalObservation, Snapshot, SnapshotStatus
from backlog.models import ItemStatus
from portfolio.models import PortfolioSettings
from products.models import Product
from reviews.models import Review, ReviewCycle
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def owned(person, stages: list[str], **fields) -> list:
    """One product-unit per stage, owned by `person`."""
    return [ProductFactory(owner=person, lifecycle_stage=stage, **fields) for stage in stages]


def load_of(snapshot: Snapshot, person):
    return snapshot.owners.get(person=person)


def set_settings(**values) -> None:
    settings = PortfolioSettings.load()
    for name, value in values.items():
        setattr(settings, name, value)
    settings.save()


# --- Active or stable, and owner load ----------------------------------------------------------


def test_owner_load_at_each_boundary():
    at_ceiling = PersonFactory(name="At Ceiling")
    owned(at_ceiling, ["growth", "maturity", "maturity", "maturity"])
    over = PersonFactory(name="One Too Many")
    owned(over, ["growth", "maturity", "maturity", "maturity", "maturity"])
    triaging = PersonFactory(name="Two Active")
    owned(triaging, ["growth", "introduction"])
    ok = PersonFactory(name="Room Left")
    owned(ok, ["maturity", "maturity", "maturity"])
    snap = run_snapshot()
    assert snap.status == SnapshotStatus.DONE
    assert (load_of(snap, at_ceiling).active_units, load_of(snap, at_ceiling).stable_units) == (
        1,
        3,
    )
    assert load_of(snap, at_ceiling).status == "at_ceiling"
    assert load_of(snap, over).status == "over"
    assert load_of(snap, triaging).status == "triaging"
    assert load_of(snap, ok).status == "ok"


def test_ceiling_comes_from_the_settings():
    person = PersonFactory()
    owned(person, ["maturity"] * 4)
    assert load_of(run_snapshot(), person).status == "over"
    set_settings(max_stable_units=4, max_active_units=0)
    assert load_of(run_snapshot(), person).status == "at_ceiling"
    set_settings(max_stable_units=5)
    assert load_of(run_snapshot(), person).status == "ok"


@pytest.mark.parametrize(
    ("fields", "active", "reason"),
    [
        ({"lifecycle_stage": "maturity"}, False, None),
        ({"lifecycle_stage": "introduction"}, True, "in introduction"),
        ({"lifecycle_stage": "growth"}, True, "in growth"),
        ({"lifecycle_stage": "retirement"}, True, "migrating its users away (retirement)"),
        (
            {"lifecycle_stage": "maturity", "under_significant_change": True},
            True,
            "under significant operational change",
        ),
    ],
)
def test_active_or_stable(fields, active, reason):
    product = ProductFactory(owner=PersonFactory(), name="Ledger", **fields)
    state = run_snapshot().units.get(unit=product.unit)
    assert state.active is active
    assert state.reasons == ([f"Ledger: {reason}"] if reason else [])


def _support(product, value, critical=60.0):
    return MetricFactory(
        product=product,
        template="support-tickets",
        key="support-tickets",
        unit="tickets/week",
        better="lower",
        target=20,
        warning=40,
        critical=critical,
        last_value=value,
        last_read_at=NOW,
    )


def test_support_above_red_makes_a_unit_active_and_below_does_not():
    person = PersonFactory()
    calm, busy = owned(person, ["maturity", "maturity"])
    _support(calm, 60.0)  # at the red line: not above it
    _support(busy, 61.0)
    snap = run_snapshot()
    assert snap.units.get(unit=calm.unit).active is False
    assert snap.units.get(unit=busy.unit).reasons == [f"{busy.name}: high support demand"]


def test_support_in_the_top_quartile_makes_a_unit_active():
    person = PersonFactory()
    products = owned(person, ["maturity"] * 8)
    for value, product in zip([5, 6, 7, 8, 9, 10, 30, 35], products, strict=True):
        _support(product, float(value), critical=1000.0)
    snap = run_snapshot()
    active = {s.unit_id for s in snap.units.filter(active=True)}
    # The 75th percentile of the eight values is 15: the two busiest are in the top quartile.
    assert active == {products[6].unit_id, products[7].unit_id}


def test_top_quartile_needs_four_products_reporting():
    products = owned(PersonFactory(), ["maturity"] * 3)
    for value, product in zip([5, 6, 50], products, strict=True):
        _support(product, float(value), critical=1000.0)
    assert not run_snapshot().units.filter(active=True).exists()


def test_a_cluster_is_one_unit_active_when_any_member_is():
    person = PersonFactory()
    cluster = ClusterFactory(owner=person)
    ProductFactory(cluster=cluster, lifecycle_stage="maturity")
    ProductFactory(cluster=cluster, lifecycle_stage="maturity")
    ProductFactory(cluster=cluster, lifecycle_stage="retirement")
    owned(person, ["maturity", "maturity", "maturity"])
    snap = run_snapshot()
    state = snap.units.get(unit=cluster.unit)
    assert (state.active, state.members, state.stage) == (True, 3, "maturity")
    assert (load_of(snap, person).active_units, load_of(snap, person).stable_units) == (1, 3)
    assert load_of(snap, person).status == "at_ceiling"


def test_projects_and_retired_products_are_left_out():
    person = PersonFactory()
    owned(person, ["growth", "maturity", "maturity", "maturity"])
    owned(
        person,
        ["growth", "introduction"],
        management_model="project",
        project_end_date=dt.date(2027, 3, 31),
    )
    owned(person, ["retired"])
    snap = run_snapshot()
    load = load_of(snap, person)
    assert (load.active_units, load.stable_units, load.status) == (1, 3, "at_ceiling")
    assert snap.units.count() == 4
    assert snap.readiness.count() == 4


def test_units_without_an_accountable_owner_count_for_no_one():
    gone = PersonFactory(active=False, departed_on=dt.date(2026, 1, 31))
    (left,) = owned(gone, ["growth"])
    (nobody,) = owned(None, ["maturity"])
    snap = run_snapshot()
    assert not snap.owners.exists()
    assert {s.unit_id: s.accountable for s in snap.units.all()} == {
        left.unit_id: False,
        nobody.unit_id: False,
    }
    reasons = dict(snap.candidates.values_list("product_id", "reasons"))
    assert reasons == {left.pk: ["Its owner has left"], nobody.pk: ["No owner"]}


# --- Consecutive breaches: the portfolio design problem -----------------------------------------


def test_over_in_two_consecutive_snapshots_is_a_design_problem_with_groupings():
    person = PersonFactory(name="Busy Bea")
    payroll, expenses, intranet, wiki, crm = owned(person, ["growth"] + ["maturity"] * 4)
    for product, groups in (
        (payroll, "HR staff\nFinance"),
        (expenses, "finance"),
        (intranet, "All staff"),
        (wiki, "All staff"),
        (crm, "Sales"),
    ):
        product.user_groups = groups
        product.save()
    crm.dependencies.add(payroll)

    first = load_of(run_snapshot(now=NOW - dt.timedelta(hours=1)), person)
    assert (first.status, first.consecutive_over, first.design_problem) == ("over", 1, False)
    assert first.suggestions == []

    second = load_of(run_snapshot(now=NOW), person)
    assert (second.consecutive_over, second.design_problem) == (2, True)
    groups = {tuple(s["units"]): s["why"] for s in second.suggestions}
    assert groups == {
        tuple(sorted([payroll.name, expenses.name, crm.name])): sorted(
            ["same users: finance", f"{crm.name} depends on {payroll.name}"]
        ),
        tuple(sorted([intranet.name, wiki.name])): ["same users: all staff"],
    }


def test_a_snapshot_back_under_the_ceiling_resets_the_count():
    person = PersonFactory()
    products = owned(person, ["maturity"] * 4)
    run_snapshot(now=NOW - dt.timedelta(hours=2))
    products[0].management_model = "project"
    products[0].project_end_date = dt.date(2027, 3, 31)
    products[0].save()
    assert load_of(run_snapshot(now=NOW - dt.timedelta(hours=1)), person).status == "ok"
    products[0].management_model = "product"
    products[0].project_end_date = None
    products[0].save()
    load = load_of(run_snapshot(now=NOW), person)
    assert (load.consecutive_over, load.design_problem) == (1, False)


def test_the_number_of_snapshots_comes_from_the_settings():
    set_settings(design_problem_consecutive=3)
    person = PersonFactory()
    owned(person, ["growth", "growth"])
    for hours in (2, 1):
        assert not load_of(run_snapshot(now=NOW - dt.timedelta(hours=hours)), person).design_problem
    assert load_of(run_snapshot(now=NOW), person).design_problem


# --- Split signals ------------------------------------------------------------------------------


@pytest.fixture
def crowded_cluster():
    """Reports (80% of the open estimate) crowds out Archive (nothing finished in 90 days)."""
    cluster = ClusterFactory(owner=PersonFactory(), name="Data")
    reports = ProductFactory(cluster=cluster, name="Reports")
    archive = ProductFactory(cluster=cluster, name="Archive")
    for _ in range(4):
        BacklogItemFactory(product=reports, estimate=Decimal("4"))
    BacklogItemFactory(product=archive, estimate=Decimal("4"))
    return cluster, reports, archive


def test_crowding_condition_and_its_evidence(crowded_cluster):
    cluster, reports, archive = crowded_cluster
    snap = run_snapshot()
    obs = snap.observations.get(kind="crowding")
    assert (obs.cluster_id, obs.product_id) == (cluster.pk, reports.pk)
    assert obs.evidence["estimate_share_pct"] == 80.0
    assert obs.evidence["idle_members"] == ["Archive"]


def test_no_crowding_at_exactly_the_share():
    cluster = ClusterFactory(owner=PersonFactory())
    a = ProductFactory(cluster=cluster)
    b = ProductFactory(cluster=cluster)
    for _ in range(3):
        BacklogItemFactory(product=a, estimate=Decimal("2"))
    for _ in range(2):
        BacklogItemFactory(product=b, estimate=Decimal("2"))
    set_settings(crowding_top_items=5)
    assert not run_snapshot().observations.filter(kind="crowding").exists()  # 60%, not above


def test_no_crowding_when_every_other_member_finished_something(crowded_cluster):
    _cluster, _reports, archive = crowded_cluster
    BacklogItemFactory(
        product=archive, status=ItemStatus.DONE, finished_at=NOW - dt.timedelta(days=89)
    )
    assert not run_snapshot().observations.filter(kind="crowding").exists()


def test_crowding_by_the_top_ranked_items_without_estimates():
    cluster = ClusterFactory(owner=PersonFactory())
    a = ProductFactory(cluster=cluster)
    b = ProductFactory(cluster=cluster)
    for _ in range(7):
        BacklogItemFactory(product=a)
    for _ in range(3):
        BacklogItemFactory(product=b)
    obs = run_snapshot().observations.get(kind="crowding")
    assert obs.product_id == a.pk
    assert obs.evidence["top_share_pct"] == 70.0


def _past_weeks(cluster, product, pattern: list[bool]) -> None:
    """Finished snapshots one, two, three... weeks ago; True where crowding was observed."""
    for weeks_ago, crowded in enumerate(pattern, start=1):
        snap = Snapshot.objects.create(
            started_at=NOW - dt.timedelta(weeks=weeks_ago),
            finished_at=NOW - dt.timedelta(weeks=weeks_ago),
            status=SnapshotStatus.DONE,
        )
        if crowded:
            SignalObservation.objects.create(
                snapshot=snap, cluster=cluster, kind="crowding", product=product
            )


def test_crowding_in_two_of_four_weekly_snapshots_is_no_signal(crowded_cluster):
    cluster, reports, _archive = crowded_cluster
    _past_weeks(cluster, reports, [False, False, True])  # with this week's: 2 of 4
    run_snapshot(now=NOW)
    assert not cluster.split_signals.filter(kind="crowding").exists()


def test_crowding_in_three_of_four_weekly_snapshots_opens_a_signal(crowded_cluster):
    cluster, reports, _archive = crowded_cluster
    _past_weeks(cluster, reports, [True, False, True])  # with this week's: 3 of 4
    run_snapshot(now=NOW)
    signal = cluster.split_signals.get(kind="crowding")
    assert (signal.status, signal.product_id) == ("open", reports.pk)
    assert signal.evidence["weeks_seen"] == 3
    assert signal.evidence["weeks_window"] == 4


def test_only_the_last_snapshot_of_a_week_counts(crowded_cluster):
    cluster, reports, _archive = crowded_cluster
    _past_weeks(cluster, reports, [False, True, True, True])
    # Many snapshots this week before this run do not add weeks: 4 weeks seen, this one + 2.
    assert not SignalObservation.objects.filter(snapshot__started_at__gt=NOW).exists()
    run_snapshot(now=NOW)
    assert cluster.split_signals.get(kind="crowding").evidence["weeks_seen"] == 3


def _ops_done(product, days: float, count: int = 1, dimension: str = "operations"):
    for _ in range(count):
        BacklogItemFactory(
            product=product,
            status=ItemStatus.DONE,
            dimension=dimension,
            estimate=Decimal(str(days)),
            finished_at=NOW - dt.timedelta(days=10),
        )


@pytest.mark.parametrize(
    ("efforts", "dominant"),
    [
        ([70, 15, 15], True),  # 3 members: the line is 2 x 33.3% = 66.7%
        ([65, 20, 15], False),
        ([55, 15, 15, 15], True),  # 4 members: the line is 50%
        ([50, 20, 20, 10], False),
        ([90, 10], False),  # 2 members: 2 x 50% = 100%, never passed
    ],
)
def test_operational_dominance_on_both_sides_of_the_line(efforts, dominant):
    cluster = ClusterFactory(owner=PersonFactory())
    members = [ProductFactory(cluster=cluster) for _ in efforts]
    for member, effort in zip(members, efforts, strict=True):
        _ops_done(member, effort, dimension="support" if effort % 2 else "operations")
    observations = run_snapshot().observations.filter(kind="dominance")
    if dominant:
        obs = observations.get()
        assert obs.product_id == members[0].pk
        assert obs.evidence["share_pct"] == efforts[0] * 100 / sum(efforts)
    else:
        assert not observations.exists()


def test_dominance_ignores_improvement_work_and_old_items():
    cluster = ClusterFactory(owner=PersonFactory())
    a, b, c = (ProductFactory(cluster=cluster) for _ in range(3))
    _ops_done(a, 90, dimension="improvement")
    BacklogItemFactory(
        product=a,
        status=ItemStatus.DONE,
        dimension="operations",
        estimate=Decimal("90"),
        finished_at=NOW - dt.timedelta(days=91),
    )
    _ops_done(b, 5)
    _ops_done(c, 5)
    assert not run_snapshot().observations.filter(kind="dominance").exists()


def test_strategic_member_raises_a_signal_and_it_clears_when_unflagged():
    cluster = ClusterFactory(owner=PersonFactory())
    core = ProductFactory(cluster=cluster, strategic=True, name="Core")
    ProductFactory(cluster=cluster)
    run_snapshot(now=NOW - dt.timedelta(hours=1))
    signal = cluster.split_signals.get()
    assert (signal.kind, signal.product_id, signal.status) == ("strategic", core.pk, "open")
    core.strategic = False
    core.save()
    run_snapshot(now=NOW)
    signal.refresh_from_db()
    assert signal.status == "cleared"


# --- Candidates and readiness -------------------------------------------------------------------


def test_candidates_are_ranked_by_their_reasons():
    person = PersonFactory()
    orphan = ProductFactory(owner=None, name="Orphan")
    neglected = ProductFactory(owner=person, name="Neglected")
    for _ in range(2):
        item = BacklogItemFactory(product=neglected)
        type(item).objects.filter(pk=item.pk).update(updated_at=NOW - dt.timedelta(days=181))
    fresh = BacklogItemFactory(product=neglected)  # touched: not counted
    unreviewed = ProductFactory(owner=person, name="Unreviewed")
    reviewed = ProductFactory(owner=person, name="Reviewed")
    Product.objects.filter(pk__in=[unreviewed.pk, reviewed.pk]).update(
        created_at=NOW - dt.timedelta(days=200)
    )
    cycle = ReviewCycle.objects.create(
        year=2026, quarter=3, starts_on=dt.date(2026, 7, 1), ends_on=dt.date(2026, 9, 30)
    )
    Review.objects.create(
        cycle=cycle, unit=reviewed.unit, scheduled_on=(NOW - dt.timedelta(days=60)).date(),
        status="closed",
    )  # fmt: skip
    busy = ProductFactory(owner=person, name="Busy")
    _support(busy, 100.0)
    ProductFactory(owner=person, name="Fine")
    snap = run_snapshot()
    ranked = list(snap.candidates.order_by("rank").values_list("product_id", "score", "reasons"))
    assert ranked == [
        (orphan.pk, 6, ["No owner"]),
        (neglected.pk, 4, ["2 open backlog items untouched for 180 days or more"]),
        (busy.pk, 3, ["High support demand"]),
        (unreviewed.pk, 2, ["No review held in the last 2 quarters"]),
    ]
    assert fresh.pk


def test_readiness_checklist_and_score():
    person = PersonFactory()
    ready = ProductFactory(
        owner=person,
        user_groups="Finance",
        user_count=40,
        key_use_cases="Month-end close",
    )
    for dimension in ("improvement", "operations", "support"):
        MetricFactory(product=ready, dimension=dimension)
    BacklogItemFactory(product=ready)
    bare = ProductFactory(owner=None, user_groups="Finance")  # no count: not documented
    cycle = ReviewCycle.objects.create(
        year=2026, quarter=4, starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2027, 12, 31)
    )
    Review.objects.create(cycle=cycle, unit=ready.unit, scheduled_on=NOW.date())
    Review.objects.create(
        cycle=cycle, unit=bare.unit, scheduled_on=NOW.date() - dt.timedelta(days=1)
    )  # in the past: not a next review
    snap = run_snapshot()
    full = snap.readiness.get(product=ready)
    assert [c[2] for c in full.checks()] == [True] * 6
    assert full.score == 100
    empty = snap.readiness.get(product=bare)
    assert [c[2] for c in empty.checks()] == [False] * 6
    assert empty.score == 0


def test_metric_health_totals_on_the_snapshot():
    product = ProductFactory(owner=PersonFactory())
    MetricFactory(product=product, last_value=99.95, last_read_at=NOW)
    MetricFactory(product=product, last_value=10.0, last_read_at=NOW)
    MetricFactory(product=product)
    snap = run_snapshot()
    assert snap.results["metric_health"] == {
        "green": 1,
        "no_data": 1,
        "stale": 0,
        "amber": 0,
        "red": 1,
    }
    assert snap.units.get(unit=product.unit).health == 4  # red


def test_an_investment_request_above_the_threshold_raises_the_strategic_signal(leader):
    from funding import services as funding

    set_settings(governance_threshold=Decimal("10000.00"))
    cluster = ClusterFactory(owner=PersonFactory())
    big = ProductFactory(cluster=cluster, name="Big ask")
    small = ProductFactory(cluster=cluster, name="Small ask")
    for product, amount in ((big, "10000.01"), (small, "10000.00")):
        funding.request_create(
            actor=leader, product=product, amount=amount, purpose="More", submit=True,
            fiscal_year=NOW.year,
        )  # fmt: skip
    observations = run_snapshot().observations.filter(kind="strategic")
    (obs,) = observations
    assert obs.product_id == big.pk
    assert obs.evidence["reasons"] == ["asking for investment above the governance threshold"]
    assert obs.evidence["requests"] == [{"amount": 10000.01, "status": "submitted"}]


def test_reactive_funding_makes_a_candidate(leader):
    from funding import services as funding

    product = ProductFactory(owner=PersonFactory(), name="Firefighting")
    funding.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=NOW.year,
        operations_amount="5000", improvement_amount="0", mode="reactive",
    )  # fmt: skip
    (candidate,) = run_snapshot().candidates.all()
    assert (candidate.product_id, candidate.score) == (product.pk, 2)
    assert candidate.reasons == ["Funded reactively: money only when something breaks"]
