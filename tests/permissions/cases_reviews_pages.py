"""Permission cases for the review pages: every route, every method, five roles.

Everyone logged in reads cycles, reviews, packets (HTML and PDF) and meeting mode. Only leaders
schedule a cycle, generate its packets, record or remove decisions, close a review or a cycle.
The unit's owner and leaders ask for a new packet version and record and track action items
(403 for viewers and owners of other units). A plain POST that succeeds redirects; htmx gets
the refreshed fragment (200).
"""

from __future__ import annotations

from django.utils import timezone

from reviews import services
from reviews.models import ActionItem, Decision, Packet, PacketStatus, Review, ReviewCycle
from tests.permissions.cases_pages import NOT_ALLOWED, everyone, leader_only, unit_owner_or_leader
from tests.permissions.spec import Case, World, page_read


def _cycle(w: World) -> ReviewCycle:
    """Q1 2030: a review for Payroll and Employee experience (owner) and Intranet (other)."""
    cycle = ReviewCycle.objects.filter(year=2030, quarter=1).first()
    return cycle or services.cycle_schedule(actor=w.leader, year=2030, quarter=1).cycle


def _review(w: World) -> Review:
    return Review.objects.get(cycle=_cycle(w), unit_id=w.product.unit_id)


def _packet(w: World) -> Packet:
    review = _review(w)
    packet = review.packets.first()
    return packet or Packet.objects.create(
        review=review,
        version=1,
        status=PacketStatus.DONE,
        html="<!doctype html><title>Payroll</title><h1>Payroll</h1>",
        pdf=b"%PDF-1.7\n%%EOF\n",
        generated_at=timezone.now(),
        pdf_at=timezone.now(),
    )


def _unprinted_packet(w: World) -> Packet:
    """Generated, never printed: opening its PDF queues the print (the page polls, 202)."""
    return Packet.objects.create(
        review=_review(w),
        version=8,
        status=PacketStatus.DONE,
        html="<!doctype html><title>Payroll</title><h1>Payroll</h1>",
        generated_at=timezone.now(),
    )


def _pending_packet(w: World) -> Packet:
    return Packet.objects.create(review=_review(w), version=9, status=PacketStatus.PENDING)


def _decision(w: World) -> Decision:
    review = _review(w)
    return review.decisions.first() or services.decision_record(
        actor=w.leader, review=review, kind="continue", rationale="Steady as it goes."
    )


def _action(w: World) -> ActionItem:
    review = _review(w)
    return review.action_items.first() or services.action_item_create(
        actor=w.leader, review=review, title="Write the runbook"
    )


def _closed_review(w: World) -> Review:
    review = _review(w)
    _decision(w)
    _action(w)
    if not review.is_closed:
        services.review_close(actor=w.leader, review=review)
    return review


cycle = lambda w: {"pk": _cycle(w).pk}  # noqa: E731
review = lambda w: {"pk": _review(w).pk}  # noqa: E731
decided_review = lambda w: {"pk": _decision(w).review_id}  # noqa: E731
closed_review = lambda w: {"pk": _closed_review(w).pk}  # noqa: E731
meeting_at = lambda w: {"pk": _cycle(w).pk, "review_pk": _review(w).pk}  # noqa: E731
packet = lambda w: {"pk": _packet(w).pk}  # noqa: E731
pending = lambda w: {"pk": _pending_packet(w).pk}  # noqa: E731
unprinted = lambda w: {"pk": _unprinted_packet(w).pk}  # noqa: E731
decision = lambda w: {"pk": _decision(w).pk}  # noqa: E731
action = lambda w: {"pk": _action(w).pk}  # noqa: E731
closed_action = lambda w: {"pk": _closed_review(w).action_items.first().pk}  # noqa: E731
other_review = lambda w: {  # noqa: E731
    "pk": Review.objects.get(cycle=_cycle(w), unit_id=w.other_product.unit_id).pk
}
missing = lambda w: {"pk": 999999}  # noqa: E731

schedule = lambda w: {"year": 2031, "quarter": 2}  # noqa: E731
a_decision = lambda w: {"kind": "invest", "rationale": "Adoption doubled."}  # noqa: E731
an_action = lambda w: {"title": "Measure adoption", "due_on": "2030-03-31"}  # noqa: E731

CASES = [
    # cycles
    Case("review-cycle-list", page_read()),
    Case("review-cycle-list", NOT_ALLOWED, method="post"),
    Case("review-cycle-schedule", leader_only(302), method="post", data=schedule),
    Case(
        "review-cycle-schedule",
        leader_only(200),
        method="post",
        data=schedule,
        htmx=True,
        label="htmx redirect",
    ),
    Case(
        "review-cycle-schedule",
        leader_only(400),
        method="post",
        data=lambda w: {"year": 2031},
        label="no quarter",
    ),
    Case("review-cycle-schedule", NOT_ALLOWED, label="get"),
    Case("review-cycle", page_read(), kwargs=cycle),
    Case("review-cycle", page_read(), kwargs=cycle, htmx=True, label="agenda partial"),
    Case("review-cycle", everyone(404), kwargs=missing, label="missing"),
    Case("review-cycle", NOT_ALLOWED, method="post", kwargs=cycle),
    Case("review-cycle-packets", leader_only(302), method="post", kwargs=cycle),
    Case(
        "review-cycle-packets",
        leader_only(200),
        method="post",
        kwargs=cycle,
        htmx=True,
        label="progress",
    ),
    Case("review-cycle-packets", NOT_ALLOWED, kwargs=cycle),
    Case("review-cycle-progress", page_read(), kwargs=cycle),
    Case("review-cycle-progress", page_read(), kwargs=cycle, htmx=True, label="partial"),
    Case("review-cycle-progress", NOT_ALLOWED, method="post", kwargs=cycle),
    Case("review-cycle-close", leader_only(409), method="post", kwargs=cycle, label="open"),
    Case("review-cycle-close", NOT_ALLOWED, kwargs=cycle),
    # meeting mode
    Case("review-meeting", page_read(), kwargs=cycle),
    Case("review-meeting", everyone(404), kwargs=cycle, query="?review=abc", label="bad review"),
    Case("review-meeting", NOT_ALLOWED, method="post", kwargs=cycle),
    Case("review-meeting-review", page_read(), kwargs=meeting_at),
    Case("review-meeting-review", NOT_ALLOWED, method="post", kwargs=meeting_at),
    # one review
    Case("review-detail", page_read(), kwargs=review),
    Case("review-detail", page_read(), kwargs=review, htmx=True, label="packets partial"),
    Case("review-detail", everyone(404), kwargs=missing, label="missing"),
    Case("review-detail", NOT_ALLOWED, method="post", kwargs=review),
    Case("review-packet-request", unit_owner_or_leader(302), method="post", kwargs=review),
    Case(
        "review-packet-request",
        unit_owner_or_leader(200),
        method="post",
        kwargs=review,
        htmx=True,
        label="packets",
    ),
    Case("review-packet-request", NOT_ALLOWED, kwargs=review),
    Case(
        "review-decision-create",
        leader_only(302),
        method="post",
        kwargs=review,
        data=a_decision,
    ),
    Case(
        "review-decision-create",
        leader_only(200),
        method="post",
        kwargs=review,
        data=a_decision,
        htmx=True,
        label="list",
    ),
    Case(
        "review-decision-create",
        leader_only(400),
        method="post",
        kwargs=review,
        data=lambda w: {"kind": "invest"},
        label="no rationale",
    ),
    Case(
        "review-decision-create",
        leader_only(409),
        method="post",
        kwargs=closed_review,
        data=a_decision,
        label="closed",
    ),
    Case("review-decision-create", NOT_ALLOWED, kwargs=review),
    Case("review-decision-delete", leader_only(302), method="post", kwargs=decision),
    Case("review-decision-delete", NOT_ALLOWED, kwargs=decision),
    Case(
        "review-action-create",
        unit_owner_or_leader(302),
        method="post",
        kwargs=review,
        data=an_action,
    ),
    Case(
        "review-action-create",
        unit_owner_or_leader(200),
        method="post",
        kwargs=review,
        data=an_action,
        htmx=True,
        label="list",
    ),
    Case(
        "review-action-create",
        unit_owner_or_leader(400),
        method="post",
        kwargs=review,
        data=lambda w: {"title": ""},
        label="no title",
    ),
    Case(
        "review-action-create",
        {"anonymous": 302, "viewer": 403, "owner": 403, "other_owner": 200, "leader": 200},
        method="post",
        kwargs=other_review,
        data=an_action,
        htmx=True,
        label="other unit",
    ),
    Case("review-action-create", NOT_ALLOWED, kwargs=review),
    Case(
        "review-action-done",
        unit_owner_or_leader(302),
        method="post",
        kwargs=action,
        data=lambda w: {"done": "on"},
    ),
    Case(
        "review-action-done",
        unit_owner_or_leader(200),
        method="post",
        kwargs=closed_action,
        data=lambda w: {"done": "on"},
        htmx=True,
        label="after close",
    ),
    Case("review-action-done", NOT_ALLOWED, kwargs=action),
    Case("review-action-backlog", unit_owner_or_leader(302), method="post", kwargs=action),
    Case(
        "review-action-backlog",
        unit_owner_or_leader(200),
        method="post",
        kwargs=action,
        htmx=True,
        label="list",
    ),
    Case("review-action-backlog", NOT_ALLOWED, kwargs=action),
    Case("review-action-delete", unit_owner_or_leader(302), method="post", kwargs=action),
    Case(
        "review-action-delete",
        unit_owner_or_leader(409),
        method="post",
        kwargs=closed_action,
        label="closed",
    ),
    Case("review-action-delete", NOT_ALLOWED, kwargs=action),
    Case("review-close", leader_only(302), method="post", kwargs=decided_review),
    Case(
        "review-close",
        leader_only(200),
        method="post",
        kwargs=decided_review,
        htmx=True,
        label="htmx redirect",
    ),
    Case("review-close", leader_only(409), method="post", kwargs=review, label="no decision"),
    Case("review-close", NOT_ALLOWED, kwargs=review),
    # packets
    Case("packet-detail", page_read(), kwargs=packet),
    Case("packet-detail", everyone(409), kwargs=pending, label="not ready"),
    Case("packet-detail", everyone(404), kwargs=missing, label="missing"),
    Case("packet-detail", NOT_ALLOWED, method="post", kwargs=packet),
    Case("packet-pdf", page_read(), kwargs=packet),
    Case("packet-pdf", everyone(409), kwargs=pending, label="not ready"),
    Case("packet-pdf", everyone(202), kwargs=unprinted, label="printed on request"),
    Case("packet-pdf", NOT_ALLOWED, method="post", kwargs=packet),
]
