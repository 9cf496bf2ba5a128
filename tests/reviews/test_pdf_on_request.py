"""A packet never waits forever for its PDF: opening the PDF of a generated packet that was
not printed (the demo prints only the first day's; a message may be lost) queues its print
through the outbox, once, and shows a page that polls until the PDF is there."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portfolio.models import OutboxMessage
from reviews import services, tasks
from reviews.models import Packet, PacketStatus
from tests.worker import wait_for

HTMX = {"HX-Request": "true"}


def _unprinted_packet(leader, product) -> Packet:
    """A packet generated as the demo builder does it: data and HTML, no PDF."""
    today = timezone.localdate()
    cycle = services.cycle_schedule(
        actor=leader, year=today.year + 1, quarter=(today.month - 1) // 3 + 1
    ).cycle
    review = cycle.reviews.get(unit=product.unit)
    packet = Packet.objects.create(review=review, version=1, requested_by=leader)
    assert tasks.generate_packet(packet.pk, pdf=False)["status"] == "done"
    packet.refresh_from_db()
    assert packet.status == PacketStatus.DONE and packet.pdf_at is None
    return packet


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf_url(packet) -> str:
    return reverse("packet-pdf", args=[packet.pk])


@pytest.mark.django_db
def test_opening_an_unprinted_pdf_prints_it_and_the_page_ends_in_the_pdf(
    leader, viewer, product, django_capture_on_commit_callbacks
):
    packet = _unprinted_packet(leader, product)
    client = _client(viewer)

    # Opening the PDF queues the print (run at commit) and answers a page that polls.
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.get(pdf_url(packet))
    assert waiting.status_code == 202
    html = waiting.content.decode()
    assert f'hx-get="{pdf_url(packet)}" hx-trigger="every 2s"' in html
    assert "being printed now" in html
    packet.refresh_from_db()
    assert packet.pdf_at is not None  # the queued print ran (eagerly, as under test)

    # The page's next poll sends the browser to the PDF; a plain load gets the PDF.
    poll = client.get(pdf_url(packet), headers=HTMX)
    assert poll.status_code == 200
    assert poll["HX-Redirect"] == pdf_url(packet)
    pdf = client.get(pdf_url(packet))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_asking_again_while_printing_queues_nothing_more(
    leader, viewer, product, django_capture_on_commit_callbacks
):
    packet = _unprinted_packet(leader, product)
    client = _client(viewer)

    with django_capture_on_commit_callbacks() as first_relay:
        first = client.get(pdf_url(packet))
    # The relay published it (not run here: the worker would print it meanwhile).
    OutboxMessage.objects.filter(key=f"packet-pdf:{packet.pk}").update(published_at=timezone.now())
    with django_capture_on_commit_callbacks() as poll_relay:
        again = client.get(pdf_url(packet), headers=HTMX)

    assert (first.status_code, again.status_code) == (202, 202)
    assert 'id="packet-waiting"' in again.content.decode()
    assert len(first_relay) == 1
    assert poll_relay == []  # the poll publishes nothing again
    [message] = OutboxMessage.objects.filter(key=f"packet-pdf:{packet.pk}")
    assert (message.task, message.args) == (services.RENDER_PDF, [packet.pk])


@pytest.mark.django_db
def test_a_pending_packet_still_says_so_and_polls(leader, viewer, product):
    packet = _unprinted_packet(leader, product)
    pending = Packet.objects.create(review=packet.review, version=2)

    response = _client(viewer).get(pdf_url(pending))

    assert response.status_code == 409
    assert "still being put together" in response.content.decode()
    assert "every 2s" in response.content.decode()
    assert not OutboxMessage.objects.filter(key=f"packet-pdf:{pending.pk}").exists()


@pytest.mark.django_db
def test_a_failed_packet_does_not_poll(leader, viewer, product):
    packet = _unprinted_packet(leader, product)
    failed = Packet.objects.create(
        review=packet.review, version=2, status=PacketStatus.FAILED, error="Boom"
    )
    response = _client(viewer).get(pdf_url(failed))
    assert response.status_code == 409
    assert "every 2s" not in response.content.decode()


@pytest.mark.django_db
def test_the_api_pdf_prints_on_request(
    api, leader, viewer, product, django_capture_on_commit_callbacks
):
    packet = _unprinted_packet(leader, product)
    api.force_authenticate(viewer)
    url = reverse("api-review-packet-pdf", args=[packet.pk])

    with django_capture_on_commit_callbacks(execute=True):
        first = api.get(url)
    assert first.status_code == 409
    assert first.json()["rule"] == "pdf_not_ready"
    assert "being printed" in first.json()["detail"]

    second = api.get(url)
    assert second.status_code == 200
    assert second.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_review_page_links_the_pdf_of_every_generated_packet(leader, viewer, product):
    packet = _unprinted_packet(leader, product)
    response = _client(viewer).get(packet.review.get_absolute_url())
    html = response.content.decode()
    assert f'href="{pdf_url(packet)}"' in html
    assert "PDF on its way" not in html


@pytest.mark.django_db
def test_the_packet_page_has_a_way_back_and_dates_that_do_not_wrap(leader, viewer, product):
    packet = _unprinted_packet(leader, product)
    html = _client(viewer).get(reverse("packet-detail", args=[packet.pk])).content.decode()

    review = packet.review
    assert f'<a href="{review.get_absolute_url()}">The review of Payroll</a>' in html
    assert f'<a href="{review.cycle.get_absolute_url()}">' in html
    assert "@media screen { body { margin: 1.5rem auto;" in html
    assert "@media print { nav.back { display: none; } }" in html
    day = review.scheduled_on.isoformat()
    assert f'<time class="date" datetime="{day}">{day}</time>' in html
    assert "time.date, .date-time { white-space: nowrap; }" in html


@pytest.mark.worker
def test_a_real_worker_prints_the_pdf_a_request_asked_for(worker, leader, viewer, product):
    with transaction.atomic():
        packet = _unprinted_packet(leader, product)
    client = _client(viewer)

    waiting = client.get(pdf_url(packet))
    assert waiting.status_code == 202

    wait_for(
        lambda: Packet.objects.filter(pk=packet.pk, pdf_at__isnull=False).exists(),
        90,
        "the PDF was not printed",
        worker["log"],
    )
    pdf = client.get(pdf_url(packet))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert "reviews.tasks.render_pdf" in worker["log"].read_text()
    message = OutboxMessage.objects.get(key=f"packet-pdf:{packet.pk}")
    wait_for(
        lambda: OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=False).exists(),
        30,
        "the outbox message was not marked done",
        worker["log"],
    )
