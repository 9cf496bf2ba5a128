"""/api/v1/tokens/: list (never a key), make (the key once, not cached), revoke; errors in the
API's shape; a leader's view of another login's tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import MAX_TOKENS_PER_USER
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tokens/"
FIELDS = {"id", "name", "prefix", "user", "created_at", "expires_at", "last_used_at", "expired"}


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_list_is_mine_without_keys_or_hashes(viewer, owner, make_token):
    mine, _ = make_token(viewer, "CMDB sync")
    make_token(owner, "Theirs")
    body = as_user(viewer).get(URL).json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    row = body["results"][0]
    assert set(row) == FIELDS
    assert row["prefix"] == mine.prefix and row["expired"] is False
    assert row["last_used_at"] is None and row["user"] == viewer.pk


def test_a_leader_lists_another_logins_tokens(leader, owner, viewer, make_token):
    theirs, _ = make_token(owner, "Theirs")
    by_leader = as_user(leader).get(URL, {"user": owner.pk}).json()["results"]
    assert [row["id"] for row in by_leader] == [theirs.pk]
    assert as_user(viewer).get(URL, {"user": owner.pk}).json()["results"] == []


def test_a_bad_user_filter_is_a_400_naming_it(viewer):
    response = as_user(viewer).get(URL, {"user": "abc"})
    assert response.status_code == 400
    assert "user" in response.json()["errors"]


def test_make_answers_the_key_once_and_not_for_caching(viewer):
    response = as_user(viewer).post(URL, {"name": "CMDB sync"}, format="json")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == FIELDS | {"key"}
    key = body["key"]
    assert body["prefix"] == key[:8] and body["expires_at"] is None
    # the key works, and no answer shows it again
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    listed = with_key.get(URL)
    assert listed.status_code == 200
    assert key not in listed.content.decode()
    assert key not in with_key.get(f"{URL}{body['id']}/").content.decode()


def test_make_with_an_expiry(viewer):
    when = (timezone.now() + dt.timedelta(days=7)).replace(microsecond=0)
    body = (
        as_user(viewer)
        .post(URL, {"name": "Week", "expires_at": when.isoformat()}, format="json")
        .json()
    )
    assert ApiToken.objects.get(pk=body["id"]).expires_at == when


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "Dup"}, "name"),
        ({"name": "t", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "t", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "t", "expires_at": "0001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": ["a"]}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(viewer, make_token, data, field):
    make_token(viewer, "Dup")
    response = as_user(viewer).post(URL, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"]


def test_the_limit_is_a_409_with_its_rule(viewer):
    ApiToken.objects.bulk_create(
        ApiToken(user=viewer, name=f"t{i}", prefix=f"{i:08d}", key_hash=f"{i:064d}")
        for i in range(MAX_TOKENS_PER_USER)
    )
    response = as_user(viewer).post(URL, {"name": "one more"}, format="json")
    assert response.status_code == 409
    assert response.json()["rule"] == "api_token_limit"


def test_revoke_stops_that_token_and_leaves_the_others(viewer, make_token):
    token, key = make_token(viewer, "CMDB sync")
    _other, other_key = make_token(viewer, "Ticketing")
    response = as_user(viewer).delete(f"{URL}{token.pk}/")
    assert response.status_code == 204
    refused = APIClient().get(URL, HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 401
    assert APIClient().get(URL, HTTP_AUTHORIZATION=f"Token {other_key}").status_code == 200


def test_revoking_someone_elses_token_is_a_404_for_a_non_leader(viewer, owner, make_token):
    token, _ = make_token(owner)
    response = as_user(viewer).delete(f"{URL}{token.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_leader_revokes_anyones_token(leader, owner, make_token):
    token, _ = make_token(owner)
    assert as_user(leader).delete(f"{URL}{token.pk}/").status_code == 204
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_marked_expired(viewer, make_token):
    token, _ = make_token(viewer, expires_at=timezone.now() + dt.timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    assert as_user(viewer).get(f"{URL}{token.pk}/").json()["expired"] is True


@pytest.mark.parametrize("n", [3, 30])
def test_the_list_costs_the_same_queries_at_any_length(n, django_assert_num_queries):
    user = UserFactory(username=f"many{n}")
    ApiToken.objects.bulk_create(
        ApiToken(user=user, name=f"t{i}", prefix=f"{i:08d}", key_hash=f"{n:02d}{i:062d}")
        for i in range(n)
    )
    client = as_user(user)
    with django_assert_num_queries(2):  # the count and the page
        response = client.get(URL)
    assert response.json()["count"] == n
