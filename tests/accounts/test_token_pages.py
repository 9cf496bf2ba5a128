"""The API token pages: the list, a new key shown once, revoking with a confirmation, the old
address, and no caching of any of it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/account/tokens/"


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_the_page_lists_my_tokens_and_no_one_elses(client_as, viewer, owner, make_token):
    make_token(viewer, "CMDB sync")
    expired, _ = make_token(viewer, "Old export", expires_at=timezone.now() + dt.timedelta(days=1))
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    used, _ = make_token(viewer, "Ticketing")
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=timezone.now() - dt.timedelta(hours=3))
    make_token(owner, "Someone else's")

    response = client_as(viewer).get(URL)

    assert response.status_code == 200
    assert no_store(response)
    html = response.content.decode()
    assert "Someone else" not in html
    rows = {
        name: html.split(name)[1].split("</tr>")[0]
        for name in ("CMDB sync", "Old export", "Ticketing")
    }
    assert "never" in rows["CMDB sync"] and "Active" in rows["CMDB sync"]
    assert "Expired" in rows["Old export"]
    assert "3\xa0hours ago" in rows["Ticketing"]
    assert f"<code>{used.prefix}…</code>" in rows["Ticketing"]


def test_a_new_token_is_shown_once_with_a_warning(client_as, viewer):
    client = client_as(viewer)
    response = client.post(URL, {"name": "CMDB sync", "expires_at": ""})
    assert response.status_code == 200
    assert no_store(response)
    key = response.context["new_key"]
    html = response.content.decode()
    assert key in html
    assert "will not be shown again" in html
    assert 'data-copy="new-token-key"' in html and "js/copy.js" in html
    token = ApiToken.objects.get(user=viewer)
    assert token.name == "CMDB sync" and token.prefix == key[:8]
    # the list shows it, the key never again
    again = client.get(URL)
    assert "CMDB sync" in again.content.decode()
    assert key not in again.content.decode()
    # and the key works on the API
    api = Client().get("/api/v1/tokens/", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.status_code == 200


def test_the_page_has_no_inline_script(client_as, viewer):
    html = client_as(viewer).post(URL, {"name": "CMDB sync"}).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "onclick" not in html and "hx-on" not in html


def test_valid_until_means_to_the_end_of_that_day(client_as, viewer):
    day = timezone.localdate() + dt.timedelta(days=10)
    client_as(viewer).post(URL, {"name": "Until then", "expires_at": day.isoformat()})
    expires = timezone.localtime(ApiToken.objects.get(user=viewer).expires_at)
    assert expires.date() == day
    assert (expires.hour, expires.minute) == (23, 59)


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 81}, "name", "at most 80"),
        ({"name": "Dup"}, "name", "already have a token named"),
        ({"name": "Past", "expires_at": "2020-01-01"}, "expires_at", "in the future"),
        ({"name": "Bad date", "expires_at": "31/02/2026"}, "expires_at", "valid date"),
        ({"name": "Far", "expires_at": "0001-01-01"}, "expires_at", "Give a date between"),
    ],
)
def test_bad_input_is_a_400_beside_its_field(client_as, viewer, make_token, data, field, says):
    make_token(viewer, "Dup")
    response = client_as(viewer).post(URL, data)
    assert response.status_code == 400
    assert no_store(response)
    errors = response.context["form"].errors
    assert says in " ".join(errors[field])
    assert ApiToken.objects.filter(user=viewer).count() == 1


def test_revoke_asks_first_then_revokes_only_that_token(client_as, viewer, make_token):
    token, key = make_token(viewer, "CMDB sync")
    _other, other_key = make_token(viewer, "Ticketing")
    client = client_as(viewer)
    url = reverse("account-token-revoke", args=[token.pk])

    ask = client.get(url)
    assert ask.status_code == 200 and no_store(ask)
    assert "Revoke the token “CMDB sync”?" in ask.content.decode()
    assert ApiToken.objects.filter(pk=token.pk).exists()

    done = client.post(url)
    assert done.status_code == 302 and done["Location"] == URL
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert Client().get("/api/v1/settings/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert (
        Client().get("/api/v1/settings/", HTTP_AUTHORIZATION=f"Token {other_key}").status_code
        == 200
    )
    assert "no longer works" in client.get(URL).content.decode()


def test_revoking_someone_elses_token_is_not_found(client_as, viewer, owner, make_token):
    token, _ = make_token(owner)
    url = reverse("account-token-revoke", args=[token.pk])
    assert client_as(viewer).post(url).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_leader_may_revoke_anyones_token(client_as, leader, owner, make_token):
    token, _ = make_token(owner)
    url = reverse("account-token-revoke", args=[token.pk])
    assert "Belongs to" in client_as(leader).get(url).content.decode()
    assert client_as(leader).post(url).status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_the_old_address_leads_to_the_tokens_page(client_as, viewer):
    response = client_as(viewer).get("/account/token/")
    assert response.status_code == 302 and response["Location"] == URL


def test_the_user_menu_links_to_the_tokens_page(client_as, viewer):
    html = client_as(viewer).get(reverse("dashboard")).content.decode()
    assert f'href="{URL}">API tokens<' in html


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("n", [3, 30])
def test_the_list_costs_the_same_queries_at_any_length(n, client_as, django_assert_num_queries):
    user = UserFactory(username=f"many{n}")
    ApiToken.objects.bulk_create(
        ApiToken(user=user, name=f"t{i}", prefix=f"{i:08d}", key_hash=f"{n:02d}{i:062d}")
        for i in range(n)
    )
    client = client_as(user)
    # session, user, the tokens (the context processor's leader check: one more)
    with django_assert_num_queries(4):
        response = client.get(URL)
    assert len(response.context["tokens"]) == n
