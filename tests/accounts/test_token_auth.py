"""`Authorization: Token <key>` against the named tokens: who gets in, what each refusal says,
how often `last_used_at` is written, what a token call costs in queries, and the 429 after
repeated failures from one address."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts import authentication
from accounts.models import ApiToken, hash_key
from accounts.services import api_token_revoke
from portfolio.models import PortfolioSettings
from tests.portfolio.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/settings/"
ME = "/api/v1/tokens/"


def call(key: str | None, url: str = SETTINGS, address: str = "10.0.0.1", header=None):
    headers = {}
    if header is not None:
        headers["HTTP_AUTHORIZATION"] = header
    elif key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {key}"
    return Client().get(url, REMOTE_ADDR=address, **headers)


def test_a_valid_token_calls_as_its_user(viewer, make_token):
    token, key = make_token(viewer)
    response = call(key, ME)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [token.pk]


def test_a_wrong_key_is_a_401_in_the_error_shape(viewer, make_token):
    _token, key = make_token(viewer)
    response = call(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    ("header", "says"),
    [("Token", "has no token"), ("Token a b", "no spaces"), ("Token " + "x" * 300, "Invalid")],
)
def test_a_malformed_header_is_a_401(header, says):
    response = call(None, header=header)
    assert response.status_code == 401
    assert says in response.json()["detail"]


def test_no_header_is_anonymous_and_a_session_still_works(viewer):
    assert call(None).status_code == 401
    client = Client()
    client.force_login(viewer)
    assert client.get(SETTINGS).status_code == 200


def test_an_expired_token_is_refused_saying_so(viewer, make_token):
    token, key = make_token(viewer, expires_at=timezone.now() + dt.timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    response = call(key)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_not_yet_expired_works(viewer, make_token):
    _token, key = make_token(viewer, expires_at=timezone.now() + dt.timedelta(minutes=5))
    assert call(key).status_code == 200


def test_a_revoked_token_stops_at_once_and_the_others_keep_working(viewer, make_token):
    first, first_key = make_token(viewer, "CMDB")
    _second, second_key = make_token(viewer, "Ticketing")
    assert call(first_key).status_code == 200
    api_token_revoke(actor=viewer, token_id=first.pk)
    assert call(first_key).status_code == 401
    assert call(second_key).status_code == 200


def test_an_inactive_login_is_refused(viewer, make_token):
    _token, key = make_token(viewer)
    viewer.is_active = False
    viewer.save()
    response = call(key)
    assert response.status_code == 401
    assert "switched off" in response.json()["detail"]


def test_a_departed_persons_token_is_refused(make_token):
    person = PersonFactory(user=UserFactory(username="dora"))
    _token, key = make_token(person.user)
    assert call(key).status_code == 200
    person.active = False
    person.departed_on = dt.date(2026, 1, 31)
    person.save()
    response = call(key)
    assert response.status_code == 401
    assert "left" in response.json()["detail"]


def test_a_drf_style_key_taken_over_by_the_migration_works(viewer):
    # The data migration stores a 40-hex DRF key as its hash and first 8 characters.
    key = "0123456789abcdef0123456789abcdef01234567"
    ApiToken.objects.create(user=viewer, name="Default", prefix=key[:8], key_hash=hash_key(key))
    assert call(key).status_code == 200


def test_tokens_sharing_a_prefix_are_told_apart(viewer, leader):
    mine, theirs = "samepre1-mine-0000000000000000", "samepre1-theirs-000000000000000"
    ApiToken.objects.create(user=viewer, name="a", prefix="samepre1", key_hash=hash_key(mine))
    ApiToken.objects.create(user=leader, name="b", prefix="samepre1", key_hash=hash_key(theirs))
    assert call(mine, ME).json()["results"][0]["user"] == viewer.pk
    assert call(theirs, ME).json()["results"][0]["user"] == leader.pk


# --- last use and query counts ----------------------------------------------------------------


def test_last_used_is_written_at_most_once_a_minute(viewer, make_token):
    token, key = make_token(viewer)
    call(key)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None and timezone.now() - first < dt.timedelta(seconds=30)
    call(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    # a minute later the next call writes it again
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(seconds=61))
    call(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


# Before named tokens, DRF's TokenAuthentication cost one query (the token with its user) and
# GET /api/v1/settings/ one more: 2. A named token costs the same one query (token, user and
# person joined) and, at most once a minute, one conditional UPDATE of last_used_at.
TOKEN_GET_QUERIES = 2


def test_a_token_call_costs_one_query_and_the_first_in_a_minute_one_update(
    viewer, make_token, django_assert_num_queries
):
    PortfolioSettings.load()  # made on first read; not part of the count
    _token, key = make_token(viewer)
    with django_assert_num_queries(TOKEN_GET_QUERIES + 1) as first:
        assert call(key).status_code == 200
    assert first.captured_queries[1]["sql"].startswith('UPDATE "accounts_apitoken"')
    with django_assert_num_queries(TOKEN_GET_QUERIES) as later:
        assert call(key).status_code == 200
    auth = later.captured_queries[0]["sql"]
    assert '"accounts_apitoken"."prefix" =' in auth
    assert '"auth_user"' in auth and '"products_person"' in auth


def test_the_person_check_needs_no_query_of_its_own(make_token, django_assert_num_queries):
    PortfolioSettings.load()
    person = PersonFactory(user=UserFactory(username="pat"))
    _token, key = make_token(person.user)
    call(key)
    with django_assert_num_queries(TOKEN_GET_QUERIES):
        assert call(key).status_code == 200


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.parametrize("with_person", [True, False])
def test_the_written_statement_reads_what_select_related_reads(
    make_token, with_person, django_assert_num_queries
):
    """`TOKEN_SQL` is written by hand from the models' fields; it must give the same token,
    user and person as the ORM's select_related, linked so that no attribute needs a query."""
    user = PersonFactory(user=UserFactory(username="sam")).user if with_person else UserFactory()
    _token, key = make_token(user)
    orm = ApiToken.objects.select_related("user__person").get(prefix=key[:8])
    with django_assert_num_queries(1):
        found = authentication._find(key)
        assert _fields(found) == _fields(orm)
        assert _fields(found.user) == _fields(orm.user)
        person = getattr(found.user, "person", None)
        if with_person:
            assert _fields(person) == _fields(orm.user.person)
            assert person.user is found.user
        else:
            assert person is None


def test_a_key_with_a_known_prefix_and_another_hash_is_refused(viewer, make_token):
    _token, key = make_token(viewer)
    forged = key[:8] + ("A" if key[8] != "A" else "B") + key[9:]
    assert call(forged).status_code == 401


# --- failed attempts ----------------------------------------------------------------------------


@override_settings(API_TOKEN_FAILURES=3, API_TOKEN_FAILURE_WINDOW=60)
def test_repeated_failures_from_one_address_answer_429_even_for_a_good_token(viewer, make_token):
    _token, key = make_token(viewer)
    for _ in range(3):
        assert call("wrong-key", address="10.0.0.9").status_code == 401
    refused = call("wrong-key", address="10.0.0.9")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    assert "Too many failed token attempts" in refused.json()["detail"]
    # the right token from the same address waits too...
    good_here = call(key, address="10.0.0.9")
    assert good_here.status_code == 429
    assert "Retry-After" in good_here
    # ...and from another address it works
    assert call(key, address="10.0.0.10").status_code == 200


@override_settings(API_TOKEN_FAILURES=3, API_TOKEN_FAILURE_WINDOW=60)
def test_successful_calls_are_not_counted(viewer, make_token):
    _token, key = make_token(viewer)
    for _ in range(10):
        assert call(key, address="10.0.1.1").status_code == 200
    for _ in range(3):
        assert call("wrong-key", address="10.0.1.1").status_code == 401
    assert call("wrong-key", address="10.0.1.1").status_code == 429


@override_settings(API_TOKEN_FAILURES=2, API_TOKEN_FAILURE_WINDOW=60)
def test_refusals_of_known_tokens_count_as_failures_too(viewer, make_token):
    token, key = make_token(viewer)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    assert call(key, address="10.0.2.1").status_code == 401
    assert call(key, address="10.0.2.1").status_code == 401
    assert call(key, address="10.0.2.1").status_code == 429


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@override_settings(API_TOKEN_FAILURES=3, API_TOKEN_FAILURE_WINDOW=60)
def test_the_count_starts_again_when_the_window_ends(viewer, make_token, monkeypatch):
    clock = Clock(6_000_000.0)  # the start of a 60-second window
    monkeypatch.setattr(authentication, "time", clock)
    _token, key = make_token(viewer)
    for _ in range(3):
        call("wrong-key", address="10.0.3.1")
    clock.now += 45
    refused = call(key, address="10.0.3.1")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "15"
    clock.now += 15  # the next window
    assert call(key, address="10.0.3.1").status_code == 200


@override_settings(API_TOKEN_FAILURES=3, API_TOKEN_FAILURE_WINDOW=1)
def test_a_short_window_really_ends(viewer, make_token):
    _token, key = make_token(viewer)
    # start at the beginning of a one-second window, so the failures share it
    time.sleep(1 - time.time() % 1)
    for _ in range(3):
        call("wrong-key", address="10.0.4.1")
    assert call(key, address="10.0.4.1").status_code == 429
    time.sleep(1 - time.time() % 1 + 0.05)
    assert call(key, address="10.0.4.1").status_code == 200


@override_settings(API_TOKEN_FAILURES=2, API_TOKEN_FAILURE_WINDOW=60)
def test_a_forwarded_for_header_does_not_change_the_address_by_default(viewer, make_token):
    _token, key = make_token(viewer)
    for n in range(2):
        Client().get(
            SETTINGS,
            REMOTE_ADDR="10.0.5.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
            HTTP_AUTHORIZATION="Token wrong-key",
        )
    response = Client().get(
        SETTINGS,
        REMOTE_ADDR="10.0.5.1",
        HTTP_X_FORWARDED_FOR="192.0.2.99",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 429


def test_pages_are_not_throttled_by_token_failures(viewer, leader):
    with override_settings(API_TOKEN_FAILURES=1, API_TOKEN_FAILURE_WINDOW=60):
        call("wrong-key", address="127.0.0.1")
        client = Client()
        client.force_login(viewer)
        assert client.get(reverse("dashboard")).status_code == 200
        assert client.get(SETTINGS).status_code == 200  # a session call sends no token


@override_settings(API_TOKEN_FAILURES=2, API_TOKEN_FAILURE_WINDOW=60, TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_each_client_is_counted_by_its_forwarded_address(viewer, make_token):
    # One setting for the lockout and the token counter: behind one proxy, the caller that
    # failed is held back, a colleague through the same proxy is not.
    _token, key = make_token(viewer)
    proxy = {"REMOTE_ADDR": "10.0.6.1"}
    for _ in range(2):
        Client().get(
            SETTINGS, HTTP_X_FORWARDED_FOR="192.0.2.10", HTTP_AUTHORIZATION="Token wrong", **proxy
        )

    def with_key(forwarded):
        return Client().get(
            SETTINGS, HTTP_X_FORWARDED_FOR=forwarded, HTTP_AUTHORIZATION=f"Token {key}", **proxy
        )

    assert with_key("192.0.2.10").status_code == 429
    assert with_key("192.0.2.11").status_code == 200
