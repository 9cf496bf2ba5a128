"""Review packets: what they hold, that they stay frozen, their PDF, the fan-out, reminders."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.compute import run_snapshot
from backlog.models import ItemStatus
from metrics.services import readings_ingest
from products.models import Product
from reviews import services, tasks
from reviews.models import Packet, PacketStatus, Review
from reviews.packets import build_packet_data, render_packet_html, render_packet_pdf
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def unit_under_review(leader, owner_person):
    """A cluster with two members, metrics with readings, a backlog, and a strategic signal."""
    cluster = ClusterFactory(owner=owner_person, name="People systems")
    payroll = ProductFactory(cluster=cluster, name="Payroll", slug="payroll", strategic=True)
    leave = ProductFactory(
        cluster=cluster, name="Leave planner", slug="leave-planner", lifecycle_stage="growth"
    )
    availability = MetricFactory(
        product=payroll, key="availability", name="Availability", unit="%",
        target=99.9, warning=99.5, critical=99.0,
    )  # fmt: skip
    MetricFactory(
        product=leave, key="support-tickets", name="Support ticket volume",
        template="support-tickets", dimension="support", unit="tickets/week", better="lower",
        target=20, warning=40, critical=60, expected_interval=dt.timedelta(weeks=1),
    )  # fmt: skip
    readings_ingest(
        actor=leader,
        rows=[
            {"metric": "payroll/availability", "time": (NOW - dt.timedelta(days=d)).isoformat(),
             "value": 99.2 + (d % 3) / 10}
            for d in range(0, 60)
        ]
        + [{"metric": "leave-planner/support-tickets", "time": NOW.isoformat(), "value": 75}],
    )  # fmt: skip
    for i in range(12):
        BacklogItemFactory(product=payroll if i % 2 else leave, title=f"Item {i}",
                           estimate=Decimal("2"))  # fmt: skip
    year, quarter = (NOW.year, (NOW.month - 1) // 3 + 1)
    last_q = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    from reviews.models import quarter_bounds

    start, _end = quarter_bounds(*last_q)
    BacklogItemFactory(
        product=leave,
        title="Done last quarter",
        dimension="support",
        status=ItemStatus.DONE,
        finished_at=timezone.make_aware(dt.datetime.combine(start, dt.time(12))),
    )
    run_snapshot()
    cycle = services.cycle_schedule(actor=leader, year=year, quarter=quarter).cycle
    review = cycle.reviews.get(unit=cluster.unit)
    return {"review": review, "payroll": payroll, "leave": leave, "metric": availability}


def test_packet_data_holds_what_the_meeting_looks_at(unit_under_review):
    data = build_packet_data(unit_under_review["review"])
    assert data["unit"]["name"] == "People systems"
    assert data["owner"]["name"] == "Olivia Owner"
    assert [m["name"] for m in data["members"]] == ["Leave planner", "Payroll"]
    assert data["members"][0]["stage_label"] == "Growth"
    assert data["members"][0]["focus"] == "Invest in new capabilities and in adoption."
    metrics = {m["name"]: m for m in data["metrics"]}
    assert metrics["Availability"]["status"] == "amber"
    assert metrics["Support ticket volume"]["status"] == "red"
    assert len(metrics["Availability"]["trend"]["buckets"]) > 20
    assert data["backlog"]["open"] == 12
    assert data["backlog"]["open_estimate"] == 24.0
    assert [t["title"] for t in data["backlog"]["top"]] == [f"Item {i}" for i in range(10)]
    assert data["backlog"]["ages"][0] == {"label": "under 30 days", "count": 12}
    assert data["backlog"]["finished_last_quarter"] == {
        "improvement": 0, "operations": 0, "support": 1,
    }  # fmt: skip
    assert data["support"]["tickets"][0]["value"] == 75
    assert data["owner_load"]["status"] == "ok"
    assert [s["kind"] for s in data["signals"]] == ["strategic"]
    assert data["signals"][0]["evidence"] == [
        "Payroll is flagged strategic: it may deserve an owner of its own."
    ]
    assert {r["product"] for r in data["readiness"]} == {"Payroll", "Leave planner"}
    assert data["previous"] is None


def test_packet_shows_the_previous_review_and_its_follow_through(leader, product):
    old = services.cycle_schedule(actor=leader, year=2026, quarter=2).cycle.reviews.get()
    services.decision_record(actor=leader, review=old, kind="optimise", rationale="Cut costs.")
    done = services.action_item_create(actor=leader, review=old, title="Drop the old server")
    services.action_item_create(actor=leader, review=old, title="Write the runbook")
    services.action_item_set_done(actor=leader, item=done, done=True)
    services.review_close(actor=leader, review=old)
    current = services.cycle_schedule(actor=leader, year=2026, quarter=3).cycle.reviews.get()
    previous = build_packet_data(current)["previous"]
    assert previous["cycle"] == "Q2 2026"
    assert previous["decisions"] == [{"kind": "Optimise", "rationale": "Cut costs."}]
    assert [(a["title"], a["done"]) for a in previous["actions"]] == [
        ("Drop the old server", True),
        ("Write the runbook", False),
    ]
    assert previous["actions_done"] == 1
    html = render_packet_html(build_packet_data(current))
    assert "Action items: 1 of 2 done" in html


def _generate(review, leader, capture):
    with capture(execute=True):
        packet = services.packet_request(actor=leader, review=review)
    packet.refresh_from_db()
    return packet


def test_a_packet_stays_frozen_when_the_data_changes(
    unit_under_review, leader, django_capture_on_commit_callbacks
):
    review = unit_under_review["review"]
    first = _generate(review, leader, django_capture_on_commit_callbacks)
    assert (first.version, first.status) == (1, PacketStatus.DONE)
    assert first.pdf_at is not None
    frozen = (first.data, first.html, bytes(first.pdf))
    Product.objects.filter(pk=unit_under_review["payroll"].pk).update(name="Payroll NG")
    readings_ingest(
        actor=leader,
        rows=[{"metric": "payroll/availability", "time": NOW.isoformat(), "value": 42.0}],
    )
    tasks.generate_packet(first.pk)  # a redelivered task changes nothing
    tasks.render_pdf(first.pk)
    first.refresh_from_db()
    assert (first.data, first.html, bytes(first.pdf)) == frozen
    assert "Payroll NG" not in first.html
    second = _generate(review, leader, django_capture_on_commit_callbacks)
    assert second.version == 2
    assert "Payroll NG" in second.html
    assert Packet.objects.filter(review=review).count() == 2  # the old version stays


def test_the_pdf_holds_the_unit_and_its_metrics(unit_under_review, tmp_path):
    html = render_packet_html(build_packet_data(unit_under_review["review"]))
    pdf = render_packet_pdf(html)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "packet.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "People systems",
        "Availability",
        "Support ticket volume",
        "Backlog health",
        "Strategic significance: Payroll",
        "target 99.9",
    ):
        assert expected in text, expected


def test_fan_out_is_idempotent_and_retries_only_failed_packets(
    leader, django_capture_on_commit_callbacks
):
    for _ in range(3):
        ProductFactory(owner=PersonFactory())
    cycle = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle
    with django_capture_on_commit_callbacks(execute=True):
        first = services.cycle_generate_packets(actor=leader, cycle=cycle)
    assert (first.queued, first.already) == (3, 0)
    assert Packet.objects.filter(status=PacketStatus.DONE, pdf_at__isnull=False).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        again = services.cycle_generate_packets(actor=leader, cycle=cycle)
    assert (again.queued, again.already) == (0, 3)
    assert Packet.objects.count() == 3
    broken = Packet.objects.first()
    Packet.objects.filter(pk=broken.pk).update(status=PacketStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        retry = services.cycle_generate_packets(actor=leader, cycle=cycle)
    assert (retry.queued, retry.already) == (1, 2)
    assert Packet.objects.filter(review=broken.review).order_by("version").values_list(
        "version", "status"
    )[::1] == [(1, "failed"), (2, "done")]


def test_fan_out_dispatches_nothing_when_it_fails(leader, django_capture_on_commit_callbacks):
    ProductFactory(owner=PersonFactory())
    cycle = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        from django.db import transaction

        with transaction.atomic():
            services.cycle_generate_packets(actor=leader, cycle=cycle)
            raise RuntimeError("the rest failed")
    assert callbacks == []
    assert not Packet.objects.exists()


def test_a_broken_packet_is_marked_failed_with_the_reason(leader, product, monkeypatch):
    review = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle.reviews.get()
    packet = Packet.objects.create(review=review, version=1)

    def boom(review):
        raise ValueError("no data")

    monkeypatch.setattr(services, "build_packet_data", boom)
    assert tasks.generate_packet(packet.pk) == {"packet": packet.pk, "status": "failed"}
    packet.refresh_from_db()
    assert (packet.status, packet.error) == (PacketStatus.FAILED, "ValueError: no data")


def test_reminders_go_once_to_owners_of_reviews_in_the_window(leader, mailoutbox):
    soon = PersonFactory(name="Sam Soon", email="sam@example.org")
    later = PersonFactory(name="Lea Later", email="lea@example.org")
    soon_unit = ProductFactory(owner=soon, name="Timesheets").unit
    later_unit = ProductFactory(owner=later, name="Canteen").unit
    cycle = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle
    Review.objects.filter(unit=soon_unit).update(scheduled_on=dt.date(2026, 11, 30))
    Review.objects.filter(unit=later_unit).update(scheduled_on=dt.date(2026, 12, 10))
    assert tasks.send_review_reminders("2026-11-25") == {"day": "2026-11-25", "sent": 1}
    (mail,) = mailoutbox
    assert mail.to == ["sam@example.org"]
    assert mail.subject == "Your Q4 2026 review of Timesheets is on Mon 30 Nov"
    assert "/reviews/" in mail.body
    assert tasks.send_review_reminders("2026-11-25")["sent"] == 0  # never twice
    assert tasks.send_review_reminders("2026-12-05")["sent"] == 1
    assert cycle.reviews.filter(reminder_sent_at__isnull=False).count() == 2


def test_the_packet_shows_funding_and_requests(leader, owner, product):
    from funding import services as funding

    review = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle.reviews.get()
    funding.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=2026,
        operations_amount="50000", improvement_amount="20000.50", mode="capacity",
    )  # fmt: skip
    funding.request_create(
        actor=owner, product=product, amount="5000.25", purpose="Self-service payslips",
        fiscal_year=2026, submit=True,
    )  # fmt: skip
    data = build_packet_data(review)["funding"]
    assert (data["mode"], data["improvement"], data["committed"], data["remaining"]) == (
        "Capacity-based",
        "20,000.50",
        "5,000.25",
        "15,000.25",
    )
    assert data["requests"][0]["purpose"] == "Self-service payslips"
    html = render_packet_html(build_packet_data(review))
    assert "15,000.25 EUR</strong> of improvement capacity left" in html
