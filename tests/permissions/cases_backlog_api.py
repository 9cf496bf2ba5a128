"""Permission cases for /api/v1/backlog-items/: every route and method, the five roles.

Reads: anonymous 401, every login 200. Writes (with valid data, so the success path runs):
the owner of the item's unit and leaders succeed; viewers and owners of other units get 403.
"""

from __future__ import annotations

from backlog.services import backlog_item_comment_add
from tests.backlog.factories import BacklogItemFactory
from tests.permissions.spec import Case, World, api_read


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)


def item(w: World) -> dict:
    return {"pk": BacklogItemFactory(product=w.product, title="Faster payslips").pk}


def clustered_item(w: World) -> dict:
    return {"pk": BacklogItemFactory(product=w.clustered, title="Welcome pack").pk}


def own_comment(w: World) -> dict:
    """A comment by the unit's owner: theirs to delete, or a leader's."""
    i = BacklogItemFactory(product=w.product, title="Commented")
    comment = backlog_item_comment_add(actor=w.owner, item=i, body="Mine")
    return {"pk": i.pk, "comment_id": comment.pk}


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


CASES = [
    api("api-backlog-item-list", api_read()),
    api(
        "api-backlog-item-list",
        api_read(),
        query="?status=proposed&status=ready&product=payroll&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-backlog-item-list",
        unit_owner_or_leader(201),
        "post",
        data=lambda w: {"product": w.product.slug, "title": "Payslip by email"},
    ),
    api(
        "api-backlog-item-list",
        unit_owner_or_leader(201),
        "post",
        data=lambda w: {"product": w.clustered.pk, "title": "Buddy list", "position": "top"},
        label="cluster",
    ),
    api("api-backlog-item-list", NOT_ALLOWED, "delete"),
    api("api-backlog-item-detail", api_read(), kwargs=item),
    api(
        "api-backlog-item-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=item,
        data=lambda w: {"status": "ready", "version": 1},
    ),
    api(
        "api-backlog-item-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=clustered_item,
        data=lambda w: {"estimate": "2.5"},
        label="cluster",
    ),
    api(
        "api-backlog-item-detail",
        unit_owner_or_leader(200),
        "put",
        kwargs=item,
        data=lambda w: {"product": w.product.slug, "title": "Payslips in a day", "version": 1},
    ),
    api("api-backlog-item-detail", unit_owner_or_leader(204), "delete", kwargs=item),
    api("api-backlog-item-detail", NOT_ALLOWED, "post", kwargs=item),
    api(
        "api-backlog-item-move",
        unit_owner_or_leader(200),
        "post",
        kwargs=item,
        data=lambda w: {"position": 0},
    ),
    api(
        "api-backlog-item-move",
        unit_owner_or_leader(200),
        "post",
        kwargs=item,
        data=lambda w: {"after": BacklogItemFactory(product=w.product, title="Below me").pk},
        label="after",
    ),
    api("api-backlog-item-move", NOT_ALLOWED, "get", kwargs=item),
    api("api-backlog-item-comments", api_read(), kwargs=item),
    api(
        "api-backlog-item-comments",
        unit_owner_or_leader(201),
        "post",
        kwargs=item,
        data=lambda w: {"body": "Synced from ticketing"},
    ),
    api("api-backlog-item-comments", NOT_ALLOWED, "delete", kwargs=item),
    api("api-backlog-item-comment", unit_owner_or_leader(204), "delete", kwargs=own_comment),
    api("api-backlog-item-comment", NOT_ALLOWED, "get", kwargs=own_comment),
]
