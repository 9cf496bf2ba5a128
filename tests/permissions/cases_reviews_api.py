"""Permission cases for /api/v1/review-cycles/, reviews/, review-packets/, decisions/ and
action-items/.

Reads: anonymous 401, every login 200. Scheduling, packet fan-out, moving, closing and
decisions: leaders only (everyone else 403). Asking for a packet and action items: the owner of
the review's unit and leaders; viewers and owners of other units 403. Writes use valid data, so
the success path runs. Packets are never written here: every write on them is 405.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from reviews.models import ActionItem, Decision, Packet, PacketStatus, Review, ReviewCycle
from tests.permissions.spec import Case, World, api_read

NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)
MONDAY = dt.date(2030, 1, 7)


def leaders_only(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403, "leader": ok}


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


def _review(w: World) -> Review:
    cycle = ReviewCycle.objects.create(
        year=2030, quarter=1, starts_on=MONDAY, ends_on=MONDAY + dt.timedelta(days=4)
    )
    return Review.objects.create(
        cycle=cycle, unit=w.product.unit, owner=w.owner_person, scheduled_on=MONDAY
    )


def cycle(w: World) -> dict:
    return {"pk": _review(w).cycle_id}


def closed_cycle_ready(w: World) -> dict:
    """A cycle whose only review is closed, so it can close."""
    review = _review(w)
    Review.objects.filter(pk=review.pk).update(status="closed")
    return {"pk": review.cycle_id}


def review(w: World) -> dict:
    return {"pk": _review(w).pk}


def decided_review(w: World) -> dict:
    found = _review(w)
    Decision.objects.create(review=found, kind="continue", rationale="Stable.")
    return {"pk": found.pk}


def decision(w: World) -> dict:
    return {"pk": Decision.objects.create(review=_review(w), kind="invest", rationale="Grow.").pk}


def action_item(w: World) -> dict:
    return {"pk": ActionItem.objects.create(review=_review(w), title="Write the runbook").pk}


def packet(w: World) -> dict:
    found = Packet.objects.create(
        review=_review(w),
        version=1,
        status=PacketStatus.DONE,
        html="<html><body>Payroll</body></html>",
        pdf=b"%PDF-1.7 test",
        generated_at=timezone.now(),
        pdf_at=timezone.now(),
    )
    return {"pk": found.pk}


def unprinted_packet(w: World) -> dict:
    """Generated but never printed: asking for its PDF queues the print and answers 409."""
    found = Packet.objects.create(
        review=_review(w),
        version=2,
        status=PacketStatus.DONE,
        html="<html><body>Payroll</body></html>",
        generated_at=timezone.now(),
    )
    return {"pk": found.pk}


def with_review(w: World) -> dict:
    """No URL arguments; the body names the review made here."""
    _review(w)
    return {}


def review_data(**extra):
    return lambda w: {"review": Review.objects.get().pk, **extra}


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


CASES = [
    # cycles
    api("api-review-cycle-list", api_read()),
    api(
        "api-review-cycle-list",
        api_read(),
        query="?year=2030&status=scheduled&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-review-cycle-list",
        leaders_only(201),
        "post",
        data=lambda w: {"year": 2030, "quarter": 2},
    ),
    api("api-review-cycle-list", NOT_ALLOWED, "delete"),
    api("api-review-cycle-detail", api_read(), kwargs=cycle),
    api("api-review-cycle-detail", NOT_ALLOWED, "patch", kwargs=cycle, data=lambda w: {}),
    api("api-review-cycle-detail", NOT_ALLOWED, "delete", kwargs=cycle),
    api("api-review-cycle-generate-packets", leaders_only(202), "post", kwargs=cycle),
    api("api-review-cycle-generate-packets", NOT_ALLOWED, "get", kwargs=cycle),
    api("api-review-cycle-close", leaders_only(200), "post", kwargs=closed_cycle_ready),
    api("api-review-cycle-close", NOT_ALLOWED, "get", kwargs=cycle),
    # reviews
    api("api-review-list", api_read()),
    api(
        "api-review-list",
        api_read(),
        query="?cycle=1&unit=1&owner=1&status=closed&from=2030-01-01&to=2030-03-31"
        "&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api("api-review-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-review-detail", api_read(), kwargs=review),
    api(
        "api-review-detail",
        leaders_only(200),
        "patch",
        kwargs=review,
        data=lambda w: {"scheduled_on": "2030-01-09"},
    ),
    api("api-review-detail", NOT_ALLOWED, "put", kwargs=review, data=lambda w: {}),
    api("api-review-detail", NOT_ALLOWED, "delete", kwargs=review),
    api(
        "api-review-close",
        leaders_only(200),
        "post",
        kwargs=decided_review,
        data=lambda w: {"summary": "Keep going."},
    ),
    api("api-review-close", NOT_ALLOWED, "get", kwargs=review),
    api("api-review-packets", unit_owner_or_leader(202), "post", kwargs=review),
    api("api-review-packets", NOT_ALLOWED, "get", kwargs=review),
    # packets: metadata and downloads, read-only
    api("api-review-packet-list", api_read()),
    api(
        "api-review-packet-list",
        api_read(),
        query="?review=1&cycle=1&status=done",
        label="filtered",
    ),
    api("api-review-packet-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-review-packet-detail", api_read(), kwargs=packet),
    api("api-review-packet-detail", NOT_ALLOWED, "patch", kwargs=packet, data=lambda w: {}),
    api("api-review-packet-detail", NOT_ALLOWED, "delete", kwargs=packet),
    api("api-review-packet-html", api_read(), kwargs=packet),
    api("api-review-packet-html", NOT_ALLOWED, "post", kwargs=packet),
    api("api-review-packet-pdf", api_read(), kwargs=packet),
    api("api-review-packet-pdf", NOT_ALLOWED, "delete", kwargs=packet),
    api(
        "api-review-packet-pdf",
        api_read(viewer=409, owner=409, other_owner=409, leader=409),
        kwargs=unprinted_packet,
        label="printed on request",
    ),
    # decisions
    api("api-decision-list", api_read()),
    api(
        "api-decision-list",
        api_read(),
        query="?review=1&unit=1&cycle=1&kind=invest&kind=retire",
        label="filtered",
    ),
    api(
        "api-decision-list",
        leaders_only(201),
        "post",
        kwargs=with_review,
        data=review_data(kind="optimise", rationale="Cost per user is high."),
    ),
    api("api-decision-detail", api_read(), kwargs=decision),
    api("api-decision-detail", leaders_only(204), "delete", kwargs=decision),
    api("api-decision-detail", NOT_ALLOWED, "patch", kwargs=decision, data=lambda w: {}),
    # action items
    api("api-action-item-list", api_read()),
    api(
        "api-action-item-list",
        api_read(),
        query="?review=1&unit=1&cycle=1&owner=1&done=false&followed_through=true",
        label="filtered",
    ),
    api(
        "api-action-item-list",
        unit_owner_or_leader(201),
        "post",
        kwargs=with_review,
        data=review_data(title="Write the runbook", due_on="2030-02-01"),
    ),
    api("api-action-item-detail", api_read(), kwargs=action_item),
    api(
        "api-action-item-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=action_item,
        data=lambda w: {"done": True},
    ),
    api("api-action-item-detail", unit_owner_or_leader(204), "delete", kwargs=action_item),
    api("api-action-item-detail", NOT_ALLOWED, "put", kwargs=action_item, data=lambda w: {}),
    api("api-action-item-to-backlog", unit_owner_or_leader(201), "post", kwargs=action_item),
    api("api-action-item-to-backlog", NOT_ALLOWED, "get", kwargs=action_item),
]
