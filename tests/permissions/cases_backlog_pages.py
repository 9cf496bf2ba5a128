"""Permission cases for the backlog pages: every route, GET and POST, five roles.

Everyone logged in reads a backlog; only the unit's owner and leaders change it (403 for
viewers and owners of other units). A plain POST that succeeds redirects back to the list.
"""

from __future__ import annotations

from backlog import services
from backlog.models import BacklogItem
from tests.permissions.cases_pages import NOT_ALLOWED, unit_owner_or_leader
from tests.permissions.spec import Case, World, page_read


def _item(w: World) -> BacklogItem:
    """The first item of `w.product`'s backlog (made on first use, by a leader)."""
    item = BacklogItem.objects.filter(product=w.product).order_by("rank").first()
    if item is None:
        services.backlog_item_create(actor=w.leader, product=w.product, title="First")
        item = services.backlog_item_create(actor=w.leader, product=w.product, title="Second")
        item = BacklogItem.objects.filter(product=w.product).order_by("rank").first()
    return item


unit = lambda w: {"unit_id": w.product.unit_id}  # noqa: E731
cluster_unit = lambda w: {"unit_id": w.cluster.unit.pk}  # noqa: E731
item = lambda w: {"item_id": _item(w).pk}  # noqa: E731


def _own_comment(w: World) -> dict:
    """A comment by the unit's owner: the owner may delete it (their own), a leader too."""
    comment = services.backlog_item_comment_add(actor=w.owner, item=_item(w), body="Mine")
    return {"comment_id": comment.pk}


def edit_data(w: World) -> dict:
    i = _item(w)
    return {
        "title": "Renamed",
        "product": w.product.pk,
        "type": "fix",
        "dimension": "operations",
        "status": "ready",
        "estimate": "2.5",
        "source": "incident",
        "description": "",
        "version": i.version,
    }


def bulk_data(w: World) -> dict:
    return {"action": "status", "status": "ready", "items": [_item(w).pk]}


CASES = [
    Case("backlog-detail", page_read(), kwargs=unit),
    Case("backlog-detail", page_read(), kwargs=cluster_unit, label="cluster"),
    Case("backlog-detail", page_read(), kwargs=unit, htmx=True, label="list partial"),
    Case(
        "backlog-detail",
        page_read(),
        kwargs=unit,
        query="?type=fix&status=open&q=x&product=1",
        label="filtered",
    ),
    Case("backlog-detail", NOT_ALLOWED, method="post", kwargs=unit),
    # The component lookup: everyone who reads the backlog (its filter has a component select).
    Case("backlog-components", page_read(), kwargs=cluster_unit, query="?q=a&empty=any"),
    Case("backlog-components", page_read(), kwargs=unit, htmx=True, label="partial"),
    Case("backlog-components", NOT_ALLOWED, method="post", kwargs=unit),
    Case("backlog-create", NOT_ALLOWED, kwargs=unit),
    Case(
        "backlog-create",
        unit_owner_or_leader(302),
        method="post",
        kwargs=unit,
        data=lambda w: {
            "title": "New idea",
            "product": w.product.pk,
            "type": "improvement",
            "dimension": "improvement",
            "source": "user_request",
            "position": "top",
        },
    ),
    Case("backlog-bulk", NOT_ALLOWED, kwargs=unit),
    Case("backlog-bulk", unit_owner_or_leader(302), method="post", kwargs=unit, data=bulk_data),
    # A plain load is the item's page (history, comments); to htmx, its row.
    Case("backlog-item", page_read(), kwargs=item),
    Case("backlog-item", page_read(), kwargs=item, htmx=True, label="row partial"),
    Case("backlog-item", NOT_ALLOWED, method="post", kwargs=item),
    Case("backlog-edit", unit_owner_or_leader(200), kwargs=item),
    Case("backlog-edit", unit_owner_or_leader(200), kwargs=item, htmx=True, label="row form"),
    Case("backlog-edit", unit_owner_or_leader(302), method="post", kwargs=item, data=edit_data),
    Case("backlog-move", NOT_ALLOWED, kwargs=item),
    Case(
        "backlog-move",
        unit_owner_or_leader(302),
        method="post",
        kwargs=item,
        data=lambda w: {"position": "bottom"},
    ),
    Case(
        "backlog-move",
        unit_owner_or_leader(200),
        method="post",
        kwargs=item,
        htmx=True,
        label="list partial",
        data=lambda w: {"position": "bottom"},
    ),
    Case("backlog-comment-add", NOT_ALLOWED, kwargs=item),
    Case(
        "backlog-comment-add",
        unit_owner_or_leader(302),
        method="post",
        kwargs=item,
        data=lambda w: {"body": "Worth doing"},
    ),
    Case(
        "backlog-comment-add",
        unit_owner_or_leader(200),
        method="post",
        kwargs=item,
        htmx=True,
        label="comments partial",
        data=lambda w: {"body": "Worth doing"},
    ),
    Case("backlog-comment-delete", NOT_ALLOWED, kwargs=_own_comment),
    Case("backlog-comment-delete", unit_owner_or_leader(302), method="post", kwargs=_own_comment),
]
