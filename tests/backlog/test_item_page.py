"""The backlog item page: its fields, its history (changes and moves) and its comments, and the
comments API. Comments are written by the unit's owner or a leader; everyone else reads."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from backlog import services
from backlog.models import COMMENT_MAX_LENGTH, BacklogItemComment
from portfolio.errors import Forbidden, ValidationFailed
from portfolio.models import Event

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(item) -> str:
    return reverse("backlog-item", args=[item.pk])


def add_url(item) -> str:
    return reverse("backlog-comment-add", args=[item.pk])


def api_url(item) -> str:
    return reverse("api-backlog-item-comments", args=[item.pk])


@pytest.fixture
def item(owner, product):
    return services.backlog_item_create(actor=owner, product=product, title="Payslips by email")


# --- the service -----------------------------------------------------------------------------


def test_owner_comments_and_the_event_names_the_comment(owner, item):
    comment = services.backlog_item_comment_add(actor=owner, item=item, body="  Needs HR.  ")

    assert comment.body == "Needs HR."
    assert comment.author == owner
    event = Event.objects.get(type="backlog_item.commented")
    assert (event.object_type, event.object_id) == ("backlog_item", item.pk)
    assert event.changed == {"comment": [None, comment.pk]}


@pytest.mark.parametrize("who", ["viewer", "other_owner"])
def test_only_the_units_owner_or_a_leader_comments(request, who, leader, item):
    with pytest.raises(Forbidden):
        services.backlog_item_comment_add(actor=request.getfixturevalue(who), item=item, body="Hi")
    services.backlog_item_comment_add(actor=leader, item=item, body="Hi")
    assert BacklogItemComment.objects.count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * (COMMENT_MAX_LENGTH + 1)])
def test_blank_or_overlong_comment_is_refused_naming_body(owner, item, body):
    with pytest.raises(ValidationFailed) as exc:
        services.backlog_item_comment_add(actor=owner, item=item, body=body)
    assert "body" in exc.value.errors
    assert not BacklogItemComment.objects.exists()
    assert not Event.objects.filter(type="backlog_item.commented").exists()


def test_author_or_leader_deletes_a_comment_others_may_not(owner, leader, other_owner, item):
    mine = services.backlog_item_comment_add(actor=owner, item=item, body="Mine")
    theirs = services.backlog_item_comment_add(actor=leader, item=item, body="Leader's")

    with pytest.raises(Forbidden):
        services.backlog_item_comment_delete(actor=other_owner, comment=mine)
    with pytest.raises(Forbidden) as exc:
        services.backlog_item_comment_delete(actor=owner, comment=theirs)
    assert exc.value.rule == "comment_author_or_leader"

    services.backlog_item_comment_delete(actor=owner, comment=mine)
    services.backlog_item_comment_delete(actor=leader, comment=theirs)
    assert not BacklogItemComment.objects.exists()
    assert Event.objects.filter(type="backlog_item.comment_deleted").count() == 2


# --- the page --------------------------------------------------------------------------------


def test_page_shows_fields_history_of_changes_and_moves_and_comments(owner, viewer, product, item):
    other = services.backlog_item_create(actor=owner, product=product, title="Other")
    services.backlog_item_update(actor=owner, item=item, status="ready", description="By mail.")
    services.backlog_item_move(actor=owner, item=item, after=other)
    services.backlog_item_comment_add(actor=owner, item=item, body="Ask payroll first.")

    response = login(viewer).get(page_url(item))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Payslips by email</h1>" in html
    assert "By mail." in html
    whats = [e.what for e in response.context["history"]]
    assert whats == ["Commented", "Moved in the backlog", "Changed", "Created"]
    changed = response.context["history"][2].changes
    assert ("status", "Proposed", "Ready") in changed
    assert response.context["created_by"] == "owner"
    assert "Ask payroll first." in html
    # A viewer reads, and is told who can comment.
    assert response.context["comment_form"] is None
    assert 'name="body"' not in html
    assert "Only the owner of Payroll or a portfolio leader can comment." in html


def test_backlog_rows_link_to_the_item_page(viewer, item):
    response = login(viewer).get(reverse("backlog-detail", args=[item.unit_id]))
    assert f'href="{page_url(item)}"' in response.content.decode()


def test_row_fragment_still_answers_htmx(viewer, item):
    response = login(viewer).get(page_url(item), headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="item-{item.pk}"')
    assert "HX-Request" in response["Vary"]


# Session, user, item (with product, unit, owner, cluster, product), events, comments (with
# authors), leader check.
ITEM_PAGE_QUERIES = 6


@pytest.mark.parametrize("count", [1, 8])
def test_item_page_query_count_does_not_grow(count, owner, leader, item, django_assert_num_queries):
    for i in range(count):
        services.backlog_item_update(actor=owner, item=item, estimate=i + 1)
        services.backlog_item_comment_add(actor=leader if i % 2 else owner, item=item, body=f"c{i}")
    client = login(owner)
    with django_assert_num_queries(ITEM_PAGE_QUERIES):
        response = client.get(page_url(item))
    assert len(response.context["comments"]) == count


def test_htmx_empty_comment_answers_400_naming_the_field(owner, item):
    response = login(owner).post(add_url(item), {"body": "  "}, headers=HTMX)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="comments"' in html
    assert "Write something to comment." in html
    assert 'for="comment_body"' in html
    assert not BacklogItemComment.objects.exists()


def test_htmx_overlong_comment_answers_400(owner, item):
    body = "x" * (COMMENT_MAX_LENGTH + 1)
    response = login(owner).post(add_url(item), {"body": body}, headers=HTMX)
    assert response.status_code == 400
    assert f"at most {COMMENT_MAX_LENGTH} characters" in response.content.decode()


def test_htmx_comment_answers_the_list_and_the_history_out_of_band(owner, item):
    response = login(owner).post(add_url(item), {"body": "Looks good"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Looks good" in html
    assert 'id="item-history" class="history" hx-swap-oob="true"' in html
    assert BacklogItemComment.objects.get().body == "Looks good"


def test_plain_post_redirects_to_the_page_and_delete_removes(owner, item):
    client = login(owner)
    response = client.post(add_url(item), {"body": "First"})
    assert response.status_code == 302
    assert response["Location"] == page_url(item) + "#comments"

    comment = BacklogItemComment.objects.get()
    response = client.post(reverse("backlog-comment-delete", args=[comment.pk]))
    assert response.status_code == 302
    assert not BacklogItemComment.objects.exists()


def test_someone_elses_comment_cannot_be_deleted_from_the_page(owner, leader, item):
    comment = services.backlog_item_comment_add(actor=leader, item=item, body="Leader note")
    response = login(owner).post(reverse("backlog-comment-delete", args=[comment.pk]))
    assert response.status_code == 403
    assert BacklogItemComment.objects.filter(pk=comment.pk).exists()


# --- the API ---------------------------------------------------------------------------------


def test_api_lists_and_adds_comments(api, owner, viewer, item):
    api.force_authenticate(owner)
    created = api.post(api_url(item), {"body": "From the CMDB"}, format="json")
    assert created.status_code == 201
    assert created.json()["author"] == "owner"
    assert created.json()["item"] == item.pk

    api.force_authenticate(viewer)
    listed = api.get(api_url(item))
    assert listed.status_code == 200
    assert [c["body"] for c in listed.json()["results"]] == ["From the CMDB"]
    refused = api.post(api_url(item), {"body": "Me too"}, format="json")
    assert refused.status_code == 403


def test_api_blank_comment_is_400_naming_body(api, owner, item):
    api.force_authenticate(owner)
    response = api.post(api_url(item), {"body": ""}, format="json")
    assert response.status_code == 400
    assert "body" in str(response.json())


def test_api_deletes_own_comment(api, owner, item):
    comment = services.backlog_item_comment_add(actor=owner, item=item, body="Oops")
    api.force_authenticate(owner)
    url = reverse("api-backlog-item-comment", args=[item.pk, comment.pk])
    assert api.delete(url).status_code == 204
    assert not BacklogItemComment.objects.exists()


@pytest.mark.parametrize("count", [1, 6])
def test_api_comment_list_query_count_does_not_grow(
    count, api, owner, item, django_assert_num_queries
):
    for i in range(count):
        services.backlog_item_comment_add(actor=owner, item=item, body=f"c{i}")
    api.force_authenticate(owner)
    # item, count, page of comments with their authors
    with django_assert_num_queries(3):
        response = api.get(api_url(item))
    assert response.json()["count"] == count


def test_remove_is_offered_on_own_comments_and_to_leaders(owner, leader, viewer, item):
    mine = services.backlog_item_comment_add(actor=owner, item=item, body="Mine")
    theirs = services.backlog_item_comment_add(actor=leader, item=item, body="Leader's")

    def offered(user) -> set[int]:
        html = login(user).get(page_url(item)).content.decode()
        return {
            c.pk for c in (mine, theirs) if reverse("backlog-comment-delete", args=[c.pk]) in html
        }

    assert offered(owner) == {mine.pk}
    assert offered(leader) == {mine.pk, theirs.pk}
    assert offered(viewer) == set()
