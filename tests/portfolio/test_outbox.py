"""The outbox itself (portfolio/outbox.py), without a broker: what it records, when it
publishes, what it marks done, and what the reconciler picks up. The real-process proofs
are in tests/reliability/."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from portfolio import outbox
from portfolio.models import OutboxMessage

NOTICE = "products.tasks.notify_units_orphaned"

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    """A broker this process talks to (not the tests' eager mode); `publish` records calls."""
    with (
        mock.patch.object(outbox, "_eager", return_value=False),
        mock.patch.object(outbox, "_publish") as publish,
    ):
        yield publish


def test_enqueue_waits_for_the_commit_and_a_rollback_sends_nothing(
    broker, django_capture_on_commit_callbacks
):
    with (
        pytest.raises(RuntimeError),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        outbox.enqueue(NOTICE, 1)
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    broker.assert_not_called()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox.enqueue(NOTICE, 2)
        broker.assert_not_called()
    broker.assert_called_once_with(message)
    message.refresh_from_db()
    assert message.published_at is not None and message.attempts == 1


def test_an_unknown_task_name_is_refused():
    with pytest.raises(LookupError):
        outbox.enqueue("products.tasks.no_such_task", 1)


def test_one_open_message_per_key_published_again_when_asked_again(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox.enqueue(NOTICE, 7, outbox_key="departure:7")
    with django_capture_on_commit_callbacks(execute=True):
        again = outbox.enqueue(NOTICE, 7, outbox_key="departure:7")
    assert again.pk == first.pk and OutboxMessage.objects.count() == 1
    assert broker.call_count == 2  # asking again re-sends it, even though it was published

    OutboxMessage.objects.update(done_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        later = outbox.enqueue(NOTICE, 7, outbox_key="departure:7")
    assert later.pk != first.pk  # a done message does not swallow a new departure


def test_a_broker_failure_stops_the_relay_and_never_raises(
    broker, django_capture_on_commit_callbacks
):
    broker.side_effect = ConnectionError("refused")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for key in "abc":
            outbox.enqueue(NOTICE, 1, outbox_key=key)
    assert broker.call_count == 1  # stopped at the first refusal
    # and the next request within the backoff does not even try
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(NOTICE, 2)
    assert broker.call_count == 1
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 4


def test_the_reconciler_sends_what_is_owed_and_leaves_the_rest():
    now = timezone.now()
    old = now - dt.timedelta(hours=1)

    def message(**fields):
        return OutboxMessage.objects.create(task=NOTICE, args=[1], **fields)

    never_published = message(created_at=old)
    just_made = message(created_at=now)  # its own request's relay is still on it
    lost = message(created_at=old, published_at=old, attempts=1)
    in_flight = message(created_at=old, published_at=now, attempts=1)
    message(created_at=old, published_at=old, done_at=old, attempts=1)  # done
    message(created_at=old, published_at=old, attempts=20)  # given up

    with (
        mock.patch.object(outbox, "_eager", return_value=False),
        mock.patch.object(outbox, "_publish") as publish,
    ):
        result = outbox.redeliver(pending_after=10, published_after=600)
    assert result == {"due": 2, "published": 2}
    assert [c.args[0].pk for c in publish.call_args_list] == [never_published.pk, lost.pk]
    assert {just_made.pk, in_flight.pk}.isdisjoint(c.args[0].pk for c in publish.call_args_list)


def test_a_task_run_through_the_outbox_marks_its_message_done(
    leader, django_capture_on_commit_callbacks
):
    # eager mode runs the task at once: its success is what marks the message done
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(NOTICE, 987654)  # nobody: the task returns at once
    message.refresh_from_db()
    assert message.done_at is not None and message.published_at is not None


def test_the_command_shows_the_backlog():
    OutboxMessage.objects.create(task=NOTICE, args=[1], last_error="Publishing failed: refused")
    out = StringIO()
    call_command("outbox", "--list", "5", stdout=out)
    text = out.getvalue()
    assert "Not yet published: 1" in text and "Published, not done: 0" in text
    assert "notify_units_orphaned(1,)" in text and "refused" in text
