"""The token services: what a token stores, the name and expiry rules, the limit, and who may
revoke which token."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import MAX_TOKENS_PER_USER, api_token_create, api_token_revoke
from portfolio.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_token_keeps_only_the_hash_and_the_prefix_of_its_key(viewer):
    token, key = api_token_create(actor=viewer, name="  CMDB sync  ")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "CMDB sync"
    assert len(key) >= 40
    assert stored.prefix == key[:8]
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    columns = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in [str(value) for value in columns.values()]
    assert stored.last_used_at is None and stored.expires_at is None


def test_every_key_is_new(viewer):
    keys = {api_token_create(actor=viewer, name=f"t{i}")[1] for i in range(20)}
    assert len(keys) == 20


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_token_needs_a_name(viewer, name):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(actor=viewer, name=name)
    assert list(caught.value.errors) == ["name"]


def test_a_name_is_at_most_80_characters(viewer):
    api_token_create(actor=viewer, name="x" * 80)
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(actor=viewer, name="y" * 81)
    assert "80" in caught.value.errors["name"][0]


def test_a_name_is_unique_per_user_whatever_its_case(viewer, leader):
    api_token_create(actor=viewer, name="CMDB sync")
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(actor=viewer, name="cmdb SYNC")
    assert "already" in caught.value.errors["name"][0]
    # another user may use the same name
    api_token_create(actor=leader, name="CMDB sync")


def test_the_expiry_must_lie_in_the_future(viewer):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(
            actor=viewer, name="old", expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
    assert caught.value.errors["expires_at"] == ["Choose a time in the future."]


def test_the_expiry_must_lie_within_the_portfolio_dates(viewer):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(actor=viewer, name="t", expires_at=dt.datetime(1850, 1, 1, tzinfo=dt.UTC))
    assert "Give a date between" in caught.value.errors["expires_at"][0]


def test_the_expiry_needs_a_time_zone(viewer):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(actor=viewer, name="t", expires_at=dt.datetime(2999, 1, 1))
    assert list(caught.value.errors) == ["expires_at"]


def test_a_future_expiry_is_kept(viewer):
    when = timezone.now() + dt.timedelta(days=30)
    token, _ = api_token_create(actor=viewer, name="t", expires_at=when)
    assert ApiToken.objects.get(pk=token.pk).expires_at == when


def test_a_user_has_at_most_50_tokens(viewer, leader):
    ApiToken.objects.bulk_create(
        ApiToken(user=viewer, name=f"t{i}", prefix=f"{i:08d}", key_hash=f"{i:064d}")
        for i in range(MAX_TOKENS_PER_USER)
    )
    with pytest.raises(RuleViolation) as caught:
        api_token_create(actor=viewer, name="one more")
    assert caught.value.rule == "api_token_limit"
    assert caught.value.status_code == 409
    # the limit is per user
    api_token_create(actor=leader, name="one more")


def test_anonymous_makes_no_token():
    with pytest.raises(Forbidden):
        api_token_create(actor=AnonymousUser(), name="t")


def test_revoking_a_token_leaves_the_others(viewer):
    first, _ = api_token_create(actor=viewer, name="one")
    second, _ = api_token_create(actor=viewer, name="two")
    api_token_revoke(actor=viewer, token_id=first.pk)
    assert list(ApiToken.objects.filter(user=viewer)) == [second]


def test_someone_elses_token_is_not_found_for_a_non_leader(viewer, owner):
    token, _ = api_token_create(actor=owner, name="theirs")
    with pytest.raises(NotFound):
        api_token_revoke(actor=viewer, token_id=token.pk)
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_leader_revokes_anyones_token(leader, owner):
    token, _ = api_token_create(actor=owner, name="theirs")
    api_token_revoke(actor=leader, token_id=token.pk)
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_twice_is_not_found(viewer):
    token, _ = api_token_create(actor=viewer, name="one")
    api_token_revoke(actor=viewer, token_id=token.pk)
    with pytest.raises(NotFound):
        api_token_revoke(actor=viewer, token_id=token.pk)


def test_anonymous_revokes_nothing(viewer):
    token, _ = api_token_create(actor=viewer, name="one")
    with pytest.raises(Forbidden):
        api_token_revoke(actor=AnonymousUser(), token_id=token.pk)


def test_tokens_go_with_their_login(viewer):
    api_token_create(actor=viewer, name="one")
    UserFactory(username="someone-else")
    viewer.delete()
    assert not ApiToken.objects.exists()
