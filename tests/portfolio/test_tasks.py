"""The departure notice: what it sends, that it waits for the commit, and that a real worker
runs it from the real broker."""

from __future__ import annotations

import re
from email import message_from_string
from unittest import mock

import pytest
from django.db import transaction

from portfolio import outbox
from portfolio.models import OutboxMessage
from products import tasks
from products.models import Person
from products.services import dispatch_departure_notice, person_depart, person_update
from products.tasks import notify_units_orphaned
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.worker import wait_for

pytestmark = pytest.mark.worker


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
    from products.services import person_update, unit_assign_owner

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

    Person.objects.filter(pk=departing.pk).update(departure_notice_sent_at=None)  # not yet told
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
        mock.patch.object(outbox, "_publish") as publish,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        person_depart(actor=leader, person=departing)
        dispatch_departure_notice(departing)
        dispatch_departure_notice(departing)  # asked twice, queued once
        publish.assert_not_called()  # nothing before the commit

    assert len(callbacks) == 1
    (message,) = OutboxMessage.objects.all()
    assert (message.task, message.args) == ("products.tasks.notify_units_orphaned", [departing.pk])
    publish.assert_called_once_with(message)


def test_failed_departure_dispatches_nothing(leader, departing, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(outbox, "_publish") as publish,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        person_depart(actor=leader, person=departing)
        dispatch_departure_notice(departing)
        raise RuntimeError("the rest of the change failed")

    assert callbacks == []
    publish.assert_not_called()
    assert not OutboxMessage.objects.exists()
    departing.refresh_from_db()
    assert departing.active


def test_notice_goes_once_per_departure_however_often_it_runs(leader, departing, mailoutbox):
    person_depart(actor=leader, person=departing)

    assert notify_units_orphaned(departing.pk)["sent"] == 1
    assert notify_units_orphaned(departing.pk)["sent"] == 0  # a redelivery sends nothing
    assert len(mailoutbox) == 1

    # a return and a second departure is a new departure: the leaders hear of it again
    person_update(actor=leader, person=departing, active=True)
    person_depart(actor=leader, person=departing)
    assert notify_units_orphaned(departing.pk)["sent"] == 1
    assert len(mailoutbox) == 2


# --- A real worker behind the real broker (fixture in tests/worker.py) ----------------------


def test_worker_sends_the_notice_for_a_committed_departure(worker):
    leader = UserFactory(username="helena", email="helena@example.org", leader=True)
    person = PersonFactory(name="Dora Departing", user=UserFactory(username="dora"))
    ProductFactory(name="Payroll", slug="payroll", owner=person)
    cluster = ClusterFactory(name="Employee experience", slug="employee-experience", owner=person)
    ProductFactory(name="Intranet", slug="intranet", cluster=cluster)

    with transaction.atomic():
        person_depart(actor=leader, person=person)

    files = wait_for(
        lambda: sorted(worker["outbox"].iterdir()), 90, "no mail was written", worker["log"]
    )
    wait_for(
        lambda: re.search(r"notify_units_orphaned\[[^]]+\] succeeded", worker["log"].read_text()),
        30,
        "no success",
        worker["log"],
    )
    assert len(files) == 1
    mail = message_from_string(files[0].read_text().split("\n" + "-" * 79)[0])
    assert mail["To"] == "helena@example.org"
    assert mail["Subject"] == "Dora Departing has left: 2 units need an owner"
    body = mail.get_payload()
    assert "- Payroll: /products/payroll/" in body
    assert "- Employee experience (Intranet):" in body
    assert "products.tasks.notify_units_orphaned" in worker["log"].read_text()
