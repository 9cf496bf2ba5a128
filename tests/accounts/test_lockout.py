"""The sign-in lockout (django-axes): wrong passwords lock an account and an address, the
lockout page says until when, leaders see and lift lockouts, and the address is read safely
behind proxies."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.db.models import Sum
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.lockout import client_address
from accounts.selectors import current_lockouts, lockout_of
from accounts.services import lockout_unlock
from portfolio.errors import Forbidden, ValidationFailed
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # the factories' password
LOGIN = "/accounts/login/"
ATTACKER = "203.0.113.7"


def sign_in(client: Client, username: str, password: str, url: str = LOGIN):
    return client.post(url, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def leader_client(leader):
    client = Client()
    client.force_login(leader)
    return client


def test_the_limits_are_the_documented_defaults():
    assert django_settings.AXES_FAILURE_LIMIT == 10
    assert dt.timedelta(minutes=15) == django_settings.AXES_COOLOFF_TIME
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert django_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_thirty_wrong_passwords_lock_the_account_until_a_leader_unlocks_it(owner, leader_client):
    # given someone trying passwords for the owner's login
    attacker = Client(REMOTE_ADDR=ATTACKER)
    limit = django_settings.AXES_FAILURE_LIMIT

    # when they send 30 wrong ones
    statuses = [sign_in(attacker, "owner", f"guess-{n}").status_code for n in range(30)]

    # then the first ones are answered by the sign-in form, and from the limit on by the
    # lockout page
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)
    # and even the right password is refused while locked, from anywhere
    owner_elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    refused = sign_in(owner_elsewhere, "owner", PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(owner_elsewhere)
    page = refused.content.decode()
    assert "Signing in is paused" in page
    assert "ask a portfolio leader to unlock it" in page
    assert 'href="/accounts/password/reset/"' in page
    assert int(refused["Retry-After"]) > 0

    # and the leader sees the lockout, with the count, the address and when it ends
    listing = leader_client.get(reverse("lockout-list"))
    row = listing.content.decode().split("<strong>owner</strong>")[1].split("</tr>")[0]
    assert f"<td>{limit}</td>" in row  # the tries made while locked do not count on
    assert ATTACKER in row
    (lock,) = [lock for lock in current_lockouts() if lock.username == "owner"]
    assert lock.ends_at == lock.last_attempt + dt.timedelta(minutes=15)

    # when the leader unlocks it
    response = leader_client.post(reverse("lockout-unlock"), {"username": "owner"})
    assert response.status_code == 302
    assert "owner" not in {lock.username for lock in current_lockouts()}

    # then the right password works again
    assert sign_in(owner_elsewhere, "owner", PASSWORD).status_code == 302
    assert signed_in(owner_elsewhere)


def test_many_usernames_from_one_address_lock_the_address(owner, viewer, leader_client):
    # given one address trying a different username each time
    attacker = Client(REMOTE_ADDR=ATTACKER)
    limit = django_settings.AXES_FAILURE_LIMIT
    statuses = [sign_in(attacker, f"user{n}", "password1").status_code for n in range(limit)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}

    # then a real login from that address is refused, even with its right password
    assert sign_in(attacker, "owner", PASSWORD).status_code == 429
    assert not signed_in(attacker)
    # but the same login from another address works: only the address is locked
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert sign_in(elsewhere, "viewer", PASSWORD).status_code == 302

    # and the leader sees the address, the usernames it tried, and unlocks it
    html = leader_client.get(reverse("lockout-list")).content.decode()
    row = html.split(f"<strong>{ATTACKER}</strong>")[0].rsplit("<tr>", 1)[1]
    assert f"any: {limit} tried" in row
    leader_client.post(reverse("lockout-unlock"), {"ip_address": ATTACKER})
    assert sign_in(attacker, "owner", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_locked_too():
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(REMOTE_ADDR=ATTACKER)
    url = "/admin/login/?next=/admin/"
    limit = django_settings.AXES_FAILURE_LIMIT
    statuses = [sign_in(client, "root", "nope", url).status_code for _ in range(limit)]
    assert statuses[-1] == 429
    assert sign_in(client, "root", PASSWORD, url).status_code == 429
    assert "root" in {lock.username for lock in current_lockouts()}


def test_the_lockout_ends_by_itself_after_the_cool_off(owner):
    client = Client(REMOTE_ADDR=ATTACKER)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(client, "owner", f"guess-{n}")
    assert sign_in(client, "owner", PASSWORD).status_code == 429
    ends = lockout_of(username="owner", ip_address=ATTACKER)
    assert ends is not None
    assert lockout_of(username="owner", ip_address=ATTACKER, now=ends) is None

    # when the last failure is older than the cool-off
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))

    # then nothing is listed and the right password works
    assert current_lockouts() == []
    assert sign_in(client, "owner", PASSWORD).status_code == 302


def test_a_lockout_of_several_rows_ends_when_the_rest_fall_below_the_limit(settings):
    # given an account failed 6 times from one address 10 minutes ago and 4 times from
    # another 2 minutes ago (limit 10, cool-off 15 minutes)
    now = timezone.now()
    for address, count, minutes in (("198.51.100.1", 6, 10), ("198.51.100.2", 4, 2)):
        attempt = AccessAttempt.objects.create(
            username="owner", ip_address=address, user_agent="", failures_since_start=count
        )
        # attempt_time is set on insert; move it back
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=now - dt.timedelta(minutes=minutes)
        )
    # then the lockout ends when the older row leaves the window (4 left is under 10)
    (lock,) = current_lockouts(now=now)
    assert lock.username == "owner" and lock.failures == 10
    assert lock.ends_at == now - dt.timedelta(minutes=10) + dt.timedelta(minutes=15)
    assert lock.seen == ["198.51.100.1", "198.51.100.2"]


def test_only_a_leader_unlocks(owner, leader):
    with pytest.raises(Forbidden):
        lockout_unlock(actor=owner, username="owner")
    with pytest.raises(ValidationFailed) as refused:
        lockout_unlock(actor=leader, username=" ", ip_address="")
    assert refused.value.field == "username"


def test_the_unlock_form_names_a_bad_address(leader_client):
    response = leader_client.post(reverse("lockout-unlock"), {"ip_address": "not-an-address"})
    assert response.status_code == 400
    assert "Enter a valid IPv4 or IPv6 address" in response.content.decode()


def test_the_settings_page_links_leaders_to_the_lockouts(leader_client, viewer):
    link = f'href="{reverse("lockout-list")}"'
    assert link in leader_client.get(reverse("settings")).content.decode()
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert link not in viewer_client.get(reverse("settings")).content.decode()


@pytest.mark.parametrize("rows", [1, 6])
def test_the_lockout_list_costs_the_same_for_more_lockouts(
    rows, leader, leader_client, django_assert_num_queries
):
    for n in range(rows):
        AccessAttempt.objects.create(
            username=f"user{n}",
            ip_address=f"198.51.100.{n + 1}",
            user_agent="",
            failures_since_start=10,
        )
    # session, user, leader check, the attempts
    with django_assert_num_queries(4):
        response = leader_client.get(reverse("lockout-list"))
    assert response.content.decode().count("Unlock</button>") == 2 * rows
    api = APIClient()
    api.force_authenticate(leader)
    with django_assert_num_queries(2):  # leader check, the attempts
        assert len(api.get("/api/v1/lockouts/").json()) == 2 * rows


# --- the client's address --------------------------------------------------------------


@pytest.mark.parametrize(
    "proxies, forwarded, expected",
    [
        (0, "192.0.2.1", "10.0.0.9"),  # no proxy trusted: the header is the client's own words
        (1, "", "10.0.0.9"),  # no header: the connection's address
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),  # what the client wrote itself is ignored
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.5", "192.0.2.1"),
        (2, "192.0.2.1", "10.0.0.9"),  # shorter than the proxies: not trusted
        (1, "not-an-address", "10.0.0.9"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.9", **headers)
    assert client_address(request) == expected


def test_behind_a_proxy_each_client_is_counted_on_its_own(settings, owner):
    # given one proxy in front: every request comes from its address
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(HTTP_X_FORWARDED_FOR=ATTACKER, **proxy)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, f"user{n}", "password1")
    assert sign_in(attacker, "owner", PASSWORD).status_code == 429
    # then another client behind the same proxy still signs in
    colleague = Client(HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy)
    assert sign_in(colleague, "owner", PASSWORD).status_code == 302


def test_sign_ins_without_a_password_are_neither_counted_nor_locked(owner):
    # given a locked address
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, f"user{n}", "password1")
    counted = AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"]

    # when something signs in from it without a password (as single sign-on backends do)
    request = RequestFactory().get("/oidc/callback/", REMOTE_ADDR=ATTACKER)
    request.session = {}
    assert authenticate(request, nonce="n", code_verifier="v") is None

    # then the lockout did not refuse it, and the failure was not counted
    assert not getattr(request, "axes_locked_out", False)
    assert AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"] == counted


# --- the API --------------------------------------------------------------------------------


def test_leaders_list_and_lift_lockouts_through_the_api(owner, leader):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, "owner", f"guess-{n}")
    api = APIClient()
    api.force_authenticate(leader)

    listed = api.get("/api/v1/lockouts/").json()
    by_kind = {(lock["username"], lock["ip_address"]): lock for lock in listed}
    assert set(by_kind) == {("owner", None), (None, ATTACKER)}
    assert by_kind[("owner", None)]["failures"] == django_settings.AXES_FAILURE_LIMIT
    assert by_kind[("owner", None)]["seen"] == [ATTACKER]
    assert by_kind[(None, ATTACKER)]["seen"] == ["owner"]

    bad = api.post("/api/v1/lockouts/unlock/", {"ip_address": "nope"}, format="json")
    assert bad.status_code == 400 and "ip_address" in bad.json()["errors"]
    done = api.post("/api/v1/lockouts/unlock/", {"username": "owner"}, format="json")
    assert done.json() == {"removed": 1}
    assert api.get("/api/v1/lockouts/").json() == []
    assert sign_in(attacker, "owner", PASSWORD).status_code == 302
