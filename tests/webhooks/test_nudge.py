"""The on-commit nudge: one per transaction that recorded events, none for a rollback, none
when no endpoint listens, and none at all when Celery runs eagerly (nothing to publish to)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import transaction

from portfolio.celery import app as celery_app
from products.services import product_update
from tests.webhooks.conftest import make_endpoint
from webhooks import nudge

pytestmark = pytest.mark.django_db


@pytest.fixture
def listening(db):
    return make_endpoint("http://127.0.0.1:9/hook")


@pytest.fixture
def not_eager():
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    nudge._last = 0.0
    with mock.patch.object(celery_app, "send_task") as send_task:
        yield send_task
    celery_app.conf.task_always_eager = saved


def test_one_nudge_per_committed_transaction(
    leader, product, listening, not_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            product_update(actor=leader, product=product, description=f"v{n}")

    assert not_eager.call_count == 1
    assert not_eager.call_args.args == (nudge.TICK_TASK,)


def test_no_nudge_for_a_rolled_back_transaction(
    leader, product, listening, not_eager, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        product_update(actor=leader, product=product, description="Never")
        raise RuntimeError

    assert not_eager.call_count == 0


def test_no_callback_at_all_when_eager(leader, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        product_update(actor=leader, product=product, description="Eager")
    assert nudge._publish not in callbacks


def test_no_nudge_when_no_active_endpoint_listens(
    leader, product, listening, not_eager, django_capture_on_commit_callbacks
):
    listening.active = False
    listening.save()
    with django_capture_on_commit_callbacks(execute=True):
        product_update(actor=leader, product=product, description="Nobody hears")

    assert not_eager.call_count == 0


def test_the_nudge_asks_the_database_once_then_the_cache(
    leader, product, listening, not_eager, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        assert nudge._anyone_listening() is True
    with CaptureQueriesContext(connection) as second:
        assert nudge._anyone_listening() is True

    assert ["webhooks_endpoint" in q["sql"] for q in first.captured_queries] == [True]
    assert second.captured_queries == []


def test_a_new_endpoint_is_heard_at_once_after_nobody_listened(
    leader, product, not_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        product_update(actor=leader, product=product, description="Nobody yet")
    assert not_eager.call_count == 0
    assert nudge._anyone_listening() is False  # the answer is kept

    make_endpoint("http://127.0.0.1:9/hook")
    nudge._last = 0.0  # past the once-a-second limit
    nudge._publish()  # the next commit's callback

    assert not_eager.call_count == 1


def test_a_deleted_endpoint_is_forgotten(leader, listening, not_eager):
    assert nudge._anyone_listening() is True
    listening.delete()
    assert nudge._anyone_listening() is False
