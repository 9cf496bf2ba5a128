"""The analytics as a job: one run at a time, nothing half-done, retries, a real worker, a
query count that does not grow with the portfolio, and the leaders' actions on signals."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import compute, tasks
from analytics.compute import ADVISORY_LOCK_KEY, Skipped, run_snapshot
from analytics.models import (
    Candidate,
    Readiness,
    Snapshot,
    SnapshotStatus,
    SplitSignal,
    UnitState,
)
from analytics.services import analytics_request_run, split_signal_act, split_signal_dismiss
from backlog.models import BacklogItem
from portfolio import outbox
from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from portfolio.models import OutboxMessage
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory
from tests.worker import wait_for


def _portfolio(size: int) -> None:
    for i in range(size):
        person = PersonFactory()
        cluster = ClusterFactory(owner=person)
        for stage in ("growth", "maturity"):
            product = ProductFactory(cluster=cluster, lifecycle_stage=stage, strategic=i % 2 == 0)
            BacklogItemFactory(product=product)
            MetricFactory(product=product, last_value=99.0, last_read_at=timezone.now())
        ProductFactory(owner=person if i % 3 else None)


@pytest.mark.django_db
def test_the_run_costs_the_same_queries_for_a_small_and_a_larger_portfolio():
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            run_snapshot()
        return len(ctx.captured_queries)

    # Each measured run finds signals to open and signals to refresh, at two sizes.
    _portfolio(1)
    run_snapshot()
    _portfolio(2)
    small = queries()
    _portfolio(20)
    assert queries() == small
    assert UnitState.objects.filter(snapshot=Snapshot.objects.latest_done()).count() == 23 * 2


def _other_session_holds_the_lock():
    # Django's own connection parameters, OPTIONS included: the embedded server is reached
    # through the socket folder its URL names there, not through HOST and PORT.
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    other.cursor().execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    return other


@pytest.mark.django_db
def test_a_second_run_at_the_same_time_skips_and_makes_no_snapshot():
    _portfolio(1)
    other = _other_session_holds_the_lock()
    try:
        with pytest.raises(Skipped):
            run_snapshot()
        assert tasks.compute_portfolio_analytics.apply().get() == {
            "snapshot": None,
            "status": "skipped",
        }
        assert not Snapshot.objects.exists()
    finally:
        # Released explicitly: a closed connection's backend may hold it a moment longer.
        other.cursor().execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        other.close()
    assert run_snapshot().status == SnapshotStatus.DONE
    assert Snapshot.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_run_leaves_no_rows_and_says_why():
    _portfolio(2)

    def broken(cursor, ctx):
        raise ValueError("bad rule")

    steps = [*compute.STEPS[:3], ("Broken", broken)]
    with mock.patch.object(compute, "STEPS", steps), pytest.raises(ValueError):
        run_snapshot()
    snap = Snapshot.objects.get()
    assert (snap.status, snap.error) == (SnapshotStatus.FAILED, "ValueError: bad rule")
    assert not UnitState.objects.exists()
    assert not Candidate.objects.exists() and not Readiness.objects.exists()
    assert Snapshot.objects.latest_done() is None


@pytest.mark.django_db
def test_a_transient_database_error_is_retried_on_the_same_snapshot(leader):
    _portfolio(1)
    real = compute.step_readiness
    flaky = [OperationalError("server closed the connection unexpectedly")]

    def step(cursor, ctx):
        if flaky:
            raise flaky.pop()
        real(cursor, ctx)

    snapshot = Snapshot.objects.create(started_at=timezone.now(), trigger="manual")
    steps = [(label, step if fn is real else fn) for label, fn in compute.STEPS]
    with mock.patch.object(compute, "STEPS", steps):
        result = tasks.compute_portfolio_analytics.apply(args=[snapshot.pk], throw=False).get()
    assert result == {"snapshot": snapshot.pk, "status": "done"}
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.DONE and snapshot.error == ""
    assert Snapshot.objects.count() == 1
    assert snapshot.readiness.count() == 3


@pytest.mark.django_db
def test_recompute_now_is_for_leaders_and_queues_one_run(
    leader, owner, django_capture_on_commit_callbacks
):
    with pytest.raises(Forbidden):
        analytics_request_run(actor=owner)
    with (
        mock.patch.object(outbox, "_publish") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = analytics_request_run(actor=leader)
        second = analytics_request_run(actor=leader)
    assert first == second
    assert (first.status, first.trigger, first.step_label) == ("running", "manual", "Queued")
    (message,) = OutboxMessage.objects.all()
    assert (message.task, message.args, message.kwargs) == (
        "analytics.tasks.compute_portfolio_analytics",
        [first.pk],
        {"wait": True},
    )
    publish.assert_called_once_with(message)


@pytest.mark.django_db
def test_an_unreachable_queue_leaves_the_run_queued_until_it_is_back(
    leader, django_capture_on_commit_callbacks
):
    # given a broker that refuses connections (and not the tests' eager mode)
    with (
        mock.patch.object(outbox, "_eager", return_value=False),
        mock.patch.object(outbox, "_publish", side_effect=ConnectionError("refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        snapshot = analytics_request_run(actor=leader)
    # then the request succeeded and the run waits, its message pending with the reason
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.step_label) == (SnapshotStatus.RUNNING, "Queued")
    (message,) = OutboxMessage.objects.all()
    assert message.published_at is None and message.attempts == 1
    assert "refused" in message.last_error

    # when the broker is back, the beat's relay publishes it
    with (
        mock.patch.object(outbox, "_eager", return_value=False),
        mock.patch.object(outbox, "_publish") as publish,
    ):
        assert outbox.redeliver(pending_after=0) == {"due": 1, "published": 1}
    publish.assert_called_once_with(message)
    message.refresh_from_db()
    assert message.published_at is not None and message.last_error == ""


@pytest.mark.django_db
def test_an_abandoned_run_does_not_block_a_new_request(leader, django_capture_on_commit_callbacks):
    stuck = Snapshot.objects.create(started_at=timezone.now() - dt.timedelta(hours=1))
    with (
        mock.patch.object(outbox, "_publish"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fresh = analytics_request_run(actor=leader)
    stuck.refresh_from_db()
    assert stuck.status == SnapshotStatus.FAILED
    assert fresh.pk != stuck.pk


@pytest.mark.django_db
def test_pruning_keeps_two_weeks_and_then_one_per_week():
    now = timezone.now()
    made = [
        Snapshot.objects.create(started_at=now - dt.timedelta(hours=h), status="done")
        # 6 h off the 12 h grid, so no snapshot sits on the 14-day line (where the pruning's own
        # clock, a moment later than `now`, would decide by the time of day)
        for h in range(6, 24 * 40, 12)
    ]
    tasks.prune_snapshots()
    kept = Snapshot.objects.filter(pk__in=[s.pk for s in made])
    recent = kept.filter(started_at__gte=now - dt.timedelta(days=14))
    assert recent.count() == 28
    old = kept.filter(started_at__lt=now - dt.timedelta(days=14))
    weeks = {s.started_at.isocalendar()[:2] for s in old}
    assert old.count() == len(weeks)


# --- Guided split and dismissal -----------------------------------------------------------------


@pytest.fixture
def strategic_signal(db, owner_person):
    cluster = ClusterFactory(owner=owner_person, name="Finance")
    core = ProductFactory(cluster=cluster, strategic=True, name="Ledger", slug="ledger")
    ProductFactory(cluster=cluster, name="Expenses")
    items = [BacklogItemFactory(product=core, title=f"Ledger {i}") for i in range(3)]
    BacklogItemFactory(product=ProductFactory(cluster=cluster), title="Other")
    metric = MetricFactory(product=core)
    run_snapshot()
    return SplitSignal.objects.get(), core, items, metric


def test_guided_split_moves_the_member_out_with_its_backlog_and_metrics(
    strategic_signal, leader, other_owner_person
):
    signal, core, items, metric = strategic_signal
    split_signal_act(actor=leader, signal=signal, new_owner=other_owner_person, note="Own team")
    core.refresh_from_db()
    assert core.unit.kind == "product" and core.unit.owner == other_owner_person
    moved = list(BacklogItem.objects.filter(unit=core.unit).order_by("rank"))
    assert [i.title for i in moved] == ["Ledger 0", "Ledger 1", "Ledger 2"]
    metric.refresh_from_db()
    assert metric.product == core
    signal.refresh_from_db()
    assert (signal.status, signal.new_owner, signal.closed_by) == (
        "split",
        other_owner_person,
        leader,
    )
    # The next run does not raise it again: the member is no longer in the cluster.
    run_snapshot()
    assert SplitSignal.objects.filter(status="open").count() == 0


def test_guided_split_rules(strategic_signal, owner, leader, other_owner_person):
    signal, *_ = strategic_signal
    with pytest.raises(Forbidden):
        split_signal_act(actor=owner, signal=signal, new_owner=other_owner_person)
    with pytest.raises(ValidationFailed) as exc:
        split_signal_act(actor=leader, signal=signal, new_owner=None)
    assert list(exc.value.errors) == ["new_owner"]
    gone = PersonFactory(active=False, departed_on=dt.date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        split_signal_act(actor=leader, signal=signal, new_owner=gone)
    signal.refresh_from_db()
    assert signal.status == "open"
    split_signal_act(actor=leader, signal=signal, new_owner=other_owner_person)
    with pytest.raises(RuleViolation) as exc:
        split_signal_act(actor=leader, signal=signal, new_owner=other_owner_person)
    assert exc.value.rule == "signal_not_open"


def test_a_dismissed_signal_stays_dismissed_while_the_condition_holds(strategic_signal, leader):
    signal, core, *_ = strategic_signal
    with pytest.raises(ValidationFailed):
        split_signal_dismiss(actor=leader, signal=signal, note=" ")
    split_signal_dismiss(actor=leader, signal=signal, note="Kept together on purpose")
    run_snapshot()
    signal.refresh_from_db()
    assert signal.status == "dismissed"
    assert SplitSignal.objects.count() == 1
    core.strategic = False
    core.save()
    run_snapshot()
    signal.refresh_from_db()
    assert signal.status == "cleared"


# --- A real worker behind the real broker --------------------------------------------------------


@pytest.mark.worker
def test_worker_computes_the_snapshot_a_leader_asked_for(worker):
    from tests.portfolio.factories import UserFactory

    leader = UserFactory(username="helena", leader=True)
    person = PersonFactory()
    for stage in ("growth", "growth"):
        ProductFactory(owner=person, lifecycle_stage=stage)
    snapshot = analytics_request_run(actor=leader)  # autocommit: dispatched at once

    def finished():
        snapshot.refresh_from_db()
        return snapshot.status != SnapshotStatus.RUNNING

    wait_for(finished, 90, "the snapshot did not finish", worker["log"])
    assert snapshot.status == SnapshotStatus.DONE, snapshot.error
    assert snapshot.task_id
    assert snapshot.owners.get(person=person).status == "triaging"
    assert "analytics.tasks.compute_portfolio_analytics" in worker["log"].read_text()


def test_the_leader_may_split_out_another_member(strategic_signal, leader, other_owner_person):
    signal, core, _items, _metric = strategic_signal
    expenses = signal.cluster.unit.products.get(name="Expenses")
    outsider = ProductFactory(name="Elsewhere")
    with pytest.raises(ValidationFailed) as exc:
        split_signal_act(
            actor=leader, signal=signal, new_owner=other_owner_person, product=outsider
        )
    assert exc.value.errors == {"product": ["Elsewhere is not a member of Finance."]}
    split_signal_act(actor=leader, signal=signal, new_owner=other_owner_person, product=expenses)
    expenses.refresh_from_db()
    core.refresh_from_db()
    assert expenses.unit.kind == "product" and expenses.unit.owner == other_owner_person
    assert core.unit.cluster_id == signal.cluster_id
    signal.refresh_from_db()
    assert (signal.status, signal.split_product) == ("split", expenses)
