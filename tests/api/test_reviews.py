"""/api/v1/review-cycles/, reviews/, review-packets/, decisions/ and action-items/: scheduling
without double-booking, idempotent fan-out, frozen packets to download, decisions that stick
after close and action items that become backlog items."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse

from backlog.models import BacklogItem
from reviews.models import (
    ActionItem,
    Decision,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)
from reviews.tasks import generate_packet
from tests.api.conftest import client_for
from tests.backlog.factories import BacklogItemFactory
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

CYCLES = reverse("api-review-cycle-list")
REVIEWS = reverse("api-review-list")
PACKETS = reverse("api-review-packet-list")
DECISIONS = reverse("api-decision-list")
ACTIONS = reverse("api-action-item-list")
MONDAY = dt.date(2030, 1, 7)
FRIDAY = dt.date(2030, 1, 11)
ONE_WEEK = {"year": 2030, "quarter": 1, "starts_on": "2030-01-07", "ends_on": "2030-01-11"}


def url(name: str, pk: int) -> str:
    return reverse(name, args=[pk])


def cycle_of(
    year: int = 2030, quarter: int = 1, start: dt.date = MONDAY, end: dt.date = FRIDAY
) -> ReviewCycle:
    return ReviewCycle.objects.create(year=year, quarter=quarter, starts_on=start, ends_on=end)


def review_of(unit, cycle: ReviewCycle | None = None, day: dt.date = MONDAY, **kw) -> Review:
    return Review.objects.create(
        cycle=cycle or cycle_of(), unit=unit, owner=unit.owner, scheduled_on=day, **kw
    )


@pytest.fixture
def review(product):
    return review_of(product.unit)


@pytest.fixture
def closed_review(product, leader):
    review = review_of(product.unit)
    Decision.objects.create(review=review, kind="continue", rationale="Stable and healthy.")
    review.status = ReviewStatus.CLOSED
    review.save()
    return review


@pytest.fixture
def portfolio(owner_person, other_owner_person, product, other_product, cluster):
    """Olivia owns Payroll, the Employee experience cluster and three finance tools; Oscar owns
    the Intranet; a project needs no review."""
    ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster, owner=owner_person)
    for name in ("Ledger", "Expenses", "Invoices"):
        ProductFactory(name=name, slug=name.lower(), owner=owner_person)
    ProductFactory(
        name="Badge printing",
        slug="badge-printing",
        owner=other_owner_person,
        management_model="project",
        project_end_date=dt.date(2030, 6, 30),
    )


# --- Scheduling ----------------------------------------------------------------------------------


def test_scheduling_a_cycle_never_double_books_an_owner(leader, portfolio, owner_person):
    # when a leader schedules a one-week cycle for six units, five of them Olivia's
    response = client_for(leader).post(CYCLES, ONE_WEEK, format="json")

    # then every reviewable unit has a review, and nobody has two on a day
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == url("api-review-cycle-detail", body["id"])
    assert body["label"] == "Q1 2030"
    assert (body["starts_on"], body["ends_on"]) == ("2030-01-07", "2030-01-11")
    assert (body["created"], body["existing"]) == (6, 0)
    assert body["counts"] == {"reviews": 6, "closed": 0, "packets_ready": 0}
    days = Counter(
        Review.objects.filter(cycle_id=body["id"]).values_list("owner_id", "scheduled_on")
    )
    assert max(days.values()) == 1
    assert Counter(o for o, _ in days)[owner_person.pk] == 5
    assert all(MONDAY <= d <= FRIDAY for _, d in days)


def test_rescheduling_the_same_quarter_adds_only_the_missing_units(leader, portfolio):
    client = client_for(leader)
    first = client.post(CYCLES, ONE_WEEK, format="json").json()
    before = dict(Review.objects.values_list("unit_id", "scheduled_on"))
    newcomer = ProductFactory(name="Payslips", slug="payslips", owner=PersonFactory())

    response = client.post(CYCLES, {"year": 2030, "quarter": 1}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["id"]
    assert (body["created"], body["existing"]) == (1, 6)
    assert body["ends_on"] == "2030-01-11"  # the cycle keeps its dates
    after = dict(Review.objects.values_list("unit_id", "scheduled_on"))
    assert {k: after[k] for k in before} == before
    assert newcomer.unit_id in after

    again = client.post(CYCLES, {"year": 2030, "quarter": 1}, format="json")
    assert (again.status_code, again.json()["created"], again.json()["existing"]) == (200, 0, 7)
    assert ReviewCycle.objects.count() == 1


def test_an_owner_with_more_units_than_days_is_refused(leader, portfolio):
    response = client_for(leader).post(CYCLES, {**ONE_WEEK, "ends_on": "2030-01-10"}, format="json")

    assert response.status_code == 409
    assert response.json()["rule"] == "owner_double_booked"
    assert "ends_on" in response.json()["errors"]
    assert not ReviewCycle.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"quarter": 1}, "year"),
        ({"year": 1999, "quarter": 1}, "year"),
        ({"year": 99999999999999999999, "quarter": 1}, "year"),
        ({"year": 2030, "quarter": 5}, "quarter"),
        ({"year": 2030, "quarter": "Q1"}, "quarter"),
        ({"year": 2030, "quarter": 1, "starts_on": "2030-02-30"}, "starts_on"),
        (
            {"year": 2030, "quarter": 1, "starts_on": "2030-03-01", "ends_on": "2030-02-01"},
            "ends_on",
        ),
        # year 1 is outside the date range: the field at fault is the start itself
        (
            {"year": 2030, "quarter": 1, "starts_on": "0001-01-01", "ends_on": "2030-02-01"},
            "starts_on",
        ),
        ({"year": 2030, "quarter": 1, "ends_on": "9999-12-31"}, "ends_on"),
        (
            {"year": 2030, "quarter": 1, "starts_on": "2030-01-05", "ends_on": "2030-01-06"},
            "ends_on",
        ),
    ],
)
def test_bad_schedule_input_names_the_field(leader, portfolio, data, field):
    response = client_for(leader).post(CYCLES, data, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not ReviewCycle.objects.exists()


def test_only_leaders_schedule(owner, viewer, portfolio):
    for user in (owner, viewer):
        response = client_for(user).post(CYCLES, ONE_WEEK, format="json")
        assert response.status_code == 403
        assert response.json()["rule"] == "leader_only"


def test_a_leader_moves_a_review_but_never_onto_the_owners_busy_day(
    leader, owner, product, cluster
):
    # given Olivia's two reviews on Monday and Tuesday
    ProductFactory(cluster=cluster)
    cycle = cycle_of()
    payroll = review_of(product.unit, cycle, MONDAY)
    review_of(cluster.unit, cycle, MONDAY + dt.timedelta(days=1))
    client = client_for(leader)

    busy = client.patch(url("api-review-detail", payroll.pk), {"scheduled_on": "2030-01-08"})
    moved = client.patch(url("api-review-detail", payroll.pk), {"scheduled_on": "2030-01-10"})
    outside = client.patch(url("api-review-detail", payroll.pk), {"scheduled_on": "2030-02-10"})
    by_owner = client_for(owner).patch(
        url("api-review-detail", payroll.pk), {"scheduled_on": "2030-01-09"}
    )

    assert (busy.status_code, busy.json()["rule"]) == (409, "owner_double_booked")
    assert (moved.status_code, moved.json()["scheduled_on"]) == (200, "2030-01-10")
    assert (outside.status_code, list(outside.json()["errors"])) == (400, ["scheduled_on"])
    assert by_owner.status_code == 403


# --- Packets -------------------------------------------------------------------------------------


def test_generating_a_cycles_packets_is_idempotent(
    leader, portfolio, django_capture_on_commit_callbacks
):
    client = client_for(leader)
    cycle = client.post(CYCLES, ONE_WEEK, format="json").json()
    generate = url("api-review-cycle-generate-packets", cycle["id"])

    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = client.post(generate)
    second = client.post(generate)

    assert (first.status_code, first.json()) == (202, {"queued": 6, "already": 0})
    assert len(queued) == 1  # one on-commit fan-out of six tasks
    assert (second.status_code, second.json()) == (202, {"queued": 0, "already": 6})
    assert Packet.objects.count() == 6
    assert set(Packet.objects.values_list("version", flat=True)) == {1}


def test_an_owner_asks_for_a_packet_then_downloads_its_html_and_pdf(
    owner, viewer, review, django_capture_on_commit_callbacks
):
    # when the unit's owner asks for a packet and the workers run
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(url("api-review-packets", review.pk))

    assert response.status_code == 202
    asked = response.json()
    assert response["Location"] == url("api-review-packet-detail", asked["id"])
    assert (asked["review"], asked["version"], asked["status"]) == (review.pk, 1, "pending")

    # then everyone can read it, as metadata, HTML and PDF
    client = client_for(viewer)
    meta = client.get(url("api-review-packet-detail", asked["id"])).json()
    assert meta["status"] == "done"
    assert meta["pdf_ready"] is True
    assert meta["generated_at"] and meta["pdf_at"]
    assert meta["html_url"].endswith(url("api-review-packet-html", asked["id"]))
    assert meta["pdf_url"].endswith(url("api-review-packet-pdf", asked["id"]))

    html = client.get(meta["html_url"])
    assert html.status_code == 200
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert "Payroll" in html.content.decode()

    pdf = client.get(meta["pdf_url"])
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert 'filename="review-' in pdf["Content-Disposition"]

    review_body = client.get(url("api-review-detail", review.pk)).json()
    assert review_body["latest_packet"] == {"id": asked["id"], "version": 1, "status": "done"}
    cycle = client.get(url("api-review-cycle-detail", review.cycle_id)).json()
    assert cycle["counts"] == {"reviews": 1, "closed": 0, "packets_ready": 1}


def test_downloads_answer_409_until_they_exist(viewer, review):
    # given a packet still pending, and one generated whose PDF is not printed yet
    pending = Packet.objects.create(review=review, version=1)
    ready = Packet.objects.create(review=review, version=2)
    generate_packet(ready.pk)  # its PDF task waits for a commit that never comes here
    ready.refresh_from_db()
    assert (ready.status, ready.pdf_at) == (PacketStatus.DONE, None)
    client = client_for(viewer)

    pending_html = client.get(url("api-review-packet-html", pending.pk))
    pending_pdf = client.get(url("api-review-packet-pdf", pending.pk))
    ready_html = client.get(url("api-review-packet-html", ready.pk))
    ready_pdf = client.get(url("api-review-packet-pdf", ready.pk))
    missing = client.get(url("api-review-packet-pdf", 10**17))

    assert pending_html.status_code == 409
    assert pending_html["Content-Type"] == "application/json"
    assert pending_html.json()["rule"] == "packet_not_ready"
    assert (pending_pdf.status_code, pending_pdf.json()["rule"]) == (409, "pdf_not_ready")
    assert ready_html.status_code == 200
    assert (ready_pdf.status_code, ready_pdf.json()["code"]) == (409, "rule_violation")
    assert ready_pdf.json()["rule"] == "pdf_not_ready"
    assert set(ready_pdf.json()) == {"code", "detail", "rule"}
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    listed = client.get(PACKETS, {"review": review.pk}).json()["results"]
    assert [(p["version"], p["status"], p["pdf_ready"]) for p in listed] == [
        (2, "done", False),
        (1, "pending", False),
    ]


def test_asking_again_while_pending_returns_the_same_packet(owner, review):
    client = client_for(owner)
    first = client.post(url("api-review-packets", review.pk)).json()
    second = client.post(url("api-review-packets", review.pk)).json()
    assert first["id"] == second["id"]
    assert Packet.objects.count() == 1


def test_packets_are_asked_for_by_the_unit_owner_or_leaders_only(
    viewer, other_owner, leader, review
):
    for user, expected in ((viewer, 403), (other_owner, 403), (leader, 202)):
        response = client_for(user).post(url("api-review-packets", review.pk))
        assert response.status_code == expected


def test_a_refused_packet_request_dispatches_no_task(
    leader, closed_review, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(leader).post(url("api-review-packets", closed_review.pk))

    assert (response.status_code, response.json()["rule"]) == (409, "review_closed")
    assert callbacks == []
    assert not Packet.objects.exists()


# --- Decisions and closing -----------------------------------------------------------------------


def test_decisions_stick_once_the_review_is_closed(leader, review):
    client = client_for(leader)
    made = client.post(
        DECISIONS, {"review": review.pk, "kind": "invest", "rationale": " Adoption grows. "}
    )
    assert made.status_code == 201
    decision = made.json()
    assert (decision["kind"], decision["rationale"], decision["decided_by"]) == (
        "invest",
        "Adoption grows.",
        "leader",
    )
    assert (decision["unit"], decision["unit_name"]) == (review.unit_id, "Payroll")

    closed = client.post(url("api-review-close", review.pk), {"summary": "Invest in Q2."})
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["summary"]) == ("closed", "Invest in Q2.")
    assert closed.json()["decisions"] == 1

    again = client.post(DECISIONS, {"review": review.pk, "kind": "retire", "rationale": "No."})
    removed = client.delete(url("api-decision-detail", decision["id"]))
    twice = client.post(url("api-review-close", review.pk))
    moved = client.patch(url("api-review-detail", review.pk), {"scheduled_on": "2030-01-08"})
    packet = client.post(url("api-review-packets", review.pk))
    for response in (again, removed, twice, moved, packet):
        assert (response.status_code, response.json()["rule"]) == (409, "review_closed")
    assert Decision.objects.filter(pk=decision["id"]).exists()


def test_a_review_closes_only_with_a_decision_and_a_cycle_only_when_all_are_closed(leader, review):
    client = client_for(leader)
    cycle_close = url("api-review-cycle-close", review.cycle_id)

    assert client.post(cycle_close).json()["rule"] == "reviews_open"
    refused = client.post(url("api-review-close", review.pk))
    assert (refused.status_code, refused.json()["rule"]) == (409, "decision_required")

    Decision.objects.create(review=review, kind="continue", rationale="Fine.")
    assert client.post(url("api-review-close", review.pk)).status_code == 200
    closed = client.post(cycle_close)
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert closed.json()["counts"]["closed"] == 1
    again = client.post(CYCLES, {"year": 2030, "quarter": 1}, format="json")
    assert (again.status_code, again.json()["rule"]) == (409, "cycle_closed")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"review": None, "kind": "invest", "rationale": "x"}, "review"),
        ({"review": "", "kind": "invest", "rationale": "x"}, "review"),
        ({"review": 10**18, "kind": "invest", "rationale": "x"}, "review"),
        ({"review": 2**70, "kind": "invest", "rationale": "x"}, "review"),
        ({"review": "one", "kind": "invest", "rationale": "x"}, "review"),
        ({"review": True, "kind": "invest", "rationale": "x"}, "review"),
        ({"kind": "boost", "rationale": "x"}, "kind"),
        ({"kind": "invest", "rationale": "   "}, "rationale"),
    ],
)
def test_bad_decisions_name_the_field(leader, review, data, field):
    data = {"review": review.pk, **data} if "review" not in data else data
    response = client_for(leader).post(DECISIONS, data, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_decisions_are_for_leaders(owner, viewer, review):
    data = {"review": review.pk, "kind": "invest", "rationale": "Grow it."}
    decision = Decision.objects.create(review=review, kind="continue", rationale="Fine.")
    for user in (owner, viewer):
        client = client_for(user)
        assert client.post(DECISIONS, data).status_code == 403
        assert client.delete(url("api-decision-detail", decision.pk)).status_code == 403


# --- Action items --------------------------------------------------------------------------------


def test_the_unit_owner_records_and_tracks_action_items(owner, owner_person, review):
    client = client_for(owner)
    made = client.post(ACTIONS, {"review": review.pk, "title": "Write the runbook"})
    assert made.status_code == 201, made.json()
    item = made.json()
    assert (item["owner"], item["owner_name"], item["done"]) == (
        owner_person.pk,
        "Olivia Owner",
        False,
    )

    done = client.patch(url("api-action-item-detail", item["id"]), {"done": True})
    assert done.status_code == 200
    assert (done.json()["done"], done.json()["followed_through"]) == (True, True)
    assert done.json()["done_at"]

    assert client.delete(url("api-action-item-detail", item["id"])).status_code == 204
    assert not ActionItem.objects.exists()


def test_after_close_action_items_are_locked_but_follow_through_still_counts(owner, closed_review):
    item = ActionItem.objects.create(review=closed_review, title="Retire the old export")
    client = client_for(owner)

    created = client.post(ACTIONS, {"review": closed_review.pk, "title": "Another one"})
    removed = client.delete(url("api-action-item-detail", item.pk))
    done = client.patch(url("api-action-item-detail", item.pk), {"done": True})

    assert (created.status_code, created.json()["rule"]) == (409, "review_closed")
    assert (removed.status_code, removed.json()["rule"]) == (409, "review_closed")
    assert (done.status_code, done.json()["done"], done.json()["locked"]) == (200, True, True)


def test_an_action_item_becomes_the_top_of_the_units_backlog(owner, product, closed_review):
    # given a backlog with two items, and an action of a closed review
    older = [BacklogItemFactory(product=product, via_service=True) for _ in range(2)]
    item = ActionItem.objects.create(review=closed_review, title="Automate payslip export")
    client = client_for(owner)

    response = client.post(url("api-action-item-to-backlog", item.pk), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    created = BacklogItem.objects.get(pk=body["backlog_item"])
    assert response["Location"] == url("api-backlog-item-detail", created.pk)
    assert (body["action_item"], body["unit"], body["product"]) == (
        item.pk,
        product.unit_id,
        "payroll",
    )
    assert (created.title, created.source) == ("Automate payslip export", "review_action")
    top = BacklogItem.objects.filter(unit_id=product.unit_id).order_by("rank").first()
    assert top == created
    assert all(
        created.rank < o.rank for o in BacklogItem.objects.filter(pk__in=[o.pk for o in older])
    )

    # and the action shows what it became; a second time is refused
    shown = client.get(url("api-action-item-detail", item.pk)).json()
    assert (shown["backlog_item"], shown["backlog_item_status"]) == (created.pk, "proposed")
    again = client.post(url("api-action-item-to-backlog", item.pk))
    assert (again.status_code, again.json()["rule"]) == (409, "already_on_backlog")
    done = client.get(ACTIONS, {"followed_through": "false"}).json()["results"]
    assert [r["id"] for r in done] == [item.pk]


def test_to_backlog_takes_a_member_of_the_unit_only(owner, product, other_product, review):
    item = ActionItem.objects.create(review=review, title="Check the interface")
    response = client_for(owner).post(
        url("api-action-item-to-backlog", item.pk), {"product": other_product.slug}
    )
    unknown = client_for(owner).post(
        url("api-action-item-to-backlog", item.pk), {"product": "nowhere"}
    )
    assert (response.status_code, list(response.json()["errors"])) == (400, ["product"])
    assert (unknown.status_code, list(unknown.json()["errors"])) == (400, ["product"])


def test_viewers_and_other_owners_may_not_touch_action_items(viewer, other_owner, review):
    item = ActionItem.objects.create(review=review, title="Write the runbook")
    for user in (viewer, other_owner):
        client = client_for(user)
        assert client.post(ACTIONS, {"review": review.pk, "title": "Mine"}).status_code == 403
        assert (
            client.patch(url("api-action-item-detail", item.pk), {"done": True}).status_code == 403
        )
        assert client.delete(url("api-action-item-detail", item.pk)).status_code == 403
        assert client.post(url("api-action-item-to-backlog", item.pk)).status_code == 403
    assert not ActionItem.objects.get(pk=item.pk).done


@pytest.mark.parametrize(
    "data, field",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "A", "owner": 10**17}, "owner"),
        ({"title": "A", "owner": -1}, "owner"),
        ({"title": "A", "due_on": "2030-13-01"}, "due_on"),
        ({"title": "A", "review": 0}, "review"),
    ],
)
def test_bad_action_items_name_the_field(owner, review, data, field):
    response = client_for(owner).post(ACTIONS, {"review": review.pk, **data}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


# --- Lists, filters, query counts ----------------------------------------------------------------


@pytest.fixture
def two_cycles(owner_person, other_owner_person, product, other_product):
    """Q4 2029 closed with decisions and actions; Q1 2030 open."""
    past = cycle_of(2029, 4, dt.date(2029, 10, 1), dt.date(2029, 12, 31))
    now = cycle_of()
    old = review_of(product.unit, past, dt.date(2029, 11, 5), status=ReviewStatus.CLOSED)
    Decision.objects.create(review=old, kind="optimise", rationale="Cut cost.")
    ActionItem.objects.create(review=old, title="Cut licences", owner=owner_person, done=True)
    other = review_of(other_product.unit, now, MONDAY)
    Decision.objects.create(review=other, kind="invest", rationale="Grow.")
    ActionItem.objects.create(review=other, title="Survey users", owner=other_owner_person)
    mine = review_of(product.unit, now, FRIDAY)
    return {"past": past, "now": now, "old": old, "other": other, "mine": mine}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_review_filters(viewer, two_cycles, owner_person, product):
    c, client = two_cycles, client_for(viewer)
    assert ids(client.get(REVIEWS)) == [c["other"].pk, c["mine"].pk, c["old"].pk]
    assert ids(client.get(REVIEWS, {"cycle": c["now"].pk})) == [c["other"].pk, c["mine"].pk]
    assert ids(client.get(REVIEWS, {"unit": product.unit_id})) == [c["mine"].pk, c["old"].pk]
    assert ids(client.get(REVIEWS, {"owner": owner_person.pk, "status": "closed"})) == [c["old"].pk]
    assert ids(client.get(REVIEWS, {"from": "2030-01-08", "to": "2030-01-11"})) == [c["mine"].pk]
    assert ids(client.get(REVIEWS, {"updated_since": "2999-01-01T00:00Z"})) == []
    row = client.get(url("api-review-detail", c["old"].pk)).json()
    assert row == {
        "id": c["old"].pk,
        "cycle": c["past"].pk,
        "cycle_label": "Q4 2029",
        "unit": product.unit_id,
        "unit_name": "Payroll",
        "owner": owner_person.pk,
        "owner_name": "Olivia Owner",
        "scheduled_on": "2029-11-05",
        "position": 0,
        "status": "closed",
        "closed_at": None,
        "summary": "",
        "latest_packet": None,
        "decisions": 1,
        "action_items": 1,
        "updated_at": row["updated_at"],
        "version": 1,
    }


def test_decision_action_packet_and_cycle_filters(viewer, two_cycles, product, other_owner_person):
    c, client = two_cycles, client_for(viewer)
    Packet.objects.create(review=c["mine"], version=1, status=PacketStatus.FAILED, error="x")
    failed = Packet.objects.create(review=c["mine"], version=2, status=PacketStatus.DONE)
    assert ids(client.get(CYCLES)) == [c["now"].pk, c["past"].pk]
    assert ids(client.get(CYCLES, {"year": 2029})) == [c["past"].pk]
    decisions = client.get(DECISIONS, {"cycle": c["now"].pk})
    assert [d["kind"] for d in decisions.json()["results"]] == ["invest"]
    assert len(ids(client.get(DECISIONS, {"kind": ["optimise", "retire"]}))) == 1
    assert len(ids(client.get(DECISIONS, {"unit": product.unit_id}))) == 1
    assert len(ids(client.get(DECISIONS, {"review": c["old"].pk}))) == 1
    assert len(ids(client.get(ACTIONS, {"done": "true"}))) == 1
    assert len(ids(client.get(ACTIONS, {"owner": other_owner_person.pk, "done": "0"}))) == 1
    assert len(ids(client.get(ACTIONS, {"unit": product.unit_id, "review": c["old"].pk}))) == 1
    assert ids(client.get(PACKETS, {"cycle": c["now"].pk, "status": "done"})) == [failed.pk]
    assert len(ids(client.get(PACKETS, {"review": c["mine"].pk}))) == 2


@pytest.mark.parametrize(
    "path, params",
    [
        (REVIEWS, {"cycle": "x"}),
        (REVIEWS, {"unit": "99999999999999999999"}),
        (REVIEWS, {"status": "open"}),
        (REVIEWS, {"from": "2030-02-30"}),
        (REVIEWS, {"to": "2030-01-01", "from": "2030-02-01"}),
        (REVIEWS, {"updated_since": "yesterday"}),
        (CYCLES, {"year": "1800"}),
        (CYCLES, {"status": "done"}),
        (PACKETS, {"status": "ready"}),
        (PACKETS, {"review": "-1"}),
        (DECISIONS, {"kind": "boost"}),
        (DECISIONS, {"cycle": "1.5"}),
        (ACTIONS, {"done": "yes"}),
        (ACTIONS, {"followed_through": "maybe"}),
        (ACTIONS, {"owner": "ana"}),
    ],
)
def test_bad_filters_answer_400_naming_the_filter(viewer, path, params):
    response = client_for(viewer).get(path, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) & set(params)


def test_huge_ids_in_paths_are_404(viewer):
    client = client_for(viewer)
    for name in ("api-review-detail", "api-review-packet-pdf", "api-action-item-detail"):
        assert client.get(url(name, 1).replace("/1/", "/99999999999999999999/")).status_code == 404


def _portfolio_of(size: int) -> None:
    cycle = cycle_of()
    for i in range(size):
        person = PersonFactory()
        product = ProductFactory(owner=person)
        review = review_of(product.unit, cycle, MONDAY + dt.timedelta(days=i % 5))
        Packet.objects.create(review=review, version=1, status=PacketStatus.DONE)
        Packet.objects.create(review=review, version=2)
        Decision.objects.create(review=review, kind="continue", rationale="Fine.")
        ActionItem.objects.create(review=review, title=f"Act {i}", owner=person)


@pytest.mark.parametrize("size", [2, 7])
@pytest.mark.parametrize("path", [CYCLES, REVIEWS, PACKETS, DECISIONS, ACTIONS])
def test_list_query_count_is_flat(size, path, viewer, django_assert_num_queries):
    _portfolio_of(size)
    client = client_for(viewer)

    with django_assert_num_queries(2):  # the count and the page
        response = client.get(path, {"page_size": 100})

    expected = {CYCLES: 1, PACKETS: 2 * size}.get(path, size)
    assert response.json()["count"] == expected
