"""`manage.py seed_demo` builds a demo portfolio that shows every rule at work, and building
it again changes nothing.

The demo is built once for this module (`seeded`); each test reads it, or edits and seeds it
again, inside a savepoint of its own that is rolled back after the test."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDay
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from analytics.models import (
    Candidate,
    LoadStatus,
    OwnerLoad,
    SignalKind,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    SplitSignal,
)
from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus
from demo.analytics import ANALYTICS_HISTORY_WEEKS
from demo.catalogue import demo_password
from demo.catalogue_products import PRODUCTS
from demo.common import quarter_of
from funding.models import FundingAllocation, FundingMode, InvestmentRequest, RequestStatus
from metrics.models import Grain, Metric, Reading, ReadingRollup, RollupPending, Status
from metrics.selectors import coverage
from metrics.status import status_of
from portfolio import outbox
from portfolio.models import OutboxMessage, PortfolioSettings
from portfolio.permissions import LEADERS_GROUP, Role
from products.models import (
    Cluster,
    ExternalId,
    LifecycleTransition,
    ManagementModel,
    MigrationPlan,
    OwnershipUnit,
    Person,
    Product,
    Stage,
    Team,
)
from products.permissions import role_of
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    DecisionKind,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)
from reviews.packets import previous_quarter
from reviews.services import reviewable_units

pytestmark = pytest.mark.django_db

ACTIVE_STAGES = {Stage.INTRODUCTION, Stage.GROWTH, Stage.RETIREMENT}


def seed(*, pdfs: bool = False) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, no_pdfs=not pdfs)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo, built once for the module (first day's PDFs included), and what the command
    printed. It is built in a transaction that is rolled back after the module's last test, so
    nothing is ever committed: each test runs in a savepoint inside it (pytest-django's `db`
    skips TestCase's class-level transaction for this), and the on-commit callbacks the build
    queues (the departure notices, which run eagerly under test) are dropped unrun, as they
    were when each test built the demo in its own transaction."""
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            yield seed(pdfs=True)
        finally:
            transaction.set_rollback(True)


def owner_load() -> dict[str, tuple[int, int]]:
    """(active units, stable units) per owner, by the rules in DOMAIN.md: a unit is active when
    a member is in introduction, growth or retirement, or under significant change; project
    items and retired products carry no load."""
    load: dict[str, list[int]] = {}
    units = OwnershipUnit.objects.current().exclude(owner=None).select_related("owner")
    for unit in units.prefetch_related("products"):
        members = [
            p
            for p in unit.products.all()
            if p.management_model == ManagementModel.PRODUCT and p.lifecycle_stage != Stage.RETIRED
        ]
        if not members:
            continue
        active = any(
            p.lifecycle_stage in ACTIVE_STAGES or p.under_significant_change for p in members
        )
        counts = load.setdefault(unit.owner.email, [0, 0])
        counts[0 if active else 1] += 1
    return {email: (a, s) for email, (a, s) in load.items()}


def snapshot() -> dict:
    """Every count the demo touches, history included, and the products' described fields."""
    User = get_user_model()
    return {
        "users": User.objects.count(),
        "people": Person.objects.count(),
        "teams": Team.objects.count(),
        "clusters": Cluster.objects.count(),
        "units": OwnershipUnit.objects.count(),
        "products": Product.objects.count(),
        "external_ids": ExternalId.objects.count(),
        "dependencies": Product.dependencies.through.objects.count(),
        "plans": MigrationPlan.objects.count(),
        "transitions": LifecycleTransition.objects.count(),
        "product_history": Product.history.count(),
        "person_history": Person.history.count(),
        "cluster_history": Cluster.history.count(),
        "unit_history": OwnershipUnit.history.count(),
        "backlog": sorted(
            BacklogItem.objects.values_list(
                "unit_id",
                "title",
                "product__slug",
                "rank",
                "status",
                "version",
                "created_at",
                "updated_at",
                "started_at",
                "finished_at",
            )
        ),  # fmt: skip
        "metrics": sorted(
            Metric.objects.values_list(
                "product__slug",
                "key",
                "name",
                "dimension",
                "target",
                "warning",
                "critical",
                "expected_interval",
                "last_value",
                "last_read_at",
                "created_at",
                "updated_at",
            )
        ),  # fmt: skip
        "readings": Reading.objects.aggregate(
            n=Count("id"), total=Sum("value"), first=Min("taken_at"), changed=Max("updated_at")
        ),
        "snapshots": sorted(
            Snapshot.objects.values_list("pk", "started_at", "finished_at", "status")
        ),
        "signals": sorted(
            SplitSignal.objects.values_list(
                "cluster__slug", "kind", "product__slug", "status", "opened_at"
            )
        ),
        "cycles": sorted(ReviewCycle.objects.values_list("pk", "status", "starts_on", "ends_on")),
        "reviews": sorted(
            Review.objects.values_list("pk", "unit_id", "scheduled_on", "status", "closed_at")
        ),
        "packets": sorted(
            Packet.objects.values_list("pk", "review_id", "version", "status", "generated_at")
        ),
        "decisions": sorted(Decision.objects.values_list("pk", "review_id", "kind")),
        "allocations": sorted(
            FundingAllocation.objects.values_list(
                "unit_id",
                "fiscal_year",
                "operations_amount",
                "improvement_amount",
                "mode",
                "updated_at",
            )
        ),  # fmt: skip
        "requests": sorted(
            InvestmentRequest.objects.values_list(
                "pk", "product__slug", "amount", "status", "version", "updated_at"
            )
        ),
        "actions": sorted(
            ActionItem.objects.values_list("pk", "review_id", "done", "done_at", "backlog_item_id")
        ),
        "fields": sorted(
            Product.objects.values_list(
                "slug",
                "name",
                "lifecycle_stage",
                "unit__owner__email",
                "unit__cluster__slug",
                "strategic",
                "management_model",
                "project_end_date",
                "description",
            )
        ),  # fmt: skip
    }


def test_demo_portfolio_has_every_case_to_show(seeded):
    output = seeded

    products = Product.objects.all()
    assert products.count() >= 40
    assert Cluster.objects.count() >= 8
    assert Person.objects.count() >= 15
    assert set(products.values_list("lifecycle_stage", flat=True)) == set(Stage.values)

    # Retirement is a managed migration: plans, targets or a dropped capability, and transitions.
    for product in products.filter(lifecycle_stage__in=[Stage.RETIREMENT, Stage.RETIRED]):
        plan = product.migration_plan
        assert plan.targets.exists() or (plan.capability_dropped and plan.dropped_reason)
        assert product.transitions.filter(to_stage=Stage.RETIREMENT).exists()
    for product in products.filter(lifecycle_stage=Stage.RETIRED):
        move = product.transitions.get(to_stage=Stage.RETIRED)
        assert product.migration_plan.done or (move.override and move.reason)
    assert LifecycleTransition.objects.filter(override=True).exists()
    assert LifecycleTransition.objects.filter(from_stage=Stage.MATURITY, to_stage=Stage.GROWTH)

    # Orphans: nobody owns it, its owner left, or its owner cannot log in.
    orphans = products.without_accountable_owner()
    assert orphans.filter(unit__owner=None).exists()
    assert orphans.filter(unit__owner__active=False).exists()
    assert orphans.filter(unit__owner__user__is_active=False).exists()
    assert 1 <= Person.objects.filter(active=False).count() <= 2

    # Project items have end dates.
    projects = products.filter(management_model=ManagementModel.PROJECT)
    assert projects.count() >= 4
    assert not projects.filter(project_end_date=None).exists()

    # Owner load: someone is over the ceiling, with two active units and three stable ones.
    limits = PortfolioSettings.load()
    load = owner_load()
    over = {e: ls for e, ls in load.items()
            if ls[0] > limits.max_active_units or ls[1] > limits.max_stable_units}  # fmt: skip
    assert load["priya.raman@example.org"] == (2, 3)
    assert "priya.raman@example.org" in over

    # A cluster grouped for no reason is there to be flagged; the others say why.
    assert list(Cluster.objects.without_reason().values_list("slug", flat=True)) == [
        "workplace-odds-and-ends"
    ]
    assert products.filter(strategic=True).count() >= 3
    assert ExternalId.objects.filter(source="cmdb").count() >= 40
    assert Product.dependencies.through.objects.count() >= 30
    assert Product.objects.filter(description="").count() == 0

    # The printed logins work and have the roles they are printed for (signing in through the
    # sign-in check, which needs the request: django-axes counts failures per address).
    def authenticate(**credentials):
        return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)

    password = demo_password()
    assert password in output
    roles = {"leader": Role.LEADER, "owner": Role.OWNER, "viewer": Role.VIEWER}
    for username, role in roles.items():
        user = authenticate(username=username, password=password)
        assert user is not None, username
        assert role_of(user) == role
    assert authenticate(username="leader", password=password).groups.filter(name=LEADERS_GROUP)
    admin = authenticate(username="admin", password=password)
    assert admin.is_superuser and admin.is_staff
    assert "/admin/" in output
    assert authenticate(username="marek", password=password) is None  # login switched off


def test_demo_analytics_have_a_past_and_every_signal(seeded):
    today = timezone.localdate()

    # Weekly snapshots before the first build, then one from today: all finished.
    snapshots = list(Snapshot.objects.order_by("started_at"))
    assert [s.status for s in snapshots] == [SnapshotStatus.DONE] * (ANALYTICS_HISTORY_WEEKS + 1)
    days = [(today - timezone.localdate(s.started_at)).days for s in snapshots]
    assert days == [7 * w for w in range(ANALYTICS_HISTORY_WEEKS, -1, -1)]
    for s in snapshots:
        assert s.started_at < s.finished_at < s.started_at + dt.timedelta(minutes=1)
    latest = Snapshot.objects.latest_done()
    assert latest == snapshots[-1]

    # Owners at every load; the two over the ceiling have been so in every snapshot, a
    # portfolio design problem, with the units they could run as one cluster and why.
    loads = {
        load.person.email: load
        for load in OwnerLoad.objects.filter(snapshot=latest).select_related("person")
    }
    assert {load.status for load in loads.values()} == set(LoadStatus.values)
    jonas, priya = loads["jonas.weber@example.org"], loads["priya.raman@example.org"]
    assert (jonas.status, jonas.active_units, jonas.stable_units) == (LoadStatus.OVER, 1, 4)
    assert priya.status == LoadStatus.TRIAGING
    assert loads["mei.chen@example.org"].status == LoadStatus.AT_CEILING
    for load in (jonas, priya):
        assert load.design_problem
        assert load.consecutive_over == ANALYTICS_HISTORY_WEEKS + 1
    [grouping] = jonas.suggestions
    assert {"Finance systems", "Treasury management", "Tax reporting"} <= set(grouping["units"])
    assert "same users: accountants" in grouping["why"]
    assert any("depends on ERP general ledger" in why for why in grouping["why"])
    assert priya.suggestions[0]["units"] == ["Data and analytics", "Data science workbench"]

    # Open split signals of every kind, crowding seen in enough weekly snapshots.
    open_signals = SplitSignal.objects.filter(status=SignalStatus.OPEN).select_related(
        "cluster", "product"
    )
    assert {s.kind for s in open_signals} == set(SignalKind.values)
    crowding = {s.cluster.slug: s for s in open_signals if s.kind == SignalKind.CROWDING}
    assert {"data-analytics", "customer-engagement"} <= set(crowding)
    evidence = crowding["data-analytics"].evidence
    assert evidence["member"] == "Enterprise data warehouse"
    assert evidence["weeks_seen"] >= evidence["weeks_required"]
    assert "Master data hub" in evidence["idle_members"]
    dominance = [s for s in open_signals if s.kind == SignalKind.DOMINANCE]
    assert any(Product.objects.filter(unit__cluster=s.cluster).count() >= 3 for s in dominance)
    assert {"payroll", "single-sign-on"} <= {
        s.product.slug for s in open_signals if s.kind == SignalKind.STRATEGIC
    }

    # Candidates ranked 1..n by score, the orphans first.
    candidates = list(
        Candidate.objects.filter(snapshot=latest).select_related("product").order_by("rank")
    )
    assert [c.rank for c in candidates] == list(range(1, len(candidates) + 1))
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    shown = PortfolioSettings.load().candidates_shown
    orphans = set(Product.objects.without_accountable_owner().values_list("slug", flat=True))
    assert candidates[0].product.slug == "warehouse-order-interface"
    assert sum(c.product.slug in orphans for c in candidates[:shown]) >= shown - 1


def test_seeding_again_reuses_everything(seeded):
    first = snapshot()

    output = seed()

    assert snapshot() == first
    assert "created: nothing" in output
    assert Counter(Product.objects.values_list("slug", flat=True)).most_common(1)[0][1] == 1
    assert Person.objects.values("email").distinct().count() == Person.objects.count()


def test_seeding_brings_edited_records_back_to_the_definition(seeded):
    product = Product.objects.get(slug="crm")
    product.description = "Edited by hand"
    product.save()
    Team.objects.get(slug="identity").members.clear()

    seed()

    spec = next(p for p in PRODUCTS if p.slug == "crm")
    assert Product.objects.get(slug="crm").description == spec.description
    assert Team.objects.get(slug="identity").members.count() == 2


def _live_product_members(unit) -> list[Product]:
    return [
        p
        for p in unit.products.all()
        if p.management_model == ManagementModel.PRODUCT and p.lifecycle_stage != Stage.RETIRED
    ]


def test_demo_backlogs_have_a_story_to_tell(seeded):
    now = timezone.now()
    items = BacklogItem.objects.select_related("product", "unit")
    assert items.count() >= 80

    # Every product-managed unit has a backlog; project items have none.
    for unit in OwnershipUnit.objects.current().prefetch_related("products"):
        if _live_product_members(unit):
            assert items.filter(unit=unit).exists(), unit.name
    assert not items.filter(product__management_model=ManagementModel.PROJECT).exists()
    for item in items:
        assert item.product.unit_id == item.unit_id
    ranks = list(items.values_list("unit_id", "rank"))
    assert len(ranks) == len(set(ranks))

    # Work of every kind, in every state, with dates that fit the state.
    assert set(items.values_list("status", flat=True)) == set(ItemStatus.values)
    assert set(items.values_list("dimension", flat=True)) == {
        "improvement",
        "operations",
        "support",
    }
    assert set(items.values_list("type", flat=True)) == {
        "improvement",
        "fix",
        "enhancement",
        "investigation",
    }
    assert len(set(items.values_list("source", flat=True))) == 4
    for item in items:
        assert item.created_at <= item.updated_at <= now
        if item.status in (ItemStatus.DONE, ItemStatus.DECLINED):
            assert item.finished_at is not None and item.finished_at >= item.created_at
        else:
            assert item.finished_at is None
        if item.status == ItemStatus.IN_PROGRESS:
            assert item.created_at <= item.started_at <= now
    assert items.filter(status=ItemStatus.DONE, finished_at__lt=now - dt.timedelta(days=30))

    # Crowded clusters: one member holds most of the open estimate while another member has
    # finished nothing in 90 days.
    recent = now - dt.timedelta(days=90)
    crowded = []
    for unit in OwnershipUnit.objects.filter(kind="cluster").prefetch_related("products"):
        open_estimate: dict[int, Decimal] = defaultdict(Decimal)
        for product_id, estimate in items.filter(unit=unit, status__in=OPEN_STATUSES).values_list(
            "product_id", "estimate"
        ):
            open_estimate[product_id] += estimate or 0
        total = sum(open_estimate.values())
        if not total:
            continue
        top = max(open_estimate, key=open_estimate.get)
        idle = [
            p
            for p in _live_product_members(unit)
            if p.pk != top
            and not items.filter(product=p, status=ItemStatus.DONE, finished_at__gte=recent)
        ]
        if open_estimate[top] / total > Decimal("0.6") and idle:
            crowded.append(unit.cluster.slug)
    assert {"data-analytics", "customer-engagement"} <= set(crowded)
    assert len(crowded) < OwnershipUnit.objects.filter(kind="cluster").count() / 2

    # Stale items: open, raised more than 180 days ago, untouched since.
    old = now - dt.timedelta(days=180)
    stale = items.filter(status__in=OPEN_STATUSES, created_at__lt=old, updated_at__lt=old)
    assert stale.count() >= 5
    assert stale.values("unit").distinct().count() >= 5
    assert stale.filter(product__slug="warehouse-order-interface").exists()
    # Old but looked after is not stale.
    assert items.filter(status__in=OPEN_STATUSES, created_at__lt=old, updated_at__gte=old)


def test_seeding_again_creates_no_backlog_items_and_keeps_their_order(seeded):
    before = list(BacklogItem.objects.order_by("unit_id", "rank").values_list("pk", "title"))

    output = seed()

    after = list(BacklogItem.objects.order_by("unit_id", "rank").values_list("pk", "title"))
    assert after == before
    assert "created: nothing" in output
    pairs = Counter(BacklogItem.objects.values_list("unit_id", "title"))
    assert pairs.most_common(1)[0][1] == 1


def _statuses(now) -> dict[tuple[str, str], Status]:
    multiple = PortfolioSettings.load().stale_interval_multiple
    return {
        (m.product.slug, m.key): status_of(m, now=now, stale_multiple=multiple)
        for m in Metric.objects.select_related("product")
    }


def test_demo_metrics_show_every_status_and_coverage_gaps(seeded):
    now = timezone.now()
    statuses = _statuses(now)
    by_status = Counter(statuses.values())

    # Mostly green, with a few stories of each kind.
    assert by_status[Status.GREEN] > len(statuses) / 2
    assert 2 <= by_status[Status.RED] <= 4
    assert by_status[Status.AMBER] >= 4
    assert by_status[Status.STALE] >= 2
    assert by_status[Status.NO_DATA] >= 1
    assert statuses["service-desk-ticketing", "support-tickets"] == Status.RED
    assert statuses["crm", "response-time"] == Status.AMBER
    assert statuses["contract-management", "availability"] == Status.STALE
    assert statuses["event-streaming", "adoption-rate"] == Status.NO_DATA
    # A stale feed stopped weeks ago, not just beyond the limit.
    stale = Metric.objects.get(product__slug="managed-file-transfer", key="error-rate")
    assert stale.last_read_at < now - dt.timedelta(days=14)

    # Project items and retired products have no metrics; every other product is measured,
    # most of them with three to five metrics across the three dimensions, a few not.
    assert not Metric.objects.filter(product__management_model=ManagementModel.PROJECT)
    assert not Metric.objects.filter(product__lifecycle_stage=Stage.RETIRED)
    measured = Product.objects.filter(management_model=ManagementModel.PRODUCT).exclude(
        lifecycle_stage=Stage.RETIRED
    )
    gaps = {p.slug: coverage(p) for p in measured if not coverage(p).ok}
    assert 3 <= len(gaps) <= measured.count() / 4
    assert any(c.count < c.minimum for c in gaps.values())
    assert any(c.count_ok and c.missing for c in gaps.values())
    assert gaps["facilities-helpdesk"].count == 0

    # About six months of readings at each metric's interval, none in the future, and each
    # metric's latest reading is the one the metric row carries.
    first = Reading.objects.aggregate(first=Min("taken_at"))["first"]
    assert now - dt.timedelta(days=190) < first < now - dt.timedelta(days=170)
    assert not Reading.objects.filter(taken_at__gt=now)
    daily = Metric.objects.get(product__slug="payroll", key="availability")
    assert 170 <= daily.readings.count() <= 190
    latest = {
        row["metric_id"]: row["at"]
        for row in Reading.objects.values("metric_id").annotate(at=Max("taken_at"))
    }
    for metric in Metric.objects.all():
        assert metric.last_read_at == latest.get(metric.pk), metric.key
        if metric.last_read_at is not None:
            last = metric.readings.get(taken_at=metric.last_read_at)
            assert metric.last_value == last.value
    assert Reading.objects.count() < 30_000  # the demo stays quick to build


def test_demo_readings_sit_in_their_months_partitions_and_are_rolled_up(seeded):
    # The story's history predates the partitions a new database has; seeding gives its
    # months their own partitions and rolls the days up, as the beat's task would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM metrics_reading GROUP BY 1")
        by_partition = dict(cursor.fetchall())
    assert by_partition and "metrics_reading_default" not in by_partition
    months = Reading.objects.datetimes("taken_at", "month", tzinfo=dt.UTC)
    assert len(by_partition) == len(months) > 1
    assert not RollupPending.objects.exists()
    assert ReadingRollup.objects.filter(grain=Grain.DAY).count() == (
        Reading.objects.annotate(day=TruncDay("taken_at", tzinfo=dt.UTC))
        .values("metric", "day")
        .distinct()
        .count()
    )


def test_seeding_later_tops_the_readings_up_and_keeps_the_stories(seeded, monkeypatch):
    readings = Reading.objects.count()
    stale = Metric.objects.get(product__slug="print-scan-service", key="support-tickets")
    later = timezone.now() + dt.timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: later)

    output = seed()

    # Three days of daily readings came due (weekly and monthly ones perhaps); a stopped feed
    # stays stopped, so the stories read the same three days on.
    assert "reading:" in output
    assert Reading.objects.count() > readings
    assert Metric.objects.get(pk=stale.pk).last_read_at == stale.last_read_at
    # One analytics snapshot more, from that day; seeding again the same day adds none.
    assert Snapshot.objects.count() == ANALYTICS_HISTORY_WEEKS + 2
    assert Snapshot.objects.latest_done().started_at == later
    seed()
    assert Snapshot.objects.count() == ANALYTICS_HISTORY_WEEKS + 2
    statuses = _statuses(later)
    assert statuses["service-desk-ticketing", "support-tickets"] == Status.RED
    assert statuses["crm", "response-time"] == Status.AMBER
    assert statuses["print-scan-service", "support-tickets"] == Status.STALE
    assert statuses["payroll", "availability"] == Status.GREEN


def test_demo_reviews_last_quarter_held_and_this_quarter_ready(seeded):
    output = seeded
    today = timezone.localdate()
    year, quarter = quarter_of(today)
    last_year, last_quarter = previous_quarter(year, quarter)
    past = ReviewCycle.objects.get(year=last_year, quarter=last_quarter)
    current = ReviewCycle.objects.get(year=year, quarter=quarter)
    reviewable = set(reviewable_units().values_list("pk", flat=True))

    # Last quarter: held in full, every review closed with one or two decisions of every kind
    # between them, and each review's packet frozen before its meeting.
    assert past.status == CycleStatus.CLOSED
    held = list(past.reviews.prefetch_related("decisions", "action_items", "packets"))
    assert {r.unit_id for r in held} == reviewable
    for review in held:
        assert review.status == ReviewStatus.CLOSED and review.closed_at is not None
        assert 1 <= len(review.decisions.all()) <= 2, review.unit_id
        [packet] = review.packets.all()
        assert packet.status == PacketStatus.DONE and packet.html
        assert packet.generated_at.date() < review.scheduled_on
        assert timezone.localdate(review.closed_at) == review.scheduled_on
    assert set(Decision.objects.values_list("kind", flat=True)) == set(DecisionKind.values)

    # Its action items were followed through in every way: done by hand, on the backlog
    # (finished or being worked on) and not done at all.
    actions = ActionItem.objects.filter(review__cycle=past).select_related("backlog_item")
    on_backlog = [a for a in actions if a.backlog_item_id]
    assert [a for a in actions if a.done and not a.backlog_item_id]
    assert {a.backlog_item.status for a in on_backlog} == {ItemStatus.DONE, ItemStatus.IN_PROGRESS}
    assert [a for a in actions if not a.is_done and not a.backlog_item_id]
    for action in on_backlog:
        item = action.backlog_item
        assert item.source == "review_action" and item.unit_id == action.review.unit_id
        assert item.created_at > action.created_at

    # This quarter: every reviewable unit scheduled from today over the next working days,
    # no owner twice on a day, a few within the reminder's reach, none held yet.
    assert current.status == CycleStatus.SCHEDULED
    scheduled = list(current.reviews.all())
    assert {r.unit_id for r in scheduled} == reviewable
    assert all(r.status == ReviewStatus.SCHEDULED for r in scheduled)
    assert all(current.starts_on <= r.scheduled_on for r in scheduled)
    assert current.starts_on >= today
    assert (current.ends_on - current.starts_on).days < 21
    days = Counter((r.owner_id, r.scheduled_on) for r in scheduled if r.owner_id)
    assert days.most_common(1)[0][1] == 1
    horizon = today + dt.timedelta(days=PortfolioSettings.load().review_reminder_days)
    assert 1 <= sum(r.scheduled_on <= horizon for r in scheduled) < len(scheduled)

    # Packets ready for the meeting, showing last quarter's decisions and follow-through;
    # the first day's also printed.
    for review in scheduled:
        packet = review.packets.get()
        assert packet.status == PacketStatus.DONE and packet.html
        previous = packet.data["previous"]
        assert previous["cycle"] == past.label and previous["decisions"]
        followed = actions.filter(review__unit=review.unit_id)
        assert previous["actions_done"] == sum(a.is_done for a in followed)
    first_day = min(r.scheduled_on for r in scheduled)
    printed = Packet.objects.filter(review__cycle=current, pdf_at__isnull=False)
    assert set(printed.values_list("review__scheduled_on", flat=True)) == {first_day}
    assert "packet PDF" in output

    # The analytics ran after the reviews: every member of a scheduled unit has its review.
    latest = Snapshot.objects.latest_done()
    members = Product.objects.filter(unit_id__in=reviewable)
    readiness = latest.readiness.filter(product__in=members)
    assert readiness.exists() and not readiness.filter(review_scheduled=False).exists()


def test_seeding_again_records_no_review_twice(seeded):
    counts = [m.objects.count() for m in (ReviewCycle, Review, Packet, Decision, ActionItem)]

    output = seed()

    assert [m.objects.count() for m in (ReviewCycle, Review, Packet, Decision, ActionItem)] == (
        counts
    )
    assert "created: nothing" in output


def test_demo_funding_feeds_the_queue_and_the_analytics(seeded):
    year = timezone.localdate().year
    settings = PortfolioSettings.load()
    threshold = settings.governance_threshold

    # Every current unit has this year's allocation; some are funded reactively or per project.
    allocations = FundingAllocation.objects.filter(fiscal_year=year)
    units = set(OwnershipUnit.objects.current().values_list("pk", flat=True))
    assert set(allocations.values_list("unit_id", flat=True)) == units
    modes = Counter(allocations.values_list("mode", flat=True))
    assert modes[FundingMode.REACTIVE] >= 3 and modes[FundingMode.PROJECT] >= 2
    assert FundingAllocation.objects.filter(fiscal_year=year - 1).exists()

    # Every request was asked by its unit's owner; leaders decided the rest, never their own.
    requests = InvestmentRequest.objects.filter(fiscal_year=year).select_related(
        "unit__owner", "product", "requested_by", "decided_by"
    )
    leader = get_user_model().objects.get(username="leader")
    for r in requests:
        assert r.requested_by_id == r.unit.owner.user_id, r.product.slug
        if r.status in (RequestStatus.REJECTED,) or (
            r.status == RequestStatus.APPROVED and not r.auto_approved
        ):
            assert r.decided_by == leader and r.decision_reason
    approved = [r for r in requests if r.status == RequestStatus.APPROVED]
    auto = [r for r in approved if r.auto_approved]
    assert len(auto) >= 5 and all(r.amount <= threshold for r in auto)
    assert any(not r.auto_approved and r.amount > threshold for r in approved)
    assert {RequestStatus.REJECTED, RequestStatus.WITHDRAWN} <= {r.status for r in requests}
    # The leaders' queue: a few above the threshold, one below it that the capacity stops.
    waiting = [r for r in requests if r.status == RequestStatus.SUBMITTED]
    assert sum(r.amount > threshold for r in waiting) >= 3
    [over_capacity] = [r for r in waiting if r.amount <= threshold]
    assert "capacity" in over_capacity.decision_reason
    # Nobody spent more improvement money than the unit has.
    committed = defaultdict(Decimal)
    for r in approved:
        committed[r.unit_id] += r.amount
    improvement = dict(allocations.values_list("unit_id", "improvement_amount"))
    assert all(committed[u] <= improvement[u] for u in committed)

    # The analytics ran after the funding: a cluster member asking for more than the
    # threshold shows as a strategic split signal for that reason alone, with the request;
    # reactively funded units are among the candidates, with that reason.
    latest = Snapshot.objects.latest_done()
    strategic = SplitSignal.objects.filter(
        status=SignalStatus.OPEN, kind=SignalKind.STRATEGIC
    ).select_related("product")
    asking = {
        s.product.slug: s.evidence
        for s in strategic
        if "asking for investment above the governance threshold" in s.evidence["reasons"]
    }
    assert asking["hr-self-service-portal"]["reasons"] == [
        "asking for investment above the governance threshold"
    ]
    assert [Decimal(str(a["amount"])) for a in asking["hr-self-service-portal"]["requests"]] == [
        Decimal("210000.00")
    ]
    reactive_units = set(
        allocations.filter(mode=FundingMode.REACTIVE).values_list("unit_id", flat=True)
    )
    reactive = [
        c
        for c in Candidate.objects.filter(snapshot=latest, unit_id__in=reactive_units)
        if "Funded reactively: money only when something breaks" in c.reasons
    ]
    assert {c.product.slug for c in reactive} >= {"print-scan-service", "warehouse-order-interface"}

    # Seeding again writes no funding; a build that has to put funding back computes a fresh
    # snapshot, so the signals see it.
    counts = (FundingAllocation.objects.count(), InvestmentRequest.objects.count())
    seed()
    assert (FundingAllocation.objects.count(), InvestmentRequest.objects.count()) == counts
    InvestmentRequest.objects.all().delete()
    FundingAllocation.objects.all().delete()
    snapshots = Snapshot.objects.count()
    seed()
    assert (FundingAllocation.objects.count(), InvestmentRequest.objects.count()) == counts
    assert Snapshot.objects.count() == snapshots + 1
    assert Candidate.objects.filter(
        snapshot=Snapshot.objects.latest_done(), product__slug="print-scan-service"
    ).exists()


def test_every_demo_packet_gets_its_pdf_when_opened(seeded):
    """The demo prints the first review day's PDFs only (a second each); every other packet
    is printed the first time someone opens its PDF, so none answers 'not ready' for good."""
    assert not Packet.objects.exclude(status=PacketStatus.DONE).exists()
    unprinted = Packet.objects.filter(pdf_at__isnull=True).order_by("pk")
    assert unprinted.exists()
    packet = unprinted.first()
    client = Client()
    client.force_login(get_user_model().objects.filter(is_active=True).order_by("pk").first())

    first = client.get(reverse("packet-pdf", args=[packet.pk]))
    assert first.status_code == 202
    # The request queued the print; relaying it (here, as the commit or the beat would, inside
    # the module's open transaction) runs the task, eagerly under test.
    message = OutboxMessage.objects.get(key=f"packet-pdf:{packet.pk}", done_at__isnull=True)
    assert message.task == "reviews.tasks.render_pdf"
    assert outbox.relay([message.pk]) == 1
    response = client.get(reverse("packet-pdf", args=[packet.pk]))

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
