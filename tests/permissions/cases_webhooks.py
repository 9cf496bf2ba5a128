"""Permission cases for the webhooks: pages under /settings/webhooks/ and /api/v1/webhooks/.

Leaders only, everywhere: every other login gets 403 (the pages send anonymous visitors to
the login page, the API answers them 401). Methods a route does not serve answer 405.
"""

from __future__ import annotations

from tests.permissions.cases_pages import NOT_ALLOWED, leader_only
from tests.permissions.spec import Case, World
from webhooks.models import Delivery, Endpoint

URL = "http://127.0.0.1:9/hook"  # allowed in the tests (WEBHOOK_ALLOWED_NETWORKS); never sent


def _endpoint(w: World) -> Endpoint:
    return Endpoint.objects.create(url=URL, event_types=["all"], secret="whsec_0123456789abcdef")


def endpoint(w: World) -> dict:
    return {"pk": _endpoint(w).pk}


def delivery(w: World) -> dict:
    e = _endpoint(w)
    d = Delivery.objects.create(
        endpoint=e, position=1, event_type="ping", object_type="endpoint", object_id=e.pk, body="{}"
    )
    return {"pk": e.pk, "delivery_pk": d.pk}


def api_delivery(w: World) -> dict:
    kwargs = delivery(w)
    return {"pk": kwargs["pk"], "delivery_id": kwargs["delivery_pk"]}


def form(w: World) -> dict:
    return {"url": URL, "description": "CMDB", "event_types": ["product.updated"]}


def api_leaders(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403, "leader": ok}


CASES = [
    Case("webhook-list", leader_only(200)),
    Case("webhook-list", leader_only(200), method="post", data=form, label="made"),
    Case("webhook-list", leader_only(400), method="post", label="no url"),
    Case("webhook-detail", leader_only(200), kwargs=endpoint),
    Case("webhook-detail", leader_only(302), method="post", kwargs=endpoint, data=form),
    Case("webhook-pause", NOT_ALLOWED, kwargs=endpoint),
    Case("webhook-pause", leader_only(302), method="post", kwargs=endpoint),
    Case("webhook-resume", NOT_ALLOWED, kwargs=endpoint),
    Case("webhook-resume", leader_only(302), method="post", kwargs=endpoint),
    Case("webhook-ping", NOT_ALLOWED, kwargs=endpoint),
    Case("webhook-ping", leader_only(302), method="post", kwargs=endpoint),
    Case("webhook-rotate", NOT_ALLOWED, kwargs=endpoint),
    Case("webhook-rotate", leader_only(200), method="post", kwargs=endpoint),
    Case("webhook-delete", leader_only(200), kwargs=endpoint),
    Case("webhook-delete", leader_only(302), method="post", kwargs=endpoint),
    Case("webhook-redeliver", NOT_ALLOWED, kwargs=delivery),
    Case("webhook-redeliver", leader_only(302), method="post", kwargs=delivery),
    # The API.
    Case("api-webhook-list", api_leaders(200), api=True),
    Case("api-webhook-list", api_leaders(201), method="post", data=form, api=True),
    Case("api-webhook-list", api_leaders(400), method="post", data=lambda w: {}, api=True),
    Case("api-webhook-detail", api_leaders(200), kwargs=endpoint, api=True),
    Case(
        "api-webhook-detail",
        api_leaders(200),
        method="patch",
        kwargs=endpoint,
        data=lambda w: {"active": False},
        api=True,
    ),
    Case(
        "api-webhook-detail", api_leaders(200), method="put", kwargs=endpoint, data=form, api=True
    ),
    Case("api-webhook-detail", api_leaders(204), method="delete", kwargs=endpoint, api=True),
    Case(
        "api-webhook-rotate-secret",
        api_leaders(200),
        method="post",
        kwargs=endpoint,
        data=lambda w: {},
        api=True,
    ),
    Case("api-webhook-ping", api_leaders(202), method="post", kwargs=endpoint, api=True),
    Case("api-webhook-deliveries", api_leaders(200), kwargs=endpoint, api=True),
    Case("api-webhook-redeliver", api_leaders(202), method="post", kwargs=api_delivery, api=True),
    Case(
        "api-webhook-redeliver",
        {**api_leaders(405), "viewer": 403, "owner": 403, "other_owner": 403},
        kwargs=api_delivery,
        api=True,
    ),
]
