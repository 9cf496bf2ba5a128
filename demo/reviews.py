"""The demo's quarterly reviews: last quarter's cycle held in full, with its decisions, action
items and their follow-through, and this quarter's scheduled from today with every packet
ready."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from backlog.models import BacklogItem, ItemStatus
from backlog.services import backlog_item_update
from demo.common import BuildState, quarter_of
from products.models import OwnershipUnit
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)
from reviews.packets import build_packet_data, previous_quarter, render_packet_html
from reviews.services import (
    action_item_create,
    action_item_set_done,
    action_item_to_backlog,
    cycle_close,
    cycle_generate_packets,
    cycle_schedule,
    decision_record,
    review_close,
)
from reviews.tasks import generate_packet, render_pdf

# What became of an action item by the next review.
OPEN_ACTION = "open"  # nobody got to it
DONE_BY_HAND = "done"  # ticked off in the review record
ON_BACKLOG = "backlog"  # turned into a backlog item that is being worked on
BACKLOG_DONE = "backlog-done"  # turned into a backlog item that is finished


@dataclass(frozen=True)
class ActionSpec:
    title: str
    follow: str = OPEN_ACTION
    product: str | None = None  # the backlog it went to (a member of the unit)


@dataclass(frozen=True)
class HeldReview:
    """Last quarter's review of a unit (keyed on a cluster's or a stand-alone product's slug):
    what the meeting decided, what it asked for, and a line of notes."""

    unit: str
    decisions: tuple[tuple[str, str], ...]
    actions: tuple[ActionSpec, ...] = ()
    summary: str = ""


A = ActionSpec
INVEST, CONTINUE, OPTIMISE, SPLIT = "invest", "continue", "optimise", "split"
MERGE, RETIRE, RECLASSIFY = "merge", "retire", "reclassify"

HELD_REVIEWS: list[HeldReview] = [
    HeldReview("employee-experience",
        ((INVEST, "The HR portal's application server is out of support and the leaver "
                  "checklist still misses steps; fund the rebuild this year rather than "
                  "patching the old server again."),),
        (A("Security test the HR portal on its new platform before the switch-over",
           ON_BACKLOG, "hr-self-service-portal"),
         A("Agree the leaver checklist with facilities and legal", DONE_BY_HAND)),
        "Nora showed the portal's support tickets doubling at each month end."),
    HeldReview("data-analytics",
        ((OPTIMISE, "Finance reads yesterday's numbers late because the warehouse reloads in "
                    "full every night; fix the load before taking new report requests."),
         (SPLIT, "The master data hub has shipped nothing for months while the warehouse "
                 "takes every sprint; look at giving the hub its own owner.")),
        (A("Write down the golden-record matching rules of the master data hub", ON_BACKLOG,
           "master-data-hub"),
         A("Propose an owner for the master data hub")),
        "Priya is over the ownership ceiling; the hub is the first thing to hand over."),
    HeldReview("integration-platforms",
        ((CONTINUE, "The bus and the gateway are stable and every team depends on them; keep "
                    "the current capacity and let the event streaming pilot prove itself."),),
        (A("List the flows still on the old SOAP adapters", ON_BACKLOG,
           "enterprise-service-bus"),
         A("Pick the first production topic for event streaming", DONE_BY_HAND))),
    HeldReview("identity-access",
        ((INVEST, "Administrators still sign in with a password and a text message; fund "
                  "phishing-resistant sign-in, starting with privileged accounts."),),
        (A("Enrol every administrator in phishing-resistant sign-in", BACKLOG_DONE,
           "single-sign-on"),
         A("Name a second engineer for the access review service", DONE_BY_HAND))),
    HeldReview("finance-systems",
        ((OPTIMISE, "Month-end close runs three hours and the legacy purchasing module still "
                    "holds open orders; spend the quarter on speed and on getting off the old "
                    "module, no new features."),),
        (A("Cut the month-end close report under half an hour", BACKLOG_DONE,
           "erp-general-ledger"),
         A("Set the shutdown date of the legacy purchasing module", DONE_BY_HAND)),
        "Jonas carries four stand-alone finance tools besides this cluster."),
    HeldReview("workplace-collaboration",
        ((CONTINUE, "Mail, chat and documents do what people need; keep them steady while the "
                    "file shares wind down into the document libraries."),),
        (A("Move the finance department's share into a document library", ON_BACKLOG,
           "document-management"),)),
    HeldReview("customer-engagement",
        ((INVEST, "Sole traders are stored twice and both the portal and the phones read the "
                  "wrong record; fund the customer record split in CRM first."),),
        (A("Check whether the feedback surveys need an owner of their own"),
         A("Show agents the customer's open cases when the phone rings", ON_BACKLOG,
           "crm"))),
    HeldReview("it-service-management",
        ((INVEST, "The catalogue went back into growth and requests through it doubled; "
                  "keep investing, and close the old helpdesk tool's loose ends."),),
        (A("Archive the knowledge articles about the old helpdesk tool", DONE_BY_HAND),
         A("Count the tickets that came from email without their attachments", BACKLOG_DONE,
           "service-desk-ticketing"))),
    HeldReview("workplace-odds-and-ends",
        ((SPLIT, "The three tools were put together only because each is small; they share "
                 "neither users nor data. Split them and give each a home that fits."),
         (RETIRE, "The canteen menu app duplicates the menu on the intranet; plan its end.")),
        (A("Propose a home for meeting room booking, visitor sign-in and the canteen app"),),
        "Grace runs these next to her day job; nobody asked for the grouping."),
    HeldReview("data-science-workbench",
        ((INVEST, "Forecasting pilots are waiting for governed access to the warehouse; fund "
                  "it so the workbench can leave its introduction."),),
        (A("Agree the access pattern to warehouse tables with the data platform team",
           DONE_BY_HAND),)),
    HeldReview("mobile-device-management",
        ((MERGE, "Device management belongs with identity and access: it reads the same "
                 "directory and the identity team already runs the sign-in side."),),
        (A("Hand mobile device management over to the identity and access cluster"),)),
    HeldReview("print-scan-service",
        ((OPTIMISE, "Most tickets are about toner; order it automatically and spend nothing "
                    "else on the service this year."),),
        (A("Order toner automatically from the printers' own counters", DONE_BY_HAND),)),
    HeldReview("geographic-information-system",
        ((CONTINUE, "Few users, steady use, no open risk; keep it running as it is."),),
        (A("Load the new flood-risk layer before the planning season"),)),
    HeldReview("treasury-management",
        ((OPTIMISE, "The bank is switching statement formats; do the import change and "
                    "nothing else this quarter."),),
        (A("Test the new statement format with the bank's sandbox", DONE_BY_HAND),)),
    HeldReview("fixed-asset-register",
        ((CONTINUE, "Stable and used once a month; no change needed beyond the new lease "
                    "rules."),),
        (A("Check what the new lease rules do to vehicle depreciation", DONE_BY_HAND),)),
    HeldReview("budget-planning",
        ((CONTINUE, "Budgeting season is in the autumn; keep it steady until then."),),
        (A("Ask finance whether weekly actuals are still good enough"),)),
    HeldReview("tax-reporting",
        ((MERGE, "Tax reporting has the same users as the finance cluster and reads the "
                 "ledger every day; run it inside Finance systems."),),
        (A("Draft the move of tax reporting into Finance systems"),)),
    HeldReview("digital-signage",
        ((CONTINUE, "Screens work; the only gap is a way to push an emergency notice."),),
        (A("Show an emergency notice on every screen in one step", ON_BACKLOG,
           "digital-signage"),)),
    HeldReview("enterprise-search",
        ((OPTIMISE, "People stop trusting search when wiki pages show up a day late; fix the "
                    "indexing before adding sources."),),
        (A("Index the team wiki within the hour", ON_BACKLOG, "enterprise-search"),)),
    HeldReview("video-portal",
        ((RETIRE, "Recorded meetings now live in the chat tool; most portal videos have not "
                  "been watched this year. Plan its retirement."),),
        (A("Count which portal videos are still watched", DONE_BY_HAND),
         A("Write the migration plan for the videos worth keeping"))),
    HeldReview("warehouse-order-interface",
        ((RECLASSIFY, "Replacing the interface with a gateway flow is one piece of work with "
                      "an end date; run it as a project and switch the old interface off "
                      "after."),),
        (A("Name a project lead and an end date for the replacement"),),
        "Nobody owns the interface; orders still arrive twice now and then."),
    HeldReview("legacy-sales-reporting",
        ((RETIRE, "The regional sales process is gone; hand the last two reports to the BI "
                  "platform and switch the tool off by the end of the year."),),
        (A("Move the last two reports to the BI platform"),)),
    HeldReview("contract-management",
        ((MERGE, "Contracts are read by the same buyers and accountants as procurement; run "
                 "the tool inside Finance systems."),),
        (A("Find a new owner for contract management"),)),
    HeldReview("field-service-scheduling",
        ((CONTINUE, "Engineers rely on it every day; keep it running while an owner is found."),),
        (A("Hand field service scheduling to customer systems"),)),
    HeldReview("legal-hold-tool",
        ((CONTINUE, "Legal needs it for two open cases; keep it running unchanged."),
         (RECLASSIFY, "Holds on chat messages are a one-off extension with a deadline; "
                      "deliver them as a project.")),
        (A("Ask legal to name an owner for the tool"),)),
    HeldReview("facilities-helpdesk",
        ((RETIRE, "Facilities faults can go through the service desk like every other "
                  "request; plan to move them and switch this tool off."),),
        (A("Set up a facilities queue in service desk ticketing"),)),
]  # fmt: skip

del A

# A unit that became reviewable after the spec was written: held without a change of course.
DEFAULT_HELD = HeldReview(
    "", ((CONTINUE, "Nothing in the packet calls for a change of course; keep it as it is."),)
)


CURRENT_CYCLE_DAYS = 10  # working days the current quarter's reviews are spread over


# --- Building ------------------------------------------------------------------------------


def _unit_keys() -> dict[int, str]:
    """Unit id -> the slug HELD_REVIEWS names it by (its cluster's or its product's)."""
    units = OwnershipUnit.objects.all()
    keys = dict(units.filter(cluster__isnull=False).values_list("pk", "cluster__slug"))
    keys.update(units.filter(product__isnull=False).values_list("pk", "product__slug"))
    return keys


def _meeting_at(review: Review) -> dt.datetime:
    """When a review's meeting started: from nine in the morning, an hour each."""
    start = dt.time(9 + min(review.position, 8))
    return timezone.make_aware(dt.datetime.combine(review.scheduled_on, start))


def _not_after_now(moment: dt.datetime) -> dt.datetime:
    return min(moment, timezone.now() - dt.timedelta(hours=1))


def seed_past_reviews(state: BuildState) -> None:
    """Last quarter's cycle, held in full: every review closed with its decisions and
    action items, and the follow-through since (some done, some on the backlog, some not).

    Each packet is built with the clock set to three days before its meeting, as the
    leader would have asked for it then. Decisions, actions and the closing go through
    the services; their dates are then moved back to the meeting, as the backlog's are.
    A review already closed is left as it is, so seeding again records nothing twice.
    """
    year, quarter = previous_quarter(*quarter_of(state.today))
    cycle = ReviewCycle.objects.filter(year=year, quarter=quarter).first()
    if cycle is None:
        result = cycle_schedule(actor=state.actor, year=year, quarter=quarter)
        cycle = result.cycle
        state.report.count("review cycle", True)
        state.report.created["review"] = state.report.created.get("review", 0) + result.created
    if cycle.status == CycleStatus.CLOSED:
        return
    cycle_generate_packets(actor=state.actor, cycle=cycle, dispatch=False)
    pending = Packet.objects.filter(review__cycle=cycle, status=PacketStatus.PENDING)
    for packet in pending.select_related("review"):
        at = _meeting_at(packet.review) - dt.timedelta(days=3)
        data = build_packet_data(packet.review, now=at)
        Packet.objects.filter(pk=packet.pk, status=PacketStatus.PENDING).update(
            data=data,
            html=render_packet_html(data),
            status=PacketStatus.DONE,
            requested_at=at - dt.timedelta(minutes=5),
            generated_at=at,
        )
        state.report.count("review packet", True)
    held = {spec.unit: spec for spec in HELD_REVIEWS}
    keys = _unit_keys()
    reviews = cycle.reviews.filter(status=ReviewStatus.SCHEDULED).in_agenda_order()
    for review in reviews.select_related("unit__owner"):
        _hold(state, review, held.get(keys.get(review.unit_id, ""), DEFAULT_HELD))
    cycle_close(actor=state.actor, cycle=cycle)


def _hold(state: BuildState, review: Review, spec: HeldReview) -> None:
    met = _meeting_at(review)
    for kind, rationale in spec.decisions:
        decision_record(actor=state.actor, review=review, kind=kind, rationale=rationale)
        state.report.count("review decision", True)
    owner = review.unit.owner
    if owner is None or not owner.is_accountable:
        owner = state.people["leader"]  # nobody accountable: the chair takes the action
    items = [
        (
            action_item_create(
                actor=state.actor,
                review=review,
                title=action.title,
                owner=owner,
                due_on=review.scheduled_on + dt.timedelta(weeks=6),
            ),
            action,
        )
        for action in spec.actions
    ]
    review_close(actor=state.actor, review=review, summary=spec.summary)
    Decision.objects.filter(review=review).update(created_at=met, updated_at=met)
    ActionItem.objects.filter(review=review).update(created_at=met, updated_at=met)
    Review.objects.filter(pk=review.pk).update(closed_at=met + dt.timedelta(minutes=50))
    for item, action in items:
        state.report.count("review action item", True)
        _follow_through(state, item, action, met)


def _follow_through(
    state: BuildState, item: ActionItem, action: ActionSpec, met: dt.datetime
) -> None:
    if action.follow == DONE_BY_HAND:
        action_item_set_done(actor=state.actor, item=item, done=True)
        done_at = _not_after_now(met + dt.timedelta(weeks=3))
        ActionItem.objects.filter(pk=item.pk).update(done_at=done_at, updated_at=done_at)
        return
    if action.follow not in (ON_BACKLOG, BACKLOG_DONE):
        return
    product = state.products[action.product] if action.product else None
    backlog_item = action_item_to_backlog(actor=state.actor, item=item, product=product)
    finished = action.follow == BACKLOG_DONE
    backlog_item_update(
        actor=state.actor,
        item=backlog_item,
        status=ItemStatus.DONE if finished else ItemStatus.IN_PROGRESS,
    )
    created = met + dt.timedelta(days=1)
    started = _not_after_now(met + dt.timedelta(weeks=2))
    done = _not_after_now(met + dt.timedelta(weeks=6)) if finished else None
    BacklogItem.objects.filter(pk=backlog_item.pk).update(
        created_at=created, started_at=started, finished_at=done, updated_at=done or started
    )
    state.report.count("backlog item", True)


def seed_current_cycle(state: BuildState) -> ReviewCycle | None:
    """This quarter's cycle, scheduled through the service over the CURRENT_CYCLE_DAYS
    working days from today, so the first reviews are today and in the next few days
    (reminders, "reviews due", readiness "review scheduled") and none is held yet.
    Seeding again adds only units that became reviewable since."""
    year, quarter = quarter_of(state.today)
    cycle = ReviewCycle.objects.filter(year=year, quarter=quarter).first()
    if cycle is not None and cycle.status == CycleStatus.CLOSED:
        return None
    if cycle is None:
        start = state.today
        while start.weekday() >= 5:
            start += dt.timedelta(days=1)
        end = start + dt.timedelta(days=(CURRENT_CYCLE_DAYS - 1) // 5 * 7 + 4)
        result = cycle_schedule(
            actor=state.actor, year=year, quarter=quarter, starts_on=start, ends_on=end
        )
        state.report.count("review cycle", True)
    else:
        result = cycle_schedule(actor=state.actor, year=year, quarter=quarter)
    if result.created:
        state.report.created["review"] = state.report.created.get("review", 0) + result.created
    return result.cycle


def seed_current_packets(state: BuildState, cycle: ReviewCycle | None) -> None:
    """Every scheduled review's packet, built as the worker would (data and HTML); the
    PDFs of the first day's agenda only, when `state.pdfs` (about a second each)."""
    if cycle is None:
        return
    cycle_generate_packets(actor=state.actor, cycle=cycle, dispatch=False)
    pending = Packet.objects.filter(review__cycle=cycle, status=PacketStatus.PENDING)
    for packet_id in pending.order_by("pk").values_list("pk", flat=True):
        generate_packet(packet_id, pdf=False)
        state.report.count("review packet", True)
    if not state.pdfs:
        return
    ahead = cycle.reviews.filter(status=ReviewStatus.SCHEDULED, scheduled_on__gte=state.today)
    first_day = ahead.aggregate(day=Min("scheduled_on"))["day"]
    unprinted = Packet.objects.filter(
        review__in=ahead.filter(scheduled_on=first_day),
        status=PacketStatus.DONE,
        pdf_at__isnull=True,
    )
    for packet_id in unprinted.order_by("pk").values_list("pk", flat=True):
        render_pdf(packet_id)
        state.report.count("packet PDF", True)
