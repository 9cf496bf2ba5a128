"""Work that was committed is never lost, and never done twice (issue 13).

Real processes: a Redis of the test's own that the test stops and starts (without persistence,
so what it held is lost), Celery workers the test starts and SIGKILLs, and the outbox's
reconciler run as beat would run it. "Exactly once" is counted from the workers' logs (each
packet logs once it is committed as generated, once as printed) and from the mail written,
not read from a status alone.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio.models import OutboxMessage
from products.models import Person
from reviews import services
from reviews.models import Packet, PacketStatus
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.reliability.conftest import settle
from tests.worker import wait_for

pytestmark = pytest.mark.worker

GENERATED = r"Packet (\d+) generated"
PRINTED = r"Packet (\d+) printed"


def _cycle_of(units: int):
    leader = UserFactory(username="helena", email="helena@example.org", leader=True)
    for n in range(units):
        ProductFactory(name=f"System {n}", owner=PersonFactory(name=f"Owner {n}"))
    cycle = services.cycle_schedule(actor=leader, year=2026, quarter=4).cycle
    assert cycle.reviews.count() == units
    return leader, cycle


def _all_ready_once(workers, packet_ids) -> bool:
    ready = Packet.objects.filter(
        pk__in=packet_ids, status=PacketStatus.DONE, pdf_at__isnull=False
    ).count()
    return (
        ready == len(packet_ids) and not OutboxMessage.objects.filter(done_at__isnull=True).exists()
    )


def _assert_each_once(workers, packet_ids, lost_with_the_kill: int = 0) -> None:
    """Each packet generated and printed once. A SIGKILL landing between a commit and its log
    line takes that one line with it (the database already holds the packet, which no later
    delivery touches again); `lost_with_the_kill` allows that many such silent lines."""
    for pattern in (GENERATED, PRINTED):
        counts = workers.count(pattern)
        assert set(counts) <= set(packet_ids), workers.logs()
        assert all(n == 1 for n in counts.values()), f"done twice: {counts}\n{workers.logs()}"
        assert len(packet_ids) - len(counts) <= lost_with_the_kill, workers.logs()


def test_packets_asked_for_while_redis_is_down_are_made_once_it_is_back(private_redis, workers):
    # given a cycle of four reviews, a worker, and Redis gone
    leader, cycle = _cycle_of(4)
    workers.start()
    private_redis.stop()

    # when the leader generates the cycle's packets through the API...
    api = APIClient()
    api.force_authenticate(leader)
    response = api.post(reverse("api-review-cycle-generate-packets", args=[cycle.pk]))
    # then the change is committed and answered, not a 500
    assert response.status_code == 202, response.content
    assert response.json() == {"queued": 4, "already": 0}
    packet_ids = list(Packet.objects.values_list("pk", flat=True))
    assert len(packet_ids) == 4
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 4

    # ...and asks again from the page, still without Redis: answered, nothing new made
    page = Client()
    page.force_login(leader)
    again = page.post(reverse("review-cycle-packets", args=[cycle.pk]))
    assert again.status_code == 302
    assert Packet.objects.count() == 4 and OutboxMessage.objects.count() == 4
    # the relay stopped at the first refusal (no 4 timeouts in a row); all wait, unpublished
    assert not OutboxMessage.objects.filter(published_at__isnull=False).exists()
    assert "Publishing failed" in OutboxMessage.objects.earliest("pk").last_error

    # when Redis is back (empty) and the reconciler runs
    private_redis.start()
    settle(
        lambda: _all_ready_once(workers, packet_ids), 60, "not every packet is ready",
        workers.logs,
    )  # fmt: skip

    # then every packet was generated and printed exactly once
    _assert_each_once(workers, packet_ids)


def test_a_worker_killed_mid_fan_out_loses_no_packet(private_redis, workers):
    # given a worker going through a cycle's six packets
    leader, cycle = _cycle_of(6)
    first = workers.start()
    with transaction.atomic():
        services.cycle_generate_packets(actor=leader, cycle=cycle)
    packet_ids = list(Packet.objects.values_list("pk", flat=True))

    # when it is SIGKILLed once some of them are made, but not all
    wait_for(
        lambda: workers.count(GENERATED), 60, "the worker generated nothing", workers.directory
        / "worker-1.log",
    )  # fmt: skip
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert (
        Packet.objects.filter(status=PacketStatus.PENDING).exists()
        or Packet.objects.filter(pdf_at__isnull=True).exists()
    ), "the worker finished before it was killed; the test proves nothing"

    # and a new worker starts while the reconciler runs
    workers.start()
    settle(
        lambda: _all_ready_once(workers, packet_ids), 60, "not every packet is ready",
        workers.logs,
    )  # fmt: skip

    # then every packet was generated and printed exactly once, across both workers
    _assert_each_once(workers, packet_ids, lost_with_the_kill=1)


def test_a_departure_while_redis_is_down_is_told_once_it_is_back(private_redis, workers):
    # given a person who owns two units, and Redis gone
    leader = UserFactory(username="helena", email="helena@example.org", leader=True)
    person = PersonFactory(name="Dora Departing", user=UserFactory(username="dora"))
    ProductFactory(name="Payroll", slug="payroll", owner=person)
    cluster = ClusterFactory(name="Employee experience", slug="employee-experience", owner=person)
    ProductFactory(name="Intranet", slug="intranet", cluster=cluster)
    private_redis.stop()

    # when a leader marks her departed
    api = APIClient()
    api.force_authenticate(leader)
    response = api.patch(
        reverse("api-person-detail", args=[person.pk]), {"active": False}, format="json"
    )
    # then the departure is stored and answered
    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert not person.active and person.departed_on is not None
    (message,) = OutboxMessage.objects.all()
    assert message.published_at is None

    # when Redis is back and a worker runs; the reconciler re-sends the notice's message
    # every few seconds until it is done, and once more after (a late duplicate)
    private_redis.start()
    workers.start()
    settle(
        lambda: OutboxMessage.objects.filter(done_at__isnull=False).exists(), 60,
        "the notice was not sent", workers.logs,
    )  # fmt: skip
    OutboxMessage.objects.update(done_at=None, published_at=None)  # delivered again
    settle(
        lambda: OutboxMessage.objects.filter(done_at__isnull=False).exists(), 60,
        "the second delivery did not run", workers.logs,
    )  # fmt: skip

    # then the leaders heard of it exactly once
    (mail,) = workers.mails()
    assert "Dora Departing has left: 2 units need an owner" in mail.read_text()
    assert Person.objects.get(pk=person.pk).departure_notice_sent_at is not None
    assert workers.logs().count("notify_units_orphaned") >= 2  # it did run twice


def test_a_rolled_back_change_dispatches_nothing(private_redis, workers):
    leader, cycle = _cycle_of(3)

    # when the fan-out's transaction rolls back, the broker receives nothing
    with pytest.raises(RuntimeError), transaction.atomic():
        services.cycle_generate_packets(actor=leader, cycle=cycle)
        raise RuntimeError("the rest of the change failed")
    time.sleep(0.5)  # a publish, had there been one, is long done
    assert private_redis.queued() == 0
    assert not Packet.objects.exists() and not OutboxMessage.objects.exists()

    # while the same change committed reaches it (no worker runs, so the messages wait there)
    with transaction.atomic():
        services.cycle_generate_packets(actor=leader, cycle=cycle)
    assert private_redis.queued() == 3
