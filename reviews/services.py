"""Writes on quarterly reviews: scheduling a cycle, packets, and what the meeting records.

Who: leaders schedule cycles, ask for packets, record decisions and close reviews; the unit's
owner and leaders record action items and their follow-through. A closed review is locked:
its decisions and action items can no longer be added, changed or removed; only whether an
action was done (by hand, or through the backlog item it became) keeps being tracked.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from backlog.models import BacklogItem
from backlog.services import backlog_item_create
from portfolio import events, outbox
from portfolio.errors import RuleViolation, ValidationFailed
from portfolio.models import OutboxMessage
from portfolio.permissions import AnyUser, require_leader
from portfolio.validation import date_range_error
from portfolio.versioning import check_version
from products.models import ManagementModel, OwnershipUnit, Person, Product, Stage
from products.permissions import require_unit_editor
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    DecisionKind,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
    quarter_bounds,
)
from reviews.packets import build_packet_data, render_packet_html, render_packet_pdf

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# --- Scheduling ----------------------------------------------------------------------------------


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def reviewable_units() -> QuerySet[OwnershipUnit]:
    """Current units with at least one live product run as a product (projects need no review)."""
    live = Product.objects.filter(
        unit_id=OuterRef("pk"), management_model=ManagementModel.PRODUCT
    ).exclude(lifecycle_stage=Stage.RETIRED)
    return OwnershipUnit.objects.filter(is_active=True).filter(Exists(live))


class Overbooked(Exception):
    """An owner has more units than the cycle has working days."""

    def __init__(self, owner_id: int | None):
        super().__init__(owner_id)
        self.owner_id = owner_id


@dataclass
class ScheduleResult:
    cycle: ReviewCycle
    created: int
    existing: int


def plan_dates(
    units: Sequence[tuple[int, int | None]],
    days: list[dt.date],
    taken: dict[int | None, set[dt.date]] | None = None,
    load: dict[dt.date, int] | None = None,
) -> dict[int, tuple[dt.date, int]]:
    """Give each (unit, owner) a day: spread evenly, never two reviews of one owner on a day.

    Owners with the most units go first (they have the fewest choices); each unit takes the
    least busy day its owner is still free on, the earliest on a tie. Units without an owner
    have no one to double-book. Returns unit -> (day, position in that day).
    """
    taken = defaultdict(set, {k: set(v) for k, v in (taken or {}).items()})
    load = defaultdict(int, load or {})
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for unit_id, owner_id in units:
        by_owner[owner_id].append(unit_id)
    order = sorted(by_owner, key=lambda o: (o is None, -len(by_owner[o]), o or 0))
    plan: dict[int, tuple[dt.date, int]] = {}
    for owner_id in order:
        for unit_id in sorted(by_owner[owner_id]):
            free = [d for d in days if owner_id is None or d not in taken[owner_id]]
            if not free:
                raise Overbooked(owner_id)
            day = min(free, key=lambda d: (load[d], d))
            plan[unit_id] = (day, load[day])
            load[day] += 1
            if owner_id is not None:
                taken[owner_id].add(day)
    return plan


# The longest rationale and meeting notes accepted, on the pages and the API alike.
MAX_RATIONALE = 20000
MAX_SUMMARY = 20000

# A cycle's meetings fit in a year: a longer span is a typing slip, and the scheduler walks
# every day between the dates.
MAX_CYCLE_DAYS = 366


def cycle_dates_problems(
    *, year: int, starts_on: dt.date | None, ends_on: dt.date | None
) -> dict[str, list[str]]:
    """What is wrong with a cycle's own dates (at most one problem; empty when they are fine).

    The API serializer, the schedule page's form and the service all ask this one function,
    so a date the API refuses is refused on the page with the same words.
    """
    for name, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if day is not None and (problem := date_range_error(day)):
            return {name: [problem]}
    if starts_on and ends_on and starts_on > ends_on:
        return {"ends_on": ["Must not be before `starts_on`."]}
    if starts_on and ends_on and (ends_on - starts_on).days > MAX_CYCLE_DAYS:
        return {"ends_on": ["A cycle spans at most a year."]}
    for name, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if day is not None and abs(day.year - year) > 1:
            return {name: ["Keep the cycle's dates within a year of its quarter."]}
    return {}


@transaction.atomic
def cycle_schedule(
    *,
    actor: AnyUser,
    year: int,
    quarter: int,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> ScheduleResult:
    """Schedule a review for every reviewable unit in the quarter (leaders).

    Safe to run again: units that already have a review in the cycle keep it; units added
    since get one on a day their owner is free.
    """
    actor = require_leader(actor, "schedule quarterly reviews")
    if quarter not in (1, 2, 3, 4):
        raise ValidationFailed({"quarter": ["Choose a quarter from 1 to 4."]})
    if not 2000 <= year <= 2100:
        raise ValidationFailed({"year": ["Choose a year between 2000 and 2100."]})
    problems = cycle_dates_problems(year=year, starts_on=starts_on, ends_on=ends_on)
    if problems:
        raise ValidationFailed(problems)
    first, last = quarter_bounds(year, quarter)
    cycle = ReviewCycle.objects.select_for_update().filter(year=year, quarter=quarter).first()
    is_new = cycle is None
    if cycle is None:
        starts_on, ends_on = starts_on or first, ends_on or last
        if starts_on > ends_on:
            raise ValidationFailed({"ends_on": ["The cycle must end on or after its start."]})
        cycle = ReviewCycle.objects.create(
            year=year, quarter=quarter, starts_on=starts_on, ends_on=ends_on, created_by=actor
        )
    elif cycle.status == CycleStatus.CLOSED:
        raise RuleViolation(f"{cycle.label} is closed.", rule="cycle_closed")
    days = working_days(cycle.starts_on, cycle.ends_on)
    if not days:
        raise ValidationFailed({"ends_on": ["The cycle has no working day (Monday to Friday)."]})
    existing = list(cycle.reviews.values_list("unit_id", "owner_id", "scheduled_on"))
    have = {unit_id for unit_id, _, _ in existing}
    taken: dict[int | None, set[dt.date]] = defaultdict(set)
    load: dict[dt.date, int] = defaultdict(int)
    for _unit, owner_id, day in existing:
        if owner_id is not None:
            taken[owner_id].add(day)
        load[day] += 1
    todo = [
        (u, o) for u, o in reviewable_units().exclude(pk__in=have).values_list("pk", "owner_id")
    ]
    try:
        plan = plan_dates(todo, days, taken, load)
    except Overbooked as exc:
        # pk=None is a valid lookup that matches nothing; the stubs refuse None for pk.
        name = Person.objects.filter(pk=exc.owner_id).values_list("name", flat=True).first()  # type: ignore[misc]
        raise RuleViolation(
            f"{name} owns more units than {cycle.label} has working days "
            f"({len(days)}); widen the cycle's dates or hand a unit to another owner first.",
            field="ends_on",
            rule="owner_double_booked",
        ) from exc
    owners = dict(todo)
    Review.objects.bulk_create(
        Review(
            cycle=cycle,
            unit_id=unit_id,
            owner_id=owners[unit_id],
            scheduled_on=day,
            position=position,
        )
        for unit_id, (day, position) in sorted(plan.items())
    )
    if is_new or plan:
        changed = {"reviews": [len(have), len(have) + len(plan)]}
        events.record("review_cycle.scheduled", cycle, actor=actor, changed=changed)
    return ScheduleResult(cycle, created=len(plan), existing=len(have))


@transaction.atomic
def review_reschedule(
    *, actor: AnyUser, review: Review, scheduled_on: dt.date, version: int | None = None
) -> Review:
    """Move a review to another day. With `version`, refuse if it changed since then."""
    require_leader(actor, "move a review")
    review = (
        Review.objects.select_for_update(of=("self",)).select_related("cycle").get(pk=review.pk)
    )
    check_version(review, version, name=f"The review of {review.scheduled_on}")
    _refuse_closed(review)
    cycle = review.cycle
    if not cycle.starts_on <= scheduled_on <= cycle.ends_on:
        raise ValidationFailed(
            {
                "scheduled_on": [
                    f"Pick a day within {cycle.label}: {cycle.starts_on} to {cycle.ends_on}."
                ]
            }
        )
    if (
        review.owner_id
        and cycle.reviews.filter(owner_id=review.owner_id, scheduled_on=scheduled_on)
        .exclude(pk=review.pk)
        .exists()
    ):
        raise RuleViolation(
            "The owner already has a review that day.",
            field="scheduled_on",
            rule="owner_double_booked",
        )
    position = cycle.reviews.filter(scheduled_on=scheduled_on).aggregate(m=Max("position"))["m"]
    before = events.values_of(review, ["scheduled_on", "position"])
    review.scheduled_on = scheduled_on
    review.position = 0 if position is None else position + 1
    review.save(update_fields=["scheduled_on", "position", "updated_at"])
    changed = events.diff(before, events.values_of(review, ["scheduled_on", "position"]))
    events.record("review.rescheduled", review, actor=actor, changed=changed)
    return review


# --- Packets -------------------------------------------------------------------------------------


GENERATE_PACKET = "reviews.tasks.generate_packet"
PACKET_JOB = "review packet"  # how the packet jobs' events name who made them
PDF_JOB = "review packet PDF"
RENDER_PDF = "reviews.tasks.render_pdf"


def _pdf_key(packet_id: int) -> str:
    """The outbox key of a packet's print: one open print message per packet."""
    return f"packet-pdf:{packet_id}"


def _dispatch_packet(packet_id: int) -> None:
    """Queue the packet's generation through the outbox; asking again while it is pending
    re-sends the same message (whatever became of the first one) instead of adding one."""
    outbox.enqueue(GENERATE_PACKET, packet_id, outbox_key=f"packet:{packet_id}")


def _new_packet(review: Review, actor: User) -> Packet:
    version = (review.packets.aggregate(m=Max("version"))["m"] or 0) + 1
    packet = Packet.objects.create(review=review, version=version, requested_by=actor)
    _dispatch_packet(packet.pk)
    events.record("review_packet.requested", packet, actor=actor)
    return packet


@transaction.atomic
def packet_request(*, actor: AnyUser, review: Review) -> Packet:
    """A new version of the review's packet (leaders or the unit's owner). Old ones stay.

    While a version is still pending, asking again returns it and sends its job again: a job
    lost with the broker or a killed worker is not waited for forever.
    """
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("unit__owner")
        .get(pk=review.pk)
    )
    actor = require_unit_editor(actor, review.unit, "prepare the review packet")
    _refuse_closed(review)
    pending = review.packets.filter(status=PacketStatus.PENDING).first()
    if pending is not None:
        _dispatch_packet(pending.pk)
        return pending
    return _new_packet(review, actor)


@dataclass
class FanOut:
    queued: int
    already: int


@transaction.atomic
def cycle_generate_packets(*, actor: AnyUser, cycle: ReviewCycle, dispatch: bool = True) -> FanOut:
    """Queue one packet task per review of the cycle that has none yet (or only failed ones).

    Running it again makes no new packets while packets exist, and sends the jobs of those
    still pending again (one outbox message per packet, so nothing is queued twice).
    `dispatch=False` only makes the pending packets: the caller runs `generate_packet` on
    them itself (the demo builds them in-process, the benchmark sends them to its worker).
    """
    actor = require_leader(actor, "generate the cycle's packets")
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    reviews = list(
        cycle.reviews.filter(status=ReviewStatus.SCHEDULED)
        .annotate(
            usable=Count("packets", filter=~Q(packets__status=PacketStatus.FAILED)),
            versions=Max("packets__version"),
        )
        .order_by("scheduled_on", "position", "id")
    )
    todo = [r for r in reviews if r.usable == 0]
    packets = Packet.objects.bulk_create(
        Packet(review=r, version=(r.versions or 0) + 1, requested_by=actor) for r in todo
    )
    events.record_many("review_packet.requested", [p.pk for p in packets], actor=actor)
    if dispatch:
        had = [r for r in reviews if r.usable]
        waiting = (
            Packet.objects.filter(review__in=had, status=PacketStatus.PENDING).values_list(
                "pk", flat=True
            )
            if had
            else []
        )
        ids = [p.pk for p in packets] + list(waiting)
        outbox.enqueue_many(
            GENERATE_PACKET, [(pk,) for pk in ids], keys=[f"packet:{pk}" for pk in ids]
        )
    return FanOut(queued=len(todo), already=len(reviews) - len(todo))


def packet_generate(*, packet_id: int, pdf: bool = True) -> str:
    """Freeze the review's data into the packet and render its HTML; then queue the PDF.

    Called by the `generate_packet` task, as often as the broker delivers it: the packet row
    stays locked from the check to the write, so a packet is generated once however many
    deliveries race; a packet already generated is left alone (its data never changes).
    `pdf=False` leaves the PDF to a later `render_pdf`. Returns the packet's outcome:
    "gone", "done" or "failed".
    """
    with transaction.atomic():
        packet = (
            Packet.objects.select_for_update(of=("self",))
            .select_related("review")
            .filter(pk=packet_id)
            .first()
        )
        if packet is None:
            return "gone"
        if packet.status == PacketStatus.DONE:
            if pdf and packet.pdf_at is None:
                outbox.enqueue(RENDER_PDF, packet_id, outbox_key=_pdf_key(packet_id))
            return "done"
        try:
            with transaction.atomic():
                data = build_packet_data(packet.review)
                html = render_packet_html(data)
        except (OperationalError, InterfaceError):
            raise  # the database went away: the task retries
        except Exception as exc:
            logger.exception("Packet %s failed", packet_id)
            packet.status = PacketStatus.FAILED
            packet.error = f"{type(exc).__name__}: {exc}"[:2000]
            packet.save(update_fields=["status", "error"])
            events.record(
                "review_packet.failed",
                packet,
                actor=None,
                job=PACKET_JOB,
                changed={"status": [PacketStatus.PENDING, PacketStatus.FAILED]},
            )
            return "failed"
        packet.data, packet.html, packet.error = data, html, ""
        packet.status, packet.generated_at = PacketStatus.DONE, timezone.now()
        packet.save(update_fields=["data", "html", "error", "status", "generated_at"])
        events.record(
            "review_packet.generated",
            packet,
            actor=None,
            job=PACKET_JOB,
            changed={"status": [PacketStatus.PENDING, PacketStatus.DONE]},
        )
        if pdf:
            outbox.enqueue(RENDER_PDF, packet_id, outbox_key=_pdf_key(packet_id))
        transaction.on_commit(lambda: logger.info("Packet %s generated", packet_id))
    return "done"


def packet_print(*, packet_id: int) -> int | None:
    """Print the packet's stored HTML to PDF (the HTML, not the live data: it stays frozen).

    Called by the `render_pdf` task; the row is locked while printing, so a PDF is printed
    once however many deliveries race. Returns the PDF's size, 0 if it was already printed,
    None if the packet is gone or not generated.
    """
    with transaction.atomic():
        packet = (
            Packet.objects.select_for_update()
            .filter(pk=packet_id)
            .only("status", "html", "pdf_at")
            .first()
        )
        if packet is None or packet.status != PacketStatus.DONE:
            return None
        if packet.pdf_at is not None:
            return 0
        packet.pdf, packet.pdf_at = render_packet_pdf(packet.html), timezone.now()
        packet.save(update_fields=["pdf", "pdf_at"])
        events.record("review_packet.printed", packet_id, actor=None, job=PDF_JOB)
        transaction.on_commit(lambda: logger.info("Packet %s printed", packet_id))
        return len(packet.pdf)


@transaction.atomic
def packet_print_request(*, packet_id: int) -> bool:
    """Make sure a generated packet without a PDF gets printed: anyone who may read the packet
    asks for it by opening its PDF, so no packet waits forever for a print nobody queued (the
    demo builder, a lost message, a packet made with `pdf=False`).

    The print goes through the outbox under the packet's PDF key; while a message under that
    key is open and published it is not sent again (a page that polls asks many times), and
    `outbox_redeliver` publishes it again if its worker lost it. Returns whether a print is
    owed (False: the packet is gone, not generated yet, or already printed).
    """
    packet = Packet.objects.filter(pk=packet_id).only("status", "pdf_at").first()
    if packet is None or packet.status != PacketStatus.DONE or packet.pdf_at is not None:
        return False
    published = OutboxMessage.objects.filter(
        key=_pdf_key(packet_id), done_at__isnull=True, published_at__isnull=False
    ).exists()
    if not published:
        outbox.enqueue(RENDER_PDF, packet_id, outbox_key=_pdf_key(packet_id))
    return True


def review_reminder_claim(*, review: Review) -> bool:
    """Stamp the review's reminder as sent, unless it already is; True when this call did it.

    The reminder task mails inside the same transaction, so a reminder goes once."""
    return bool(
        Review.objects.filter(pk=review.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=timezone.now()
        )
    )


# --- The meeting ---------------------------------------------------------------------------------


def _refuse_closed(review: Review) -> None:
    if review.status == ReviewStatus.CLOSED:
        raise RuleViolation(
            "This review is closed; its record can no longer change.", rule="review_closed"
        )


def _locked_review(review: Review) -> Review:
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("unit__owner")
        .get(pk=review.pk)
    )


@transaction.atomic
def decision_record(*, actor: AnyUser, review: Review, kind: str, rationale: str) -> Decision:
    """The meeting's decision on the unit (leaders), with its rationale."""
    actor = require_leader(actor, "record review decisions")
    review = _locked_review(review)
    _refuse_closed(review)
    errors = {}
    if kind not in DecisionKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(DecisionKind.values)}."]
    if not (rationale or "").strip():
        errors["rationale"] = ["Say why: the rationale is what the next review reads."]
    if errors:
        raise ValidationFailed(errors)
    decision = Decision.objects.create(
        review=review, kind=kind, rationale=rationale.strip(), decided_by=actor
    )
    events.record("decision.recorded", decision, actor=actor)
    return decision


@transaction.atomic
def decision_delete(*, actor: AnyUser, decision: Decision, version: int | None = None) -> None:
    require_leader(actor, "remove review decisions")
    _refuse_closed(_locked_review(decision.review))
    if version is not None:
        decision = Decision.objects.select_for_update().get(pk=decision.pk)
        check_version(decision, version, name="The decision")
    events.record("decision.deleted", decision, actor=actor, data=None)
    decision.delete()


@transaction.atomic
def action_item_create(
    *,
    actor: AnyUser,
    review: Review,
    title: str,
    owner: Person | None = None,
    due_on: dt.date | None = None,
) -> ActionItem:
    review = _locked_review(review)
    actor = require_unit_editor(actor, review.unit, "record action items")
    _refuse_closed(review)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed({"title": ["Say what is to be done."]})
    if len(title) > 200:
        raise ValidationFailed({"title": ["Keep it under 200 characters."]})
    item = ActionItem.objects.create(
        review=review,
        title=title,
        owner=owner or review.unit.owner,
        due_on=due_on,
        created_by=actor,
    )
    events.record("action_item.created", item, actor=actor)
    return item


@transaction.atomic
def action_item_set_done(
    *, actor: AnyUser, item: ActionItem, done: bool, version: int | None = None
) -> ActionItem:
    """Follow-through: allowed after the review closed too."""
    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("review__unit__owner")
        .get(pk=item.pk)
    )
    check_version(item, version, name=f"'{item.title}'")
    require_unit_editor(actor, item.review.unit, "track action items")
    was_done = item.done
    item.done = done
    item.done_at = timezone.now() if done else None
    item.save(update_fields=["done", "done_at", "updated_at"])
    if was_done != done:
        events.record("action_item.updated", item, actor=actor, changed={"done": [was_done, done]})
    return item


@transaction.atomic
def action_item_delete(*, actor: AnyUser, item: ActionItem, version: int | None = None) -> None:
    review = _locked_review(item.review)
    require_unit_editor(actor, review.unit, "remove action items")
    _refuse_closed(review)
    if version is not None:
        item = ActionItem.objects.select_for_update().get(pk=item.pk)
        check_version(item, version, name=f"'{item.title}'")
    events.record("action_item.deleted", item, actor=actor, data=None)
    item.delete()


@transaction.atomic
def action_item_to_backlog(
    *, actor: AnyUser, item: ActionItem, product: Product | None = None
) -> BacklogItem:
    """Turn an action into an item at the top of the unit's backlog (source: review action)."""

    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("review__unit__owner")
        .get(pk=item.pk)
    )
    unit = item.review.unit
    require_unit_editor(actor, unit, "add to the backlog")
    if item.backlog_item_id is not None:
        raise RuleViolation(
            "This action is already on the backlog.",
            field="backlog_item",
            rule="already_on_backlog",
        )
    members = Product.objects.filter(unit_id=unit.pk).exclude(lifecycle_stage=Stage.RETIRED)
    if product is None:
        # A product's own unit: the product; a cluster (product_id None, and pk=None matches
        # nothing, a lookup the stubs refuse): its first member by name.
        product = members.filter(pk=unit.product_id).first() or members.order_by("name").first()  # type: ignore[misc]
    elif not members.filter(pk=product.pk).exists():
        raise ValidationFailed({"product": [f"{product.name} is not part of {unit.name}."]})
    if product is None:
        raise RuleViolation(
            f"{unit.name} has no live product whose backlog could take it.",
            rule="backlog_frozen",
        )
    backlog_item = backlog_item_create(
        actor=actor,
        product=product,
        title=item.title,
        position="top",
        source="review_action",
        description=f"Action from the {item.review.cycle.label} review.",
    )
    item.backlog_item = backlog_item
    item.save(update_fields=["backlog_item", "updated_at"])
    events.record(
        "action_item.updated", item, actor=actor, changed={"backlog_item": [None, backlog_item.pk]}
    )
    return backlog_item


@transaction.atomic
def review_close(*, actor: AnyUser, review: Review, summary: str | None = None) -> Review:
    """Close the review (leaders): from now on its record is locked."""
    actor = require_leader(actor, "close reviews")
    review = _locked_review(review)
    _refuse_closed(review)
    if not review.decisions.exists():
        raise RuleViolation(
            "Record at least one decision before closing the review.",
            rule="decision_required",
        )
    was = review.status
    if summary is not None:
        review.summary = summary
    review.status = ReviewStatus.CLOSED
    review.closed_at = timezone.now()
    review.closed_by = actor
    review.save(update_fields=["status", "closed_at", "closed_by", "summary", "updated_at"])
    events.record("review.closed", review, actor=actor, changed={"status": [was, review.status]})
    return review


@transaction.atomic
def cycle_close(*, actor: AnyUser, cycle: ReviewCycle) -> ReviewCycle:
    require_leader(actor, "close a review cycle")
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    open_reviews = cycle.reviews.exclude(status=ReviewStatus.CLOSED).count()
    if open_reviews:
        raise RuleViolation(
            f"{open_reviews} review(s) of {cycle.label} are still open; close them first.",
            rule="reviews_open",
        )
    was = cycle.status
    cycle.status = CycleStatus.CLOSED
    cycle.save(update_fields=["status", "updated_at"])
    events.record(
        "review_cycle.closed", cycle, actor=actor, changed={"status": [was, cycle.status]}
    )
    return cycle
