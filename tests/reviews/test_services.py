"""Review cycles, scheduling without double-booking, the meeting's record and its lock."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlog.models import BacklogItem
from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from reviews import services
from reviews.models import ActionItem, Decision, Review, ReviewCycle, quarter_bounds
from reviews.services import plan_dates, working_days
from tests.backlog.factories import BacklogItemFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_quarter_bounds():
    assert quarter_bounds(2026, 1) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert quarter_bounds(2026, 4) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))


@settings(max_examples=60, deadline=None)
@given(
    owners=st.lists(st.integers(min_value=0, max_value=8), min_size=0, max_size=60),
    days=st.integers(min_value=8, max_value=20),
)
def test_plan_never_double_books_and_spreads_evenly(owners, days):
    calendar = [dt.date(2026, 1, 5) + dt.timedelta(days=i) for i in range(days)]
    units = [(i, owner if owner else None) for i, owner in enumerate(owners)]
    plan = plan_dates(units, calendar)
    assert set(plan) == {u for u, _ in units}
    seen = set()
    for unit_id, owner in units:
        day, _position = plan[unit_id]
        if owner is not None:
            assert (owner, day) not in seen
            seen.add((owner, day))
    loads = [sum(1 for d, _ in plan.values() if d == day) for day in calendar]
    assert max(loads) - min(loads) <= 1


def test_plan_refuses_an_owner_with_more_units_than_days():
    calendar = working_days(dt.date(2026, 1, 5), dt.date(2026, 1, 7))
    with pytest.raises(services.Overbooked) as exc:
        plan_dates([(1, 7), (2, 7), (3, 7), (4, 7)], calendar)
    assert exc.value.owner_id == 7


def test_working_days_skip_weekends():
    days = working_days(dt.date(2026, 11, 20), dt.date(2026, 11, 24))
    assert [d.isoformat() for d in days] == ["2026-11-20", "2026-11-23", "2026-11-24"]


def test_schedule_covers_every_reviewable_unit_once(leader):
    busy = PersonFactory(name="Busy")
    own = [ProductFactory(owner=busy) for _ in range(4)]
    cluster = ClusterFactory(owner=busy)
    ProductFactory(cluster=cluster)
    ProductFactory(
        owner=PersonFactory(), management_model="project", project_end_date=dt.date(2027, 1, 1)
    )
    ProductFactory(owner=busy, lifecycle_stage="retired")
    orphan = ProductFactory(owner=None)
    result = services.cycle_schedule(
        actor=leader, year=2026, quarter=4,
        starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6),
    )  # fmt: skip
    reviews = list(result.cycle.reviews.all())
    units = {r.unit_id for r in reviews}
    assert units == {p.unit_id for p in own} | {cluster.unit.pk, orphan.unit_id}
    busy_days = [r.scheduled_on for r in reviews if r.owner_id == busy.pk]
    assert len(busy_days) == 5 and len(set(busy_days)) == 5
    assert all(dt.date(2026, 11, 2) <= d <= dt.date(2026, 11, 6) for d in busy_days)
    # Again: nothing new; a new unit gets a free day of its owner.
    again = services.cycle_schedule(actor=leader, year=2026, quarter=4)
    assert (again.created, again.existing) == (0, 6)
    late = ProductFactory(owner=PersonFactory())
    third = services.cycle_schedule(actor=leader, year=2026, quarter=4)
    assert third.created == 1
    assert Review.objects.filter(unit=late.unit).count() == 1


def test_schedule_refuses_an_owner_who_cannot_fit(leader):
    busy = PersonFactory(name="Overbooked Olga")
    for _ in range(4):
        ProductFactory(owner=busy)
    with pytest.raises(RuleViolation) as exc:
        services.cycle_schedule(
            actor=leader, year=2026, quarter=4,
            starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 4),
        )  # fmt: skip
    assert exc.value.rule == "owner_double_booked"
    assert "Overbooked Olga owns more units than Q4 2026 has working days (3)" in str(exc.value)
    assert not ReviewCycle.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"year": 2026, "quarter": 5}, "quarter"),
        ({"year": 1999, "quarter": 1}, "year"),
        (
            {
                "year": 2026,
                "quarter": 1,
                "starts_on": dt.date(2026, 3, 1),
                "ends_on": dt.date(2026, 2, 1),
            },
            "ends_on",
        ),  # fmt: skip
        (
            {
                "year": 2026,
                "quarter": 1,
                "starts_on": dt.date(2026, 3, 7),
                "ends_on": dt.date(2026, 3, 8),
            },
            "ends_on",
        ),  # a weekend only  # fmt: skip
    ],
)
def test_schedule_bad_input_names_the_field(leader, product, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        services.cycle_schedule(actor=leader, **kwargs)
    assert field in exc.value.errors


def test_only_leaders_schedule(owner, viewer, product):
    for actor in (owner, viewer):
        with pytest.raises(Forbidden):
            services.cycle_schedule(actor=actor, year=2026, quarter=4)
    assert not ReviewCycle.objects.exists()


def test_reschedule_keeps_owners_single_booked(leader):
    person = PersonFactory()
    a, b = ProductFactory(owner=person), ProductFactory(owner=person)
    cycle = services.cycle_schedule(
        actor=leader, year=2026, quarter=4,
        starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6),
    ).cycle  # fmt: skip
    first = cycle.reviews.get(unit=a.unit)
    second = cycle.reviews.get(unit=b.unit)
    with pytest.raises(RuleViolation):
        services.review_reschedule(actor=leader, review=first, scheduled_on=second.scheduled_on)
    with pytest.raises(ValidationFailed):
        services.review_reschedule(actor=leader, review=first, scheduled_on=dt.date(2027, 1, 4))
    free = next(d for d in working_days(cycle.starts_on, cycle.ends_on) if d != second.scheduled_on)
    assert (
        services.review_reschedule(actor=leader, review=first, scheduled_on=free).scheduled_on
        == free
    )


# --- The meeting's record -----------------------------------------------------------------------


@pytest.fixture
def review(leader, product):
    return services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle.reviews.get()


def test_decisions_need_a_kind_and_a_rationale_and_a_leader(leader, owner, review):
    with pytest.raises(ValidationFailed) as exc:
        services.decision_record(actor=leader, review=review, kind="grow", rationale=" ")
    assert set(exc.value.errors) == {"kind", "rationale"}
    with pytest.raises(Forbidden):
        services.decision_record(actor=owner, review=review, kind="invest", rationale="More")
    decision = services.decision_record(
        actor=leader, review=review, kind="invest", rationale=" Adoption is climbing. "
    )
    assert (decision.kind, decision.rationale, decision.decided_by) == (
        "invest",
        "Adoption is climbing.",
        leader,
    )


def test_closing_locks_decisions_and_action_items(leader, owner, review):
    with pytest.raises(RuleViolation) as exc:
        services.review_close(actor=leader, review=review)
    assert exc.value.rule == "decision_required"
    decision = services.decision_record(
        actor=leader, review=review, kind="continue", rationale="Stable and healthy."
    )
    item = services.action_item_create(actor=owner, review=review, title="Check the backups")
    assert item.owner == review.unit.owner
    with pytest.raises(Forbidden):
        services.review_close(actor=owner, review=review)
    services.review_close(actor=leader, review=review, summary="Short and sweet.")
    review.refresh_from_db()
    assert review.is_closed and review.summary == "Short and sweet."
    refusals = [
        lambda: services.decision_record(actor=leader, review=review, kind="invest", rationale="x"),
        lambda: services.decision_delete(actor=leader, decision=decision),
        lambda: services.action_item_create(actor=leader, review=review, title="Late"),
        lambda: services.action_item_delete(actor=leader, item=item),
        lambda: services.review_close(actor=leader, review=review),
        lambda: services.packet_request(actor=leader, review=review),
    ]
    for refused in refusals:
        with pytest.raises(RuleViolation) as exc:
            refused()
        assert exc.value.rule == "review_closed"
    assert Decision.objects.count() == 1 and ActionItem.objects.count() == 1
    # Follow-through is still tracked after the close.
    services.action_item_set_done(actor=owner, item=item, done=True)
    item.refresh_from_db()
    assert item.done and item.done_at is not None


def test_an_action_item_becomes_the_top_of_the_unit_backlog(leader, owner, other_owner, review):
    product = review.unit.product
    BacklogItemFactory(product=product, title="Already there")
    item = services.action_item_create(actor=leader, review=review, title="Archive old payslips")
    with pytest.raises(Forbidden):
        services.action_item_to_backlog(actor=other_owner, item=item)
    backlog_item = services.action_item_to_backlog(actor=owner, item=item)
    ordered = list(BacklogItem.objects.filter(unit=review.unit).order_by("rank"))
    assert [i.title for i in ordered] == ["Archive old payslips", "Already there"]
    assert (backlog_item.source, backlog_item.product) == ("review_action", product)
    assert "Q4 2026 review" in backlog_item.description
    item.refresh_from_db()
    assert item.backlog_item == backlog_item and not item.is_done
    with pytest.raises(RuleViolation) as exc:
        services.action_item_to_backlog(actor=owner, item=item)
    assert exc.value.rule == "already_on_backlog"
    backlog_item.status = "done"
    backlog_item.save()
    item.refresh_from_db()
    assert item.is_done


def test_a_cluster_action_goes_to_a_member_picked_or_the_first(leader, owner_person):
    cluster = ClusterFactory(owner=owner_person)
    beta = ProductFactory(cluster=cluster, name="Beta")
    alpha = ProductFactory(cluster=cluster, name="Alpha")
    review = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle.reviews.get()
    first = services.action_item_create(actor=leader, review=review, title="One")
    second = services.action_item_create(actor=leader, review=review, title="Two")
    assert services.action_item_to_backlog(actor=leader, item=first).product == alpha
    assert services.action_item_to_backlog(actor=leader, item=second, product=beta).product == beta
    third = services.action_item_create(actor=leader, review=review, title="Three")
    stranger = ProductFactory(name="Stranger")
    with pytest.raises(ValidationFailed) as exc:
        services.action_item_to_backlog(actor=leader, item=third, product=stranger)
    assert exc.value.errors == {"product": ["Stranger is not part of " + cluster.name + "."]}


def test_cycle_close_waits_for_every_review(leader, review):
    with pytest.raises(RuleViolation) as exc:
        services.cycle_close(actor=leader, cycle=review.cycle)
    assert exc.value.rule == "reviews_open"
    services.decision_record(actor=leader, review=review, kind="continue", rationale="Fine.")
    services.review_close(actor=leader, review=review)
    assert services.cycle_close(actor=leader, cycle=review.cycle).status == "closed"
    with pytest.raises(RuleViolation):
        services.cycle_schedule(actor=leader, year=2026, quarter=4)


def test_plan_is_deterministic():
    calendar = working_days(dt.date(2026, 11, 2), dt.date(2026, 11, 27))
    units = [(i, random.Random(i).randint(1, 5)) for i in range(40)]
    assert plan_dates(units, calendar) == plan_dates(list(reversed(units)), calendar)
