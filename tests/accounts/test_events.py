"""The accounts services record their events like every other service (portfolio/events.py):
one per change, in the same transaction, none for a refused write; tokens and roles are for
leaders' eyes only in the feed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.services import (
    api_token_create,
    api_token_revoke,
    sso_leader_role_sync,
    sso_login_link,
    sso_person_create,
)
from portfolio.errors import ValidationFailed
from portfolio.models import Event
from portfolio.permissions import LEADERS_GROUP
from tests.events.test_feed import place, read
from tests.portfolio.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_making_and_revoking_a_token_records_one_event_each_without_the_key(viewer):
    token, key = api_token_create(actor=viewer, name="CMDB sync")
    token_id = token.pk
    api_token_revoke(actor=viewer, token_id=token_id)

    events = list(Event.objects.order_by("id"))
    assert [(e.type, e.object_type, e.object_id, e.actor_id) for e in events] == [
        ("api_token.created", "api_token", token_id, viewer.pk),
        ("api_token.revoked", "api_token", token_id, viewer.pk),
    ]
    assert events[0].data["name"] == "CMDB sync" and events[0].data["user"] == viewer.pk
    assert events[1].data["prefix"] == key[:8]
    assert all(key not in str(e.data) for e in events)


def test_a_refused_token_records_nothing(viewer):
    api_token_create(actor=viewer, name="CMDB sync")
    with pytest.raises(ValidationFailed):
        api_token_create(actor=viewer, name="cmdb SYNC")

    assert list(Event.objects.values_list("type", flat=True)) == ["api_token.created"]


def test_token_events_are_for_leaders_only_in_the_feed(viewer, leader):
    api_token_create(actor=viewer, name="CMDB sync")
    place()

    assert [e["type"] for e in read(leader)["results"]] == ["api_token.created"]
    assert read(viewer)["results"] == []


def test_single_sign_on_records_the_person_it_creates_or_links():
    user = sso_person_create(email="New.Person@example.org", name="New Person", subject="s-1")
    person = PersonFactory(name="Linked Later", email="linked@example.org", user=None)
    linked = sso_login_link(person=person)

    events = list(Event.objects.order_by("id"))
    assert [(e.type, e.actor_id) for e in events] == [
        ("person.created", user.pk),
        ("person.updated", linked.pk),
    ]
    assert events[0].data["email"] == "new.person@example.org"
    assert events[1].object_id == person.pk
    assert events[1].changed == {"user": [None, linked.pk]}


def test_the_leader_role_from_the_group_claim_records_only_a_change():
    user = UserFactory(username="lena")

    sso_leader_role_sync(user=user, leader=True)
    sso_leader_role_sync(user=user, leader=True)  # the same claim at the next sign-in
    sso_leader_role_sync(user=user, leader=False)

    assert not user.groups.filter(name=LEADERS_GROUP).exists()
    assert Group.objects.filter(name=LEADERS_GROUP).exists()
    events = Event.objects.order_by("id")
    assert [(e.type, e.changed) for e in events] == [
        ("login.role_changed", {"leader": [False, True]}),
        ("login.role_changed", {"leader": [True, False]}),
    ]
