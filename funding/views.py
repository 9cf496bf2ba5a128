"""Funding pages: a unit's funding panel (allocation, committed, remaining, its requests and the
forms to ask for money or set the allocation), the leaders' approval queue with inline
decisions, one request's decision trail, and the portfolio's funding by stage and mode.

Writes go through portfolio.funding.services; a refused write comes back as the service's own
message, in the panel or the queue row that was posted from (400/403/409).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Case as SqlCase
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from funding import services
from funding.api.serializers import ALLOCATION_EXPORT, ALLOCATION_ORDER, REQUEST_EXPORT
from funding.charts import stacked_bars
from funding.filters import AllocationFilterSet, InvestmentRequestFilterSet
from funding.forms import (
    AllocationForm,
    DecisionForm,
    InvestmentRequestForm,
    QueueFilterForm,
    YearForm,
)
from funding.models import (
    MONEY,
    ZERO,
    FundingAllocation,
    FundingMode,
    InvestmentRequest,
    RequestStatus,
)
from metrics.models import Metric
from portfolio.errors import DomainError, Forbidden
from portfolio.exports import page_export
from portfolio.htmx import redirect_after_post, render_page, wants_partial
from portfolio.models import PortfolioSettings
from portfolio.pages import carry_version, count_upto, keyset_page, submit_form
from portfolio.permissions import is_leader
from portfolio.text import money
from products.models import STAGE_ORDER, OwnershipUnit, Product, Stage
from products.permissions import can_edit_unit

PANEL = "funding/unit_panel.html"
QUEUE = "funding/request_queue.html"
DETAIL = "funding/request_detail.html"
PORTFOLIO = "funding/portfolio.html"
QUEUE_PER_PAGE = 50
# The queue counts its requests up to this many, then says "more than".
QUEUE_COUNT_CAP = 1000
PANEL_REQUESTS = 20
MONEY_FIELD: DecimalField = DecimalField(**MONEY)
LIVE_STAGE_KEYS = [Stage.INTRODUCTION, Stage.GROWTH, Stage.MATURITY, Stage.RETIREMENT]
NO_STAGE = "none"
NO_MODE = "none"
STAGE_FILTERS = [*((s.value, s.label) for s in LIVE_STAGE_KEYS), (NO_STAGE, "No live member")]


# --- shared reads ------------------------------------------------------------------------------


def unit_stage(unit_ref: str = "unit_id") -> Subquery:
    """The stage most of a unit's live (not retired) members are in; a tie goes to the earlier
    stage. NULL when every member is retired. One correlated subquery, so a grouped query can
    sum money by it."""
    rank = SqlCase(
        *(When(lifecycle_stage=s, then=Value(i)) for i, s in enumerate(STAGE_ORDER)),
        output_field=IntegerField(),
    )
    members = (
        Product.objects.filter(unit_id=OuterRef(unit_ref))
        .exclude(lifecycle_stage=Stage.RETIRED)
        .order_by()
        .values("lifecycle_stage")
        .annotate(n=Count("pk"))
        .order_by("-n", rank)
        .values("lifecycle_stage")[:1]
    )
    return Subquery(members, output_field=CharField())


def _unit_mode() -> Subquery:
    """The funding mode of a request's unit in the request's year (NULL: no allocation)."""
    # (unit, fiscal_year) is unique: no ordering needed (the default one would join units).
    mode = (
        FundingAllocation.objects.filter(
            unit_id=OuterRef("unit_id"), fiscal_year=OuterRef("fiscal_year")
        )
        .order_by()
        .values("mode")[:1]
    )
    return Subquery(mode, output_field=CharField())


def _with_room(requests):
    """Each request with its unit's improvement allocation, committed money and what is left
    in the request's year (two correlated subqueries, no query per row)."""
    improvement = FundingAllocation.objects.filter(
        unit_id=OuterRef("unit_id"), fiscal_year=OuterRef("fiscal_year")
    ).values("improvement_amount")[:1]
    committed = (
        InvestmentRequest.objects.filter(
            unit_id=OuterRef("unit_id"),
            fiscal_year=OuterRef("fiscal_year"),
            status=RequestStatus.APPROVED,
        )
        .order_by()
        .values("unit_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    zero = Value(ZERO, output_field=MONEY_FIELD)
    return requests.annotate(
        room_improvement=Coalesce(Subquery(improvement, output_field=MONEY_FIELD), zero),
        room_committed=Coalesce(Subquery(committed, output_field=MONEY_FIELD), zero),
    ).annotate(room_left=F("room_improvement") - F("room_committed"))


def _requests(user):
    return _with_room(
        InvestmentRequest.objects.visible_to(user).select_related(
            "unit__owner__user",
            "unit__cluster",
            "unit__product",
            "product",
            "metric",
            "requested_by",
            "decided_by",
        )
    )


def _years() -> list[int]:
    """Every fiscal year with an allocation or a request, and the current one (one query)."""
    allocations = FundingAllocation.objects.order_by().values_list("fiscal_year", flat=True)
    asked = InvestmentRequest.objects.order_by().values_list("fiscal_year", flat=True)
    years = set(allocations.union(asked)) | {services.current_fiscal_year()}
    return sorted(years, reverse=True)


def _year(value, default: int | None = None) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default or services.current_fiscal_year()
    return year if 2000 <= year <= 2100 else default or services.current_fiscal_year()


def _why_not(user, req: InvestmentRequest) -> str:
    """Why a leader sees no decision buttons on a waiting request."""
    if not is_leader(user):
        return ""
    if req.requested_by_id == user.pk:
        return "You asked for it: another leader decides."
    return "You own this unit: another leader decides."


def _present(user, req: InvestmentRequest) -> InvestmentRequest:
    # Display values hung on the request for the template.
    req.waiting = req.status == RequestStatus.SUBMITTED  # type: ignore[attr-defined]
    req.can_decide = req.waiting and services.may_decide(user, req)  # type: ignore[attr-defined]
    req.why_not = _why_not(user, req) if req.waiting and not req.can_decide else ""  # type: ignore[attr-defined]
    return req


# --- the unit's funding panel ------------------------------------------------------------------


def _unit(request: HttpRequest, unit_id: int) -> OwnershipUnit:
    units = OwnershipUnit.objects.visible_to(request.user).select_related(
        "owner__user", "cluster", "product"
    )
    return get_object_or_404(units, pk=unit_id)


def _components(unit: OwnershipUnit) -> list[Product]:
    return list(
        Product.objects.filter(unit=unit)
        .exclude(lifecycle_stage=Stage.RETIRED)
        .only("name", "lifecycle_stage", "unit_id")
        .order_by("name")
    )


def _metrics(unit: OwnershipUnit) -> list[Metric]:
    return list(
        Metric.objects.filter(product__unit=unit)
        .select_related("product")
        .only("name", "product__name", "product__unit_id")
        .order_by("product__name", "name")
    )


def _request_form(unit, year, data=None) -> InvestmentRequestForm:
    return InvestmentRequestForm(
        data,
        initial={"fiscal_year": year},
        components=_components(unit),
        metrics=_metrics(unit),
    )


@dataclass
class Outcome:
    level: str  # success / warning / info
    title: str
    detail: str
    request: InvestmentRequest | None = None


def _outcome(req: InvestmentRequest, currency: str) -> Outcome:
    amount = f"{money(req.amount)} {currency}"
    if req.status == RequestStatus.APPROVED:
        return Outcome("success", f"Approved by the rules: {amount}.", req.decision_reason, req)
    if req.status == RequestStatus.SUBMITTED:
        return Outcome(
            "warning",
            f"{amount} waits for a leader in the approval queue.",
            req.decision_reason,
            req,
        )
    return Outcome(
        "info", f"{amount} saved as a draft.", "Submit it from its page when ready.", req
    )


def _panel_context(
    request: HttpRequest,
    unit: OwnershipUnit,
    year: int,
    *,
    request_form=None,
    allocation_form=None,
    outcome: Outcome | None = None,
    error: DomainError | None = None,
) -> dict:
    room = services.capacity(unit, year)
    can_ask = can_edit_unit(request.user, unit)
    leader = is_leader(request.user)
    if can_ask and request_form is None:
        request_form = _request_form(unit, year)
    if leader and allocation_form is None:
        allocation_form = AllocationForm(
            initial={
                "fiscal_year": year,
                "operations_amount": room.operations,
                "improvement_amount": room.improvement,
                "mode": room.mode or FundingMode.CAPACITY,
            }
        )
        if room.allocation is not None:
            carry_version(allocation_form, room.allocation)
    requests = list(
        unit.investment_requests.filter(fiscal_year=year).select_related("product", "metric")[
            :PANEL_REQUESTS
        ]
    )
    used = room.committed / room.improvement * 100 if room.improvement > 0 else Decimal(0)
    return {
        "unit": unit,
        "year": year,
        "room": room,
        "used_pct": min(int(used), 100),
        "over": room.remaining < 0,
        "mode_label": FundingMode(room.mode).label if room.mode else "",
        "requests": requests,
        "limit": PANEL_REQUESTS,
        "request_form": request_form if can_ask else None,
        "allocation_form": allocation_form if leader else None,
        "outcome": outcome,
        "error": error,
        "currency": PortfolioSettings.load().currency,
    }


def _panel(request: HttpRequest, unit, year: int, *, status: int = 200, **kwargs) -> HttpResponse:
    context = _panel_context(request, unit, year, **kwargs)
    return render_page(request, PANEL, context, partial="panel", status=status)


def _back_to_panel(request: HttpRequest, unit, year: int) -> HttpResponse:
    return redirect(f"{reverse('funding-unit', args=[unit.pk])}?year={year}")


@require_GET
def unit_panel(request: HttpRequest, unit_id: int) -> HttpResponse:
    """The unit's funding for one year; product and cluster pages load it into place."""
    unit = _unit(request, unit_id)
    return _panel(request, unit, _year(request.GET.get("year")))


@require_POST
def unit_request(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Ask for money (the unit's owner or a leader); answer with the redrawn panel and whether
    the rules approved it or why it waits for a leader."""
    unit = _unit(request, unit_id)
    year = _year(request.POST.get("fiscal_year"))
    if not can_edit_unit(request.user, unit):
        refused = Forbidden(
            f"Only the owner of {unit.name} or a portfolio leader can ask for investment in it.",
            rule="unit_owner_or_leader",
        )
        return _panel(request, unit, year, error=refused, status=403)
    form = _request_form(unit, year, request.POST)
    submit = request.POST.get("action") != "draft"
    created, status = submit_form(
        request,
        form,
        lambda f: services.request_create(actor=request.user, **f.service_kwargs(submit)),
    )
    if created is None:
        return _panel(request, unit, year, request_form=form, status=status)
    outcome = _outcome(created, PortfolioSettings.load().currency)
    if not wants_partial(request):
        getattr(messages, outcome.level)(request, f"{outcome.title} {outcome.detail}")
        return _back_to_panel(request, unit, created.fiscal_year)
    return _panel(request, unit, created.fiscal_year, outcome=outcome)


@require_POST
def unit_allocation(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Set the unit's allocation and funding mode for the year (leaders)."""
    unit = _unit(request, unit_id)
    year = _year(request.POST.get("fiscal_year"))
    if not is_leader(request.user):
        refused = Forbidden(
            "Only a portfolio leader can set funding allocations.", rule="leader_only"
        )
        return _panel(request, unit, year, error=refused, status=403)
    form = AllocationForm(request.POST)
    if request.POST.get("version"):
        # Replacing a stored allocation: a stale save shows the conflict view, nothing lost.
        stored = FundingAllocation.objects.filter(unit=unit, fiscal_year=year).first()
        if stored is not None:
            carry_version(form, stored)
    saved, status = submit_form(
        request,
        form,
        lambda f: services.allocation_set(actor=request.user, unit=unit, **f.cleaned_data),
    )
    if saved is None:
        return _panel(request, unit, year, allocation_form=form, status=status)
    done = Outcome("success", f"Allocation for {saved.fiscal_year} saved.", "")
    if not wants_partial(request):
        messages.success(request, done.title)
        return _back_to_panel(request, unit, saved.fiscal_year)
    return _panel(request, unit, saved.fiscal_year, outcome=done)


# --- the approval queue ------------------------------------------------------------------------


def _queue(user, params, filters: dict):
    """The API's filterset (status, fiscal_year, cluster, unit, product, amounts), then the
    page's own stage and mode, which read the unit's allocation and members."""
    status = filters["status"]  # the form's: the waiting ones unless told otherwise
    query = params.copy()
    query.pop("status", None)
    if status != "all":  # "all" is the API's "no status filter"
        query["status"] = status
    requests = InvestmentRequestFilterSet(query, queryset=_requests(user)).qs
    if filters.get("stage"):
        requests = requests.annotate(unit_stage=unit_stage())
        if filters["stage"] == NO_STAGE:
            requests = requests.filter(unit_stage__isnull=True)
        else:
            requests = requests.filter(unit_stage=filters["stage"])
    if filters.get("mode"):
        requests = requests.annotate(unit_mode=_unit_mode())
        if filters["mode"] == NO_MODE:
            requests = requests.filter(unit_mode__isnull=True)
        else:
            requests = requests.filter(unit_mode=filters["mode"])
    return requests


def queue_order(status: str) -> tuple[str, ...]:
    """The longest waiting first; any other status, the latest change first."""
    return ("submitted_at", "id") if status == RequestStatus.SUBMITTED else ("-updated_at", "-id")


@require_GET
def request_queue(request: HttpRequest) -> HttpResponseBase:
    """Requests by status (waiting by default), year, cluster, stage and mode; leaders decide
    the waiting ones in place. One page at a time by keyset (`after=<cursor>`), the total
    counted up to QUEUE_COUNT_CAP: the page costs the same however many requests there are."""
    form = QueueFilterForm(request.GET or None, stages=STAGE_FILTERS)
    filters = form.filters()
    requests = _queue(request.user, request.GET, filters)
    order = queue_order(filters["status"])
    if export := page_export(request, REQUEST_EXPORT, requests.order_by(*order)):
        return export
    page = keyset_page(requests, order=order, cursor=request.GET.get("after"), size=QUEUE_PER_PAGE)
    page.rows = [_present(request.user, r) for r in page.rows]
    total = count_upto(requests, QUEUE_COUNT_CAP)
    context = {
        "form": form,
        "page": page,
        "total": min(total, QUEUE_COUNT_CAP),
        "more": total > QUEUE_COUNT_CAP,
        "status": filters["status"],
        "currency": PortfolioSettings.load().currency,
        "decision_form": DecisionForm(),
    }
    return render_page(request, QUEUE, context, partial="table")


def _detail_context(request: HttpRequest, req: InvestmentRequest, **extra) -> dict:
    _present(request.user, req)
    open_ = req.status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED)
    editor = can_edit_unit(request.user, req.unit)
    return {
        "r": req,
        "currency": PortfolioSettings.load().currency,
        "can_withdraw": open_ and (editor or req.requested_by_id == request.user.pk),
        "can_submit": req.status == RequestStatus.DRAFT and editor,
        "decision_form": DecisionForm(),
        **extra,
    }


@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject (leaders, never their own request nor their own unit's): htmx gets
    the queue row back, decided or with the refusal in it."""
    req = get_object_or_404(_requests(request.user), pk=pk)
    form = DecisionForm(request.POST)

    def write(f):
        decide = (
            services.request_approve
            if f.cleaned_data["decision"] == "approve"
            else services.request_reject
        )
        return decide(actor=request.user, request=req, reason=f.cleaned_data["reason"])

    decided, status = submit_form(request, form, write)
    if not wants_partial(request):
        if decided is not None:
            messages.success(request, f"Request {decided.get_status_display().lower()}.")
            return redirect("funding-request", pk=pk)
        context = _detail_context(request, req, decision_form=form)
        return render(request, DETAIL, context, status=status)
    row = _present(request.user, get_object_or_404(_requests(request.user), pk=pk))
    context = {
        "r": row,
        "currency": PortfolioSettings.load().currency,
        "decision_form": form if decided is None else DecisionForm(),
        "just_decided": decided is not None,
    }
    response = render(request, f"{QUEUE}#row", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- one request -------------------------------------------------------------------------------


@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(_requests(request.user), pk=pk)
    return render(request, DETAIL, _detail_context(request, req))


def _act(request: HttpRequest, pk: int, service) -> HttpResponse:
    req = get_object_or_404(InvestmentRequest.objects.visible_to(request.user), pk=pk)
    done = service(actor=request.user, request=req)  # a refusal is the middleware's to show
    outcome = _outcome(done, PortfolioSettings.load().currency)
    if done.status == RequestStatus.WITHDRAWN:
        messages.info(request, "Request withdrawn.")
    else:
        getattr(messages, outcome.level)(request, f"{outcome.title} {outcome.detail}")
    return redirect_after_post(request, reverse("funding-request", args=[pk]))


@require_POST
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a draft on: the rules approve it or it joins the leaders' queue."""
    return _act(request, pk, services.request_submit)


@require_POST
def request_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a draft or a waiting request (requester, the unit's owner, leaders)."""
    return _act(request, pk, services.request_withdraw)


# --- the portfolio view ------------------------------------------------------------------------


@dataclass
class Bucket:
    key: str
    label: str
    operations: Decimal = ZERO
    improvement: Decimal = ZERO
    committed: Decimal = ZERO
    waiting: Decimal = ZERO
    units: int = 0
    # How many requests the committed and waiting sums add up (the rows their links list).
    committed_requests: int = 0
    waiting_requests: int = 0
    links: dict = field(default_factory=dict)

    @property
    def allocated(self) -> Decimal:
        return self.operations + self.improvement

    @property
    def remaining(self) -> Decimal:
        return self.improvement - self.committed


@dataclass
class FundingReport:
    year: int
    by_stage: list[Bucket]
    by_mode: list[Bucket]
    total: Bucket

    @property
    def empty(self) -> bool:
        return not (self.total.allocated or self.total.committed or self.total.waiting)


def _queue_url(**params) -> str:
    return f"{reverse('funding-requests')}?{urlencode(params)}"


def funding_report(year: int) -> FundingReport:
    """Money for one fiscal year, by the stage of each unit and by its funding mode.

    Two grouped queries whatever the portfolio's size: allocations by (unit stage, mode) and
    approved / waiting requests by (unit stage, unit mode). A unit counts under the stage most
    of its live members are in (see unit_stage).
    """
    stages = {s.value: Bucket(s.value, s.label) for s in LIVE_STAGE_KEYS} | {
        NO_STAGE: Bucket(NO_STAGE, "No live member")
    }
    modes = {m.value: Bucket(m.value, m.label) for m in FundingMode} | {
        NO_MODE: Bucket(NO_MODE, "No allocation")
    }
    total = Bucket("all", "All units")
    allocations = (
        FundingAllocation.objects.filter(fiscal_year=year)
        .annotate(stage=unit_stage())
        .order_by()
        .values("stage", "mode")
        .annotate(ops=Sum("operations_amount"), imp=Sum("improvement_amount"), n=Count("pk"))
    )
    for cell in allocations:
        for bucket in (stages[cell["stage"] or NO_STAGE], modes[cell["mode"]], total):
            bucket.operations += cell["ops"]
            bucket.improvement += cell["imp"]
            bucket.units += cell["n"]
    asked = (
        InvestmentRequest.objects.filter(
            fiscal_year=year, status__in=[RequestStatus.APPROVED, RequestStatus.SUBMITTED]
        )
        .annotate(stage=unit_stage(), mode=_unit_mode())
        .order_by()
        .values("stage", "mode")
        .annotate(
            committed=Sum("amount", filter=Q(status=RequestStatus.APPROVED)),
            waiting=Sum("amount", filter=Q(status=RequestStatus.SUBMITTED)),
            n_committed=Count("pk", filter=Q(status=RequestStatus.APPROVED)),
            n_waiting=Count("pk", filter=Q(status=RequestStatus.SUBMITTED)),
        )
    )
    for cell in asked:
        stage, mode = cell["stage"] or NO_STAGE, cell["mode"] or NO_MODE
        for bucket in (stages[stage], modes[mode], total):
            bucket.committed += cell["committed"] or ZERO
            bucket.waiting += cell["waiting"] or ZERO
            bucket.committed_requests += cell["n_committed"]
            bucket.waiting_requests += cell["n_waiting"]
    for kind, buckets in (("stage", stages), ("mode", modes)):
        for bucket in buckets.values():
            bucket.links = {
                "committed": _queue_url(status="approved", fiscal_year=year, **{kind: bucket.key}),
                "waiting": _queue_url(status="submitted", fiscal_year=year, **{kind: bucket.key}),
            }
            if kind == "stage" and bucket.key != NO_STAGE:
                bucket.links["units"] = f"{reverse('product-list')}?stage={bucket.key}"
    total.links = {
        "committed": _queue_url(status="approved", fiscal_year=year),
        "waiting": _queue_url(status="submitted", fiscal_year=year),
    }
    return FundingReport(
        year=year,
        by_stage=[b for b in stages.values() if b.key != NO_STAGE or b.units or b.committed],
        by_mode=[b for b in modes.values() if b.key != NO_MODE or b.committed or b.waiting],
        total=total,
    )


def _stage_chart(report: FundingReport, currency: str) -> str:
    return stacked_bars(
        [(b.label, [b.operations, b.committed, max(b.remaining, ZERO)]) for b in report.by_stage],
        segments=["Operations", "Improvement committed", "Improvement free"],
        currency=currency,
        title=f"Allocated money by lifecycle stage, {report.year}",
    )


@require_GET
def funding_summary(request: HttpRequest) -> HttpResponse:
    """The dashboard's funding panel for the current fiscal year (loaded after the page, so
    the dashboard's own queries stay as they are)."""
    report = funding_report(services.current_fiscal_year())
    currency = PortfolioSettings.load().currency
    context = {
        "report": report,
        "currency": currency,
        "chart": mark_safe(_stage_chart(report, currency)),  # escaped labels and numbers only
    }
    return render_page(request, "funding/_dashboard_panel.html", context)


def _allocations(request: HttpRequest, year: int):
    """The year's allocations (the page's year, the API's other filters), as the API orders
    them."""
    params = request.GET.copy()
    params["fiscal_year"] = str(year)
    allocations = FundingAllocation.objects.visible_to(request.user)
    return AllocationFilterSet(params, queryset=allocations).qs


@require_GET
def funding_portfolio(request: HttpRequest) -> HttpResponseBase:
    """The portfolio's funding for a year: totals, by lifecycle stage and by funding mode."""
    years = _years()
    form = YearForm(request.GET or None, years=years)
    year = form.year_or(services.current_fiscal_year())
    allocations = _allocations(request, year)
    if export := page_export(request, ALLOCATION_EXPORT, allocations, order=ALLOCATION_ORDER):
        return export
    report = funding_report(year)
    currency = PortfolioSettings.load().currency
    chart = _stage_chart(report, currency)
    context = {
        "form": form,
        "year": year,
        "report": report,
        "currency": currency,
        "chart": mark_safe(chart),  # built from escaped labels and numbers only
    }
    return render_page(request, PORTFOLIO, context, partial="report")
