"""Every change records exactly one event, in the same transaction, whichever way it comes:
a page, the API, the bulk upsert, readings ingest or a background job. A refused write
records none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from analytics import services as analytics_services
from analytics.compute import EVENT_JOB, run_snapshot
from backlog import services as backlog_services
from funding import services as funding_services
from metrics import services as metric_services
from portfolio.events import EVENT_TYPES, record
from portfolio.models import Event, PortfolioSettings
from portfolio.services import portfolio_settings_update
from products import services as product_services
from products.models import Product
from reviews import services as review_services
from tests.backlog.factories import make_backlog
from tests.conftest import api_as
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


class Recorded:
    """The events recorded since it was made."""

    def __init__(self) -> None:
        self.mark = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def all(self) -> list[Event]:
        return list(Event.objects.filter(id__gt=self.mark).order_by("id"))

    def types(self) -> list[str]:
        return [e.type for e in self.all()]

    def one(self) -> Event:
        events = self.all()
        assert len(events) == 1, [e.type for e in events]
        return events[0]


def api_body(user, path: str) -> dict:
    response = api_as(user).get(path)
    assert response.status_code == 200
    return response.json()


# --- Through the API, a page and the bulk upsert --------------------------------------------


def test_an_api_edit_records_one_event_with_the_change_and_the_body(leader, product):
    seen = Recorded()

    response = api_as(leader).patch(
        f"/api/v1/products/{product.pk}/", {"description": "Pays everyone."}, format="json"
    )

    assert response.status_code == 200
    event = seen.one()
    assert (event.type, event.object_type, event.object_id) == (
        "product.updated",
        "product",
        product.pk,
    )
    assert (event.actor_id, event.actor_name, event.job) == (leader.pk, "leader", "")
    assert event.changed == {"description": [product.description, "Pays everyone."]}
    assert event.data == api_body(leader, f"/api/v1/products/{product.pk}/")
    assert event.position is None  # given at commit


def test_a_page_transition_records_one_transitioned_event(client, owner, product):
    client.force_login(owner)
    seen = Recorded()

    response = client.post(
        reverse("product-transition", args=[product.slug]),
        {"to_stage": "growth", "reason": "Reinvesting in new capabilities."},
    )

    assert response.status_code == 302
    event = seen.one()
    assert event.type == "product.transitioned"
    assert event.actor_id == owner.pk
    assert event.changed == {"lifecycle_stage": [product.lifecycle_stage, "growth"]}
    assert event.data["lifecycle_stage"] == "growth"


def test_a_refused_write_records_nothing(owner, viewer, product):
    seen = Recorded()

    forbidden = api_as(viewer).patch(
        f"/api/v1/products/{product.pk}/", {"description": "Mine now."}, format="json"
    )
    bad = api_as(owner).patch(f"/api/v1/products/{product.pk}/", {"kind": "nope"}, format="json")
    refused = api_as(owner).post(
        f"/api/v1/products/{product.pk}/transition/", {"to_stage": "retired"}, format="json"
    )

    assert (forbidden.status_code, bad.status_code) == (403, 400)
    assert refused.status_code in (400, 409)
    assert seen.all() == []


def test_a_write_that_rolls_back_takes_its_event_with_it(leader, product):
    seen = Recorded()

    with pytest.raises(RuntimeError), transaction.atomic():
        product_services.product_update(actor=leader, product=product, description="Gone soon.")
        assert seen.types() == ["product.updated"]
        raise RuntimeError("the caller fails after the service")

    assert seen.all() == []


def test_saving_without_a_change_records_nothing(leader, product):
    seen = Recorded()

    product_services.product_update(actor=leader, product=product, name=product.name)

    assert seen.all() == []


BULK = "/api/v1/products/bulk-upsert/"


def _row(ext_id: str, **fields) -> dict:
    return {"external_id": {"source": "cmdb", "id": ext_id}, **fields}


def test_the_bulk_upsert_records_one_event_per_product_it_changes_and_none_for_the_rest(leader):
    client = api_as(leader)
    seen = Recorded()
    rows = [_row("A", name="Alpha"), _row("B", name="Beta")]
    assert client.post(BULK, {"rows": rows}, format="json").status_code == 200
    created = seen.all()
    assert [e.type for e in created] == ["product.created", "product.created"]
    alpha = Product.objects.get(name="Alpha")
    assert created[0].object_id == alpha.pk
    assert created[0].data == api_body(leader, f"/api/v1/products/{alpha.pk}/")

    again = Recorded()
    assert client.post(BULK, {"rows": rows}, format="json").json()["unchanged"] == 2
    assert again.all() == []

    changed = Recorded()
    rows[1]["description"] = "Now described."
    assert client.post(BULK, {"rows": rows}, format="json").json()["updated"] == 1
    event = changed.one()
    assert (event.type, event.actor_id) == ("product.updated", leader.pk)
    assert event.changed == {"description": ["", "Now described."]}
    assert event.data["description"] == "Now described."


def test_the_bulk_upsert_makes_new_products_bodies_as_their_endpoint_answers_them(leader):
    """The created products' bodies are made from the rows just written, not read back: each
    equals what the product's own endpoint answers, with a team, an owner (with and without a
    login), a project end date and text the database keeps as sent."""
    from tests.portfolio.factories import TeamFactory

    team = TeamFactory(slug="people-systems")
    with_login = PersonFactory(email="ana@example.org")
    without_login = PersonFactory(email="bo@example.org", user=None)
    rows = [
        _row("A", name="  Alpha  ", team=team.slug, owner="ANA@example.org", strategic=True),
        _row(
            "B",
            name="Beta ü",
            management_model="project",
            project_end_date="2027-03-31",
            owner=without_login.email,
            description='Line one\r\nline "two"\ttab',
            user_count=12,
        ),
        _row("C", name="Gamma", kind="platform", criticality="high", lifecycle_stage="growth"),
    ]
    seen = Recorded()
    response = api_as(leader).post(BULK, {"rows": rows}, format="json")
    assert response.status_code == 200, response.json()
    created = seen.all()
    assert [e.type for e in created] == ["product.created"] * 3
    for event in created:
        assert event.data == api_body(leader, f"/api/v1/products/{event.object_id}/")
    assert created[0].data["owner"]["id"] == with_login.pk
    assert created[1].data["owner"]["accountable"] is True


def test_the_bulk_upsert_writes_its_events_already_placed_in_id_order(leader):
    seen = Recorded()
    rows = [_row(f"P-{n}", name=f"Placed {n}") for n in range(250)]  # the COPY path
    assert api_as(leader).post(BULK, {"rows": rows}, format="json").status_code == 200
    positions = [e.position for e in seen.all()]  # before the commit: no trigger placed them
    assert len(positions) == 250 and positions[0] is not None
    assert positions == list(range(positions[0], positions[0] + 250))


# --- Background jobs ------------------------------------------------------------------------


def test_the_analytics_run_records_a_split_signal_opening_and_clearing(leader):
    cluster = ClusterFactory(owner=PersonFactory())
    core = ProductFactory(cluster=cluster, strategic=True, name="Core")
    ProductFactory(cluster=cluster)
    seen = Recorded()

    run_snapshot(now=timezone.now() - dt.timedelta(hours=1))

    assert seen.types() == ["split_signal.opened", "analytics_run.finished"]
    opened, finished = seen.all()
    assert (opened.type, opened.actor_id, opened.job) == ("split_signal.opened", None, EVENT_JOB)
    assert opened.data["product"] == core.slug and opened.data["status"] == "open"
    assert (finished.job, finished.data["status"]) == (EVENT_JOB, "done")

    again = Recorded()
    run_snapshot(now=timezone.now() - dt.timedelta(minutes=30))
    assert again.types() == ["analytics_run.finished"]  # the same signal, refreshed: no event

    product_services.product_update(actor=leader, product=core, strategic=False)
    cleared = Recorded()
    run_snapshot(now=timezone.now())
    assert cleared.types() == ["split_signal.closed", "analytics_run.finished"]
    event = cleared.all()[0]
    assert event.changed == {"status": ["open", "cleared"]}


def test_a_packet_job_records_its_packet_as_made_by_the_job(leader, product):
    cycle = review_services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle
    review = cycle.reviews.get()
    packet = review_services.packet_request(actor=leader, review=review)
    seen = Recorded()

    assert review_services.packet_generate(packet_id=packet.pk, pdf=False) == "done"

    event = seen.one()
    assert (event.type, event.actor_id, event.job) == (
        "review_packet.generated",
        None,
        "review packet",
    )
    assert event.data["status"] == "done"


# --- Readings: one event per metric, never per reading --------------------------------------


def test_readings_record_a_status_change_once_per_metric_and_batch(owner, product):
    metric = MetricFactory(product=product)
    now = timezone.now()
    rows = [
        {"metric": metric.pk, "time": (now - dt.timedelta(minutes=m)).isoformat(), "value": 98}
        for m in range(1, 6)
    ]
    seen = Recorded()

    metric_services.readings_ingest(actor=owner, rows=rows)

    event = seen.one()
    assert event.type == "metric.status_changed"
    assert event.changed["status"] == ["no_data", "red"]
    assert event.data["status"] == "red"

    again = Recorded()
    metric_services.readings_ingest(actor=owner, rows=rows)
    assert again.all() == []  # the same readings again store nothing

    later = Recorded()
    metric_services.readings_ingest(
        actor=owner, rows=[{"metric": metric.pk, "time": now.isoformat(), "value": 97}]
    )
    event = later.one()
    assert event.type == "metric.readings_ingested"
    assert event.changed["last_value"] == [98.0, 97.0]


# --- Every family: exactly one event per change ---------------------------------------------


def test_walking_the_services_gives_one_event_per_change(leader, owner, owner_person, product):
    """Each step is one change and must record exactly the events listed, no more."""
    other_leader = UserFactory(username="second-leader", leader=True)
    settings = PortfolioSettings.load()
    settings.governance_threshold = Decimal("100.00")
    settings.save()
    items = make_backlog(product, 2)
    metric = MetricFactory(product=product)
    state: dict = {}

    def step(expected: list[str], change) -> list[Event]:
        seen = Recorded()
        state["result"] = change()
        events = seen.all()
        assert [e.type for e in events] == expected, change
        return events

    step(["person.created"], lambda: product_services.person_create(
        actor=leader, name="Nia New", email="nia@example.org"))  # fmt: skip
    person = state["result"]
    step(["person.updated"], lambda: product_services.person_update(
        actor=leader, person=person, title="Architect"))  # fmt: skip
    step(["person.departed"], lambda: product_services.person_depart(actor=leader, person=person))
    step(["team.created"], lambda: product_services.team_create(actor=leader, name="Core team"))
    team = state["result"]
    step(["team.updated"], lambda: product_services.team_update(
        actor=leader, team=team, members=[owner_person]))  # fmt: skip
    step(["cluster.created"], lambda: product_services.cluster_create(
        actor=leader, name="HR systems", owner=owner_person, reasons=["same_users"]))  # fmt: skip
    cluster = state["result"]
    step(["cluster.updated"], lambda: product_services.cluster_update(
        actor=leader, cluster=cluster, description="People things"))  # fmt: skip
    step(["product.created"], lambda: product_services.product_create(
        actor=leader, name="Leave planner", owner=owner_person))  # fmt: skip
    planner = state["result"]
    # Joining a cluster moves the product and carries its backlog items along: one event each.
    step(["product.cluster_changed", "backlog_item.updated", "backlog_item.updated"],
         lambda: product_services.product_set_cluster(
             actor=leader, product=product, cluster=cluster))  # fmt: skip
    step(["backlog_item.created"], lambda: backlog_services.backlog_item_create(
        actor=owner, product=product, title="Faster payslips"))  # fmt: skip
    step(["backlog_item.updated"], lambda: backlog_services.backlog_item_update(
        actor=owner, item=items[0], status="in_progress"))  # fmt: skip
    step(["backlog_item.moved"], lambda: backlog_services.backlog_item_move(
        actor=owner, item=items[1], position=0))  # fmt: skip
    step(["backlog_item.deleted"], lambda: backlog_services.backlog_item_delete(
        actor=owner, item=items[0]))  # fmt: skip
    step(["metric.updated"], lambda: metric_services.metric_update(
        actor=owner, metric=metric, name="Uptime"))  # fmt: skip
    step(["funding_allocation.set"], lambda: funding_services.allocation_set(
        actor=leader, unit=planner.unit, fiscal_year=2026, operations_amount="10",
        improvement_amount="5000"))  # fmt: skip
    step(["investment_request.created", "investment_request.submitted"],
         lambda: funding_services.request_create(
             actor=leader, product=planner, amount="1000", purpose="More", fiscal_year=2026,
             submit=True))  # fmt: skip
    request = state["result"]
    events = step(["investment_request.decided"], lambda: funding_services.request_approve(
        actor=other_leader, request=request, reason="Worth it"))  # fmt: skip
    assert events[0].changed == {"status": ["submitted", "approved"]}
    assert events[0].data["status"] == "approved"
    step(["settings.updated"], lambda: portfolio_settings_update(
        actor=leader, max_stable_units=4))  # fmt: skip
    step(["review_cycle.scheduled"], lambda: review_services.cycle_schedule(
        actor=leader, year=2026, quarter=4))  # fmt: skip
    review = state["result"].cycle.reviews.order_by("id").first()
    step(["decision.recorded"], lambda: review_services.decision_record(
        actor=leader, review=review, kind="continue", rationale="Going well"))  # fmt: skip
    step(["action_item.created"], lambda: review_services.action_item_create(
        actor=leader, review=review, title="Write it down"))  # fmt: skip
    events = step(["review.closed"], lambda: review_services.review_close(
        actor=leader, review=review))  # fmt: skip
    assert events[0].changed == {"status": ["scheduled", "closed"]}
    step(["cluster.updated"], lambda: product_services.cluster_update(
        actor=leader, cluster=cluster, name="HR"))  # fmt: skip
    step(["analytics_run.requested"], lambda: analytics_services.analytics_request_run(
        actor=leader))  # fmt: skip
    # Every recorded type is in the registry (record() refuses any other).
    assert set(Event.objects.values_list("type", flat=True)) <= set(EVENT_TYPES)


def test_an_unknown_event_type_is_a_programming_error(product):
    with pytest.raises(LookupError):
        record("product.renamed", product, actor=None)


def test_a_large_batch_is_written_alike(leader, product):
    """From COPY_FROM events a batch goes in by COPY instead of one INSERT: same rows."""
    from portfolio.events import COPY_FROM, Entry, record_batch

    seen = Recorded()
    entries = [Entry("product.updated", product.pk, {"n": [n, n + 1]}) for n in range(COPY_FROM)]
    entries.append(Entry("cluster.deleted", 7))

    record_batch(entries, actor=leader)

    events = seen.all()
    assert len(events) == COPY_FROM + 1
    first, last = events[0], events[-1]
    assert (first.type, first.object_type, first.object_id) == (
        "product.updated",
        "product",
        product.pk,
    )
    assert (first.actor_id, first.actor_name, first.job) == (leader.pk, "leader", "")
    assert first.changed == {"n": [0, 1]}
    assert first.data == api_body(leader, f"/api/v1/products/{product.pk}/")
    assert (last.type, last.object_id, last.data) == ("cluster.deleted", 7, None)
