"""Review pages: cycles and their agenda, packet fan-out with progress, one review's record,
the frozen packets (HTML and PDF), and the meeting mode that walks a cycle on a projector.

Reads start from the models' `visible_to`; every write goes through reviews.services, and a
domain error comes back as a form error (400/403/409) beside the field or rule. The decision
and action item forms are the same partials on the review page and in meeting mode.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from portfolio.exports import page_export
from portfolio.htmx import redirect_after_post, render_page, wants_partial
from portfolio.pages import require_leader_page, submit_form
from portfolio.permissions import is_leader
from products.permissions import can_edit_unit
from reviews import services
from reviews.api.serializers import (
    ACTION_ITEM_EXPORT,
    ACTION_ORDER,
    DECISION_EXPORT,
    DECISION_ORDER,
)
from reviews.filters import ActionItemFilterSet, DecisionFilterSet
from reviews.forms import (
    ActionDoneForm,
    ActionItemForm,
    CycleScheduleForm,
    DecisionForm,
    ReviewCloseForm,
)
from reviews.models import (
    ActionItem,
    Decision,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)

LIST_PAGE = "reviews/cycle_list.html"
CYCLE_PAGE = "reviews/cycle_detail.html"
REVIEW_PAGE = "reviews/review_detail.html"
MEETING_PAGE = "reviews/meeting.html"
RECORD = "reviews/_record.html"
PACKET_META = ("id", "review", "version", "status", "requested_at", "generated_at", "pdf_at")


# --- lookups -------------------------------------------------------------------------------------


def _cycle(request: HttpRequest, pk: int) -> ReviewCycle:
    return get_object_or_404(ReviewCycle.objects.visible_to(request.user), pk=pk)


def _review(request: HttpRequest, pk: int) -> Review:
    reviews = Review.objects.visible_to(request.user).select_related(
        "cycle", "unit__cluster", "unit__product", "unit__owner__user", "owner", "closed_by"
    )
    return get_object_or_404(reviews, pk=pk)


def _action(request: HttpRequest, pk: int) -> ActionItem:
    items = ActionItem.objects.filter(review__in=Review.objects.visible_to(request.user))
    item = get_object_or_404(items, pk=pk)
    item.review = _review(request, item.review_id)
    return item


def _require_unit_editor(request: HttpRequest, review: Review) -> None:
    if not can_edit_unit(request.user, review.unit):
        raise PermissionDenied(
            f"Only the owner of {review.unit.name} or a portfolio leader can do this."
        )


# --- cycles --------------------------------------------------------------------------------------


def _cycles_with_counts(user):
    has_packet = Packet.objects.filter(review=OuterRef("pk"), status=PacketStatus.DONE)
    ready = (
        Review.objects.filter(cycle=OuterRef("pk"))
        .filter(Exists(has_packet))
        .order_by()
        .values("cycle")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return ReviewCycle.objects.visible_to(user).annotate(
        total=Count("reviews"),
        scheduled=Count("reviews", filter=Q(reviews__status=ReviewStatus.SCHEDULED)),
        closed=Count("reviews", filter=Q(reviews__status=ReviewStatus.CLOSED)),
        ready=Subquery(ready),
    )


def _list_page(request, form=None, *, status=200) -> HttpResponse:
    leader = is_leader(request.user)
    context = {
        "cycles": _cycles_with_counts(request.user).order_by("-year", "-quarter"),
        "form": form or (CycleScheduleForm() if leader else None),
    }
    return render_page(request, LIST_PAGE, context, partial="schedule", status=status)


@require_GET
def cycle_list(request: HttpRequest) -> HttpResponse:
    """Every cycle, newest first, with how far along it is; leaders schedule the next one."""
    return _list_page(request)


@require_POST
def cycle_schedule(request: HttpRequest) -> HttpResponse:
    """Schedule (or top up) a quarter's cycle: a review for every unit, no owner twice a day."""
    require_leader_page(request)
    form = CycleScheduleForm(request.POST)
    result, status = submit_form(
        request,
        form,
        lambda f: services.cycle_schedule(actor=request.user, **f.service_kwargs()),
    )
    if result is None:
        return _list_page(request, form, status=status)
    cycle = result.cycle
    note = f" ({result.existing} were already on the agenda)" if result.existing else ""
    messages.success(request, f"{cycle.label}: {result.created} review(s) scheduled{note}.")
    return redirect_after_post(request, cycle.get_absolute_url())


@dataclass
class Progress:
    total: int
    ready: int
    pending: int
    failed: int
    pdfs: int

    @property
    def missing(self) -> int:
        return self.total - self.ready - self.pending - self.failed

    @property
    def running(self) -> bool:
        return self.pending > 0


def cycle_progress_of(cycle: ReviewCycle) -> Progress:
    """Each review counts by its newest packet: ready, on its way, failed or none (one query)."""
    latest = Packet.objects.filter(review=OuterRef("pk")).order_by("-version")
    counts = (
        cycle.reviews.order_by()
        .annotate(
            latest_status=Subquery(latest.values("status")[:1]),
            latest_pdf=Subquery(latest.values("pdf_at")[:1]),
        )
        .aggregate(
            total=Count("pk"),
            ready=Count("pk", filter=Q(latest_status=PacketStatus.DONE)),
            pending=Count("pk", filter=Q(latest_status=PacketStatus.PENDING)),
            failed=Count("pk", filter=Q(latest_status=PacketStatus.FAILED)),
            pdfs=Count("pk", filter=Q(latest_pdf__isnull=False)),
        )
    )
    return Progress(**counts)


def _agenda(cycle: ReviewCycle) -> list[tuple]:
    """The cycle's reviews grouped by day, each with its newest packet and its decisions."""
    reviews = list(
        cycle.reviews.in_agenda_order()
        .select_related("unit__cluster", "unit__product", "owner")
        .prefetch_related(
            Prefetch("packets", queryset=Packet.objects.only(*PACKET_META).order_by("-version")),
            Prefetch("decisions", queryset=Decision.objects.only("review", "kind")),
        )
    )
    for review in reviews:
        packets = list(review.packets.all())
        review.latest_packet = packets[0] if packets else None  # type: ignore[attr-defined]
    return [(day, list(rows)) for day, rows in itertools.groupby(reviews, lambda r: r.scheduled_on)]


def _cycle_export(request: HttpRequest, cycle: ReviewCycle):
    """The cycle's decisions (`?list=decisions`) or action items (`?list=actions`) as a file
    when asked for one; the API's filtersets narrow them as on /api/v1/."""
    reviews = Review.objects.visible_to(request.user).filter(cycle=cycle).values("pk")
    if request.GET.get("list") == "actions":
        items = ActionItem.objects.filter(review__in=reviews)
        actions = ActionItemFilterSet(request.GET, queryset=items)
        return page_export(
            request, ACTION_ITEM_EXPORT, actions.qs, filterset=actions, order=ACTION_ORDER
        )
    found = DecisionFilterSet(request.GET, queryset=Decision.objects.filter(review__in=reviews))
    return page_export(request, DECISION_EXPORT, found.qs, filterset=found, order=DECISION_ORDER)


@require_GET
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The agenda by day; leaders generate the packets (with progress) and close the cycle."""
    cycle = _cycle(request, pk)
    if export := _cycle_export(request, cycle):
        return export
    progress = cycle_progress_of(cycle)
    context = {
        "cycle": cycle,
        "agenda": _agenda(cycle),
        "progress": progress,
        "can_lead": is_leader(request.user),
    }
    return render_page(request, CYCLE_PAGE, context, partial="agenda")


@require_POST
def cycle_generate_packets(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a packet for every open review that has none (leaders); htmx gets the progress."""
    require_leader_page(request)
    cycle = _cycle(request, pk)
    fan = services.cycle_generate_packets(actor=request.user, cycle=cycle)
    if wants_partial(request):
        context = {
            "cycle": cycle,
            "progress": cycle_progress_of(cycle),
            "fan": fan,
            "reload_agenda": True,
        }
        return render(request, "reviews/cycle_progress.html#progress", context)
    messages.info(
        request,
        f"{fan.queued} packet(s) queued; {fan.already} review(s) already had one.",
    )
    return redirect(cycle.get_absolute_url())


@require_GET
def cycle_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """How many of the cycle's packets are ready; the cycle page polls it every second."""
    cycle = _cycle(request, pk)
    context = {
        "cycle": cycle,
        "progress": cycle_progress_of(cycle),
        "reload_agenda": wants_partial(request),
    }
    return render_page(request, "reviews/cycle_progress.html", context, partial="progress")


@require_POST
def cycle_close(request: HttpRequest, pk: int) -> HttpResponse:
    require_leader_page(request)
    cycle = _cycle(request, pk)
    services.cycle_close(actor=request.user, cycle=cycle)
    messages.success(request, f"{cycle.label} is closed.")
    return redirect_after_post(request, cycle.get_absolute_url())


# --- one review: its packets and its record ----------------------------------------------------


def _packets(review: Review) -> list[Packet]:
    return list(review.packets.only(*PACKET_META).order_by("-version"))


def _record_context(request: HttpRequest, review: Review, *, meeting: bool, **forms) -> dict:
    """What the decision and action partials need (the review page and meeting mode share it)."""
    leader = is_leader(request.user)
    editor = can_edit_unit(request.user, review.unit)
    open_ = not review.is_closed
    actions = list(review.action_items.select_related("owner", "backlog_item"))
    return {
        "review": review,
        "meeting": meeting,
        "decisions": list(review.decisions.select_related("decided_by")),
        "actions": actions,
        "actions_done": sum(1 for item in actions if item.is_done),
        "can_decide": leader and open_,
        "can_act": editor and open_,
        "can_track": editor,
        "can_close": leader and open_,
        "decision_form": forms.get("decision_form") or DecisionForm(review=review),
        "action_form": forms.get("action_form") or ActionItemForm(review=review),
        "close_form": forms.get("close_form") or ReviewCloseForm(review=review),
    }


def _review_page(request: HttpRequest, review: Review, *, status=200, **forms) -> HttpResponse:
    packets = _packets(review)
    context = {
        **_record_context(request, review, meeting=False, **forms),
        "packets": packets,
        "packets_waiting": any(p.status == PacketStatus.PENDING for p in packets),
        "can_request": can_edit_unit(request.user, review.unit) and not review.is_closed,
    }
    return render_page(request, REVIEW_PAGE, context, partial="packets", status=status)


@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The unit's review: packet versions, decisions, action items; htmx polls the packets."""
    return _review_page(request, _review(request, pk))


@require_POST
def packet_request(request: HttpRequest, pk: int) -> HttpResponse:
    """A new version of the packet (leaders or the unit's owner); older versions stay."""
    review = _review(request, pk)
    _require_unit_editor(request, review)
    services.packet_request(actor=request.user, review=review)
    if wants_partial(request):
        return _review_page(request, review)
    messages.info(request, "A new packet version is being prepared.")
    return redirect(review.get_absolute_url())


def _in_meeting(request: HttpRequest) -> bool:
    return request.POST.get("from") == "meeting"


def _back_url(request: HttpRequest, review: Review) -> str:
    if _in_meeting(request):
        return reverse("review-meeting-review", args=[review.cycle_id, review.pk])
    return review.get_absolute_url()


def _record_answer(
    request: HttpRequest, review: Review, partial: str, *, status: int, **forms
) -> HttpResponse:
    """After a write on the record: the refreshed partial for htmx; else back to the page (or
    the page again with the form's errors)."""
    meeting = _in_meeting(request)
    if wants_partial(request):
        context = _record_context(request, review, meeting=meeting, **forms)
        return render(request, f"{RECORD}#{partial}", context, status=status)
    if status == 200:
        return redirect(_back_url(request, review))
    if meeting:
        return _meeting_page(request, review.cycle, review, status=status, **forms)
    return _review_page(request, review, status=status, **forms)


@require_POST
def decision_create(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    require_leader_page(request)
    form = DecisionForm(request.POST, review=review)
    done, status = submit_form(
        request,
        form,
        lambda f: services.decision_record(actor=request.user, review=review, **f.cleaned_data),
    )
    bound = {"decision_form": form} if done is None else {}
    return _record_answer(request, review, "decisions", status=status, **bound)


@require_POST
def decision_delete(request: HttpRequest, pk: int) -> HttpResponse:
    decisions = Decision.objects.filter(review__in=Review.objects.visible_to(request.user))
    decision = get_object_or_404(decisions, pk=pk)
    review = _review(request, decision.review_id)
    require_leader_page(request)
    # A refusal (the review is closed) is shown above the decision form, beside the list.
    form = DecisionForm(review=review)
    _, status = submit_form(
        request,
        form,
        lambda f: services.decision_delete(actor=request.user, decision=decision),
        validate=False,
    )
    bound = {"decision_form": form} if status != 200 else {}
    return _record_answer(request, review, "decisions", status=status, **bound)


@require_POST
def action_create(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    _require_unit_editor(request, review)
    form = ActionItemForm(request.POST, review=review)
    done, status = submit_form(
        request,
        form,
        lambda f: services.action_item_create(
            actor=request.user, review=review, **f.service_kwargs()
        ),
    )
    bound = {"action_form": form} if done is None else {}
    return _record_answer(request, review, "actions", status=status, **bound)


def _action_write(request: HttpRequest, pk: int, write) -> HttpResponse:
    """Run `write(item)` on one action item (unit owner or leaders); answer with the list."""
    item = _action(request, pk)
    _require_unit_editor(request, item.review)
    # A refusal is shown above the form for a new action, beside the list.
    form = ActionItemForm(review=item.review)
    _, status = submit_form(request, form, lambda f: write(item), validate=False)
    bound = {"action_form": form} if status != 200 else {}
    return _record_answer(request, item.review, "actions", status=status, **bound)


@require_POST
def action_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Tick an action done or not done; follow-through stays open after the review closed."""
    form = ActionDoneForm(request.POST)
    form.is_valid()
    done = bool(form.cleaned_data.get("done"))
    return _action_write(
        request,
        pk,
        lambda item: services.action_item_set_done(actor=request.user, item=item, done=done),
    )


@require_POST
def action_to_backlog(request: HttpRequest, pk: int) -> HttpResponse:
    """The action becomes an item at the top of the unit's backlog."""
    return _action_write(
        request, pk, lambda item: services.action_item_to_backlog(actor=request.user, item=item)
    )


@require_POST
def action_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_write(
        request, pk, lambda item: services.action_item_delete(actor=request.user, item=item)
    )


@require_POST
def review_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the review (leaders): its decisions and action items are locked from now on."""
    review = _review(request, pk)
    require_leader_page(request)
    form = ReviewCloseForm(request.POST, review=review)
    done, status = submit_form(
        request,
        form,
        lambda f: services.review_close(
            actor=request.user, review=review, summary=f.cleaned_data["summary"] or None
        ),
    )
    if done is None:
        return _record_answer(request, review, "close", status=status, close_form=form)
    messages.success(request, f"The review of {review.unit.name} is closed.")
    return redirect_after_post(request, _back_url(request, review))


# --- packets -----------------------------------------------------------------------------------


def _packet(request: HttpRequest, pk: int, *, defer: tuple[str, ...]) -> Packet:
    packets = (
        Packet.objects.filter(review__in=Review.objects.visible_to(request.user))
        .select_related("review__cycle", "review__unit__cluster", "review__unit__product")
        .defer(*defer)
    )
    return get_object_or_404(packets, pk=pk)


def _not_ready(
    request: HttpRequest, packet: Packet, what: str, *, printing: bool = False
) -> HttpResponse:
    """The packet or its PDF is not there yet. While a PDF is being printed the page polls
    (htmx) and ends in the PDF; otherwise (packet pending or failed) it says why, with 409."""
    context = {"packet": packet, "review": packet.review, "what": what, "printing": printing}
    return render_page(
        request,
        "reviews/packet_waiting.html",
        context,
        partial="waiting",
        status=202 if printing else 409,
    )


@require_GET
@xframe_options_sameorigin
def packet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The packet as it was frozen: the stored HTML, never drawn again from live data."""
    packet = _packet(request, pk, defer=("pdf", "data"))
    if packet.status != PacketStatus.DONE:
        return _not_ready(request, packet, "packet")
    if wants_partial(request):
        # The waiting page's poll: the packet is made, so the browser goes to it.
        return HttpResponseClientRedirect(reverse("packet-detail", args=[packet.pk]))
    response = HttpResponse(packet.html, content_type="text/html; charset=utf-8")
    # The packet is self-contained (inline styles and SVG); it needs nothing else to load, runs
    # no script, and only meeting mode on this site frames it. This policy replaces the site's
    # (django-csp leaves a header a view set): the frozen HTML keeps its inline <style>.
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
        f"report-uri {settings.SECURITY_REPORT_PATH}"
    )
    return response


@require_GET
def packet_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF of the packet, shown in the browser. A generated packet not printed yet
    is printed on this request (queued through the outbox; run here and now when Celery runs
    tasks eagerly): the answer is then the PDF, or a page that polls until it is there."""
    packet = _packet(request, pk, defer=("html", "data"))
    if packet.status == PacketStatus.DONE and packet.pdf_at is None:
        printing = services.packet_print_request(packet_id=packet.pk)
        packet = _packet(request, pk, defer=("html", "data"))
        if packet.pdf_at is None:
            return _not_ready(request, packet, "PDF", printing=printing)
    if packet.status != PacketStatus.DONE or packet.pdf_at is None or not packet.pdf:
        return _not_ready(request, packet, "PDF")
    if wants_partial(request):
        # The waiting page's poll: the PDF is there, so the browser goes to it.
        return HttpResponseClientRedirect(reverse("packet-pdf", args=[packet.pk]))
    review = packet.review
    name = slugify(f"{review.unit.name} review {review.cycle.label} v{packet.version}")
    response = HttpResponse(bytes(packet.pdf), content_type="application/pdf")
    disposition = content_disposition_header(False, f"{name}.pdf")
    assert disposition is not None  # None only without a file name
    response["Content-Disposition"] = disposition
    return response


# --- meeting mode --------------------------------------------------------------------------------


def _meeting_page(
    request: HttpRequest, cycle: ReviewCycle, review: Review | None, *, status=200, **forms
) -> HttpResponse:
    order = list(cycle.reviews.in_agenda_order().values_list("pk", flat=True))
    context = {"cycle": cycle, "total": len(order), "review": None}
    if review is not None:
        index = order.index(review.pk)
        packet = (
            review.packets.filter(status=PacketStatus.DONE)
            .only(*PACKET_META)
            .order_by("-version")
            .first()
        )
        meeting_url = "review-meeting-review"
        context.update(
            _record_context(request, review, meeting=True, **forms),
            position=index + 1,
            packet=packet,
            prev_url=reverse(meeting_url, args=[cycle.pk, order[index - 1]]) if index else "",
            next_url=reverse(meeting_url, args=[cycle.pk, order[index + 1]])
            if index + 1 < len(order)
            else "",
        )
    return render(request, MEETING_PAGE, context, status=status)


@require_GET
def meeting(request: HttpRequest, pk: int, review_pk: int | None = None) -> HttpResponse:
    """Full-screen walk through the cycle in agenda order: the packet, and the record beside it.

    Starts at `review_pk` (or `?review=<id>`), else at the first review still open."""
    cycle = _cycle(request, pk)
    wanted = review_pk or request.GET.get("review")
    reviews = cycle.reviews.in_agenda_order()
    review_id: int | None
    if wanted:
        try:
            review_id = int(wanted)
        except (TypeError, ValueError):
            raise Http404("No such review in this cycle.") from None
        if not reviews.filter(pk=review_id).exists():
            raise Http404("No such review in this cycle.")
    else:
        first = reviews.filter(status=ReviewStatus.SCHEDULED).first() or reviews.first()
        review_id = first.pk if first else None
    review = _review(request, review_id) if review_id else None
    return _meeting_page(request, cycle, review)
