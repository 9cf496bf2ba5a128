"""The departure notice: what it sends, that it waits for the commit, and that a real worker
runs it from the real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from email import message_from_string
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from portfolio import tasks
from portfolio.celery import app as celery_app
from portfolio.services import person_depart
from portfolio.tasks import dispatch_departure_notice, notify_units_orphaned
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.worker

BASE_DIR = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def leader(db):
    return UserFactory(username="helena", email="helena@example.org", leader=True)


@pytest.fixture
def departing(db):
    """Dora owns a product of her own and a cluster with two members."""
    person = PersonFactory(name="Dora Departing", user=UserFactory(username="dora"))
    ProductFactory(name="Payroll", slug="payroll", owner=person)
    cluster = ClusterFactory(name="Employee experience", slug="employee-experience", owner=person)
    ProductFactory(name="Intranet", slug="intranet", cluster=cluster)
    ProductFactory(name="HR portal", slug="hr-portal", cluster=cluster)
    return person


# --- The task itself ---------------------------------------------------------------------


def test_notice_lists_the_orphaned_units_to_every_leader(leader, departing, mailoutbox):
    UserFactory(username="second-leader", email="second@example.org", leader=True)
    UserFactory(username="not-a-leader", email="viewer@example.org")
    person_depart(actor=leader, person=departing)

    result = notify_units_orphaned(departing.pk)

    assert result == {"person": departing.pk, "units": 2, "sent": 1}
    (mail,) = mailoutbox
    assert sorted(mail.to) == ["helena@example.org", "second@example.org"]
    assert mail.subject == "Dora Departing has left: 2 units need an owner"
    assert "- Payroll: /products/payroll/" in mail.body
    assert "- Employee experience (HR portal, Intranet):" in mail.body


def test_notice_links_are_absolute_when_the_site_url_is_known(
    leader, departing, mailoutbox, settings
):
    settings.SITE_URL = "https://portfolio.example.org/"
    person_depart(actor=leader, person=departing)

    notify_units_orphaned(departing.pk)

    assert "- Payroll: https://portfolio.example.org/products/payroll/" in mailoutbox[0].body


def test_notice_is_safe_to_run_again_once_things_changed(leader, departing, mailoutbox):
    """Re-running reads the current state: a reassigned owner or a return sends nothing."""
    from portfolio.services import person_update
    from products.services import unit_assign_owner

    person_depart(actor=leader, person=departing)
    successor = PersonFactory(name="Sam Successor")
    for unit in departing.units.all():
        unit_assign_owner(actor=leader, unit=unit, owner=successor)
    assert notify_units_orphaned(departing.pk)["sent"] == 0

    person_update(actor=leader, person=departing, active=True)
    assert notify_units_orphaned(departing.pk)["sent"] == 0
    assert notify_units_orphaned(987654321)["sent"] == 0
    assert mailoutbox == []


def test_no_leader_with_an_email_means_no_mail(departing, mailoutbox):
    actor = UserFactory(username="root", email="", is_superuser=True)
    person_depart(actor=actor, person=departing)

    assert notify_units_orphaned(departing.pk) == {"person": departing.pk, "units": 2, "sent": 0}
    assert mailoutbox == []


def test_database_outage_is_retried_and_other_errors_are_not(leader, departing, mailoutbox):
    from django.db import OperationalError

    person_depart(actor=leader, person=departing)
    flaky = [OperationalError("server closed the connection")]

    def leader_emails():
        if flaky:
            raise flaky.pop(0)
        return ["helena@example.org"]

    with mock.patch.object(tasks, "leader_emails", side_effect=leader_emails) as emails:
        # throw=False: let apply() run the retries itself, as a worker would
        result = notify_units_orphaned.apply(args=[departing.pk], throw=False).get()
    assert emails.call_count == 2
    assert result["sent"] == 1
    assert len(mailoutbox) == 1

    with (
        mock.patch.object(tasks, "leader_emails", side_effect=ValueError("a bug")) as emails,
        pytest.raises(ValueError),
    ):
        notify_units_orphaned.apply(args=[departing.pk], throw=False).get()
    assert emails.call_count == 1


# --- Dispatch on commit ------------------------------------------------------------------


def test_committed_departure_dispatches_one_notice(
    leader, departing, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(tasks, "notify_units_orphaned") as task,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        person_depart(actor=leader, person=departing)
        dispatch_departure_notice(departing)
        dispatch_departure_notice(departing)  # asked twice, queued once
        task.delay.assert_not_called()  # nothing before the commit

    assert len(callbacks) == 1
    task.delay.assert_called_once_with(departing.pk)


def test_failed_departure_dispatches_nothing(leader, departing, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(tasks, "notify_units_orphaned") as task,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        person_depart(actor=leader, person=departing)
        dispatch_departure_notice(departing)
        raise RuntimeError("the rest of the change failed")

    assert callbacks == []
    task.delay.assert_not_called()
    departing.refresh_from_db()
    assert departing.active


# --- A real worker behind the real broker --------------------------------------------------


def _database_url(db: dict) -> str:
    """The URL of the database this test runs in, for a process outside pytest."""
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    netloc = f"{auth}@{db.get('HOST') or ''}" + (f":{db['PORT']}" if db.get("PORT") else "")
    socket_dir = (db.get("OPTIONS") or {}).get("host")
    query = f"?host={quote(socket_dir, safe='')}" if socket_dir else ""
    return f"postgres://{netloc}/{quote(db['NAME'], safe='')}{query}"


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout:.0f} s; worker log:\n{log.read_text()}")


@pytest.fixture
def broker_url() -> str:
    return settings.CELERY_BROKER_URL or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def worker(transactional_db, tmp_path, broker_url):
    """A celery worker in its own process, on a queue of its own, seeing this test's database
    and writing mail to files; this process publishes to that queue instead of running eagerly."""
    queue = f"test-departure-{uuid.uuid4().hex[:12]}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "TESTING": "1",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": f"filemail:///{outbox}",  # four slashes in all: an absolute path
        "DEFAULT_FROM_EMAIL": "portfolio@example.org",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "portfolio", "worker",
        "--pool=solo", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    publish_to_worker = {
        "task_always_eager": False,
        "broker_url": broker_url,
        "task_default_queue": queue,
    }
    saved = {key: celery_app.conf.get(key) for key in publish_to_worker}

    def reconfigure(conf: dict) -> None:
        # The app caches its queues and router on first use; an earlier test in this process
        # may have built them for the default queue, so drop them with the change.
        celery_app.conf.update(conf)
        celery_app.__dict__.pop("amqp", None)

    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    try:
        _wait_for(lambda: "ready." in log.read_text(), 60, "the worker was not ready", log)
        reconfigure(publish_to_worker)
        yield {"outbox": outbox, "log": log, "pid": process.pid}
    finally:
        reconfigure(saved)
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # The queue is empty by now; drop its keys and bindings so runs leave nothing behind.
        client = redis.Redis.from_url(broker_url)
        leftovers = list(client.scan_iter(match=f"*{queue}*"))
        if leftovers:
            client.delete(*leftovers)


def test_worker_sends_the_notice_for_a_committed_departure(worker):
    leader = UserFactory(username="helena", email="helena@example.org", leader=True)
    person = PersonFactory(name="Dora Departing", user=UserFactory(username="dora"))
    ProductFactory(name="Payroll", slug="payroll", owner=person)
    cluster = ClusterFactory(name="Employee experience", slug="employee-experience", owner=person)
    ProductFactory(name="Intranet", slug="intranet", cluster=cluster)

    with transaction.atomic():
        person_depart(actor=leader, person=person)
        dispatch_departure_notice(person)

    files = _wait_for(
        lambda: sorted(worker["outbox"].iterdir()), 90, "no mail was written", worker["log"]
    )
    _wait_for(lambda: "succeeded" in worker["log"].read_text(), 30, "no success", worker["log"])
    assert len(files) == 1
    mail = message_from_string(files[0].read_text().split("\n" + "-" * 79)[0])
    assert mail["To"] == "helena@example.org"
    assert mail["Subject"] == "Dora Departing has left: 2 units need an owner"
    body = mail.get_payload()
    assert "- Payroll: /products/payroll/" in body
    assert "- Employee experience (Intranet):" in body
    assert "portfolio.tasks.notify_units_orphaned" in worker["log"].read_text()
