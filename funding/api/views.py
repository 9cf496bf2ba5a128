"""/api/v1/funding-allocations/ and investment-requests/: thin views over the funding
filtersets and services (portfolio/funding/services.py holds every rule: who may, the
governance threshold, the remaining capacity, and that nobody decides their own request).

Lists are values() rows, an allocation's committed and waiting sums in subqueries, so they cost
the same queries at any page size. Money goes out as strings with two decimals.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from funding import services
from funding.api.serializers import (
    ALLOCATION,
    ALLOCATION_EXPORT,
    ALLOCATION_ORDER,
    INVESTMENT_REQUEST,
    REQUEST_EXPORT,
    REQUEST_ORDER,
    AllocationInputSerializer,
    AllocationSerializer,
    AllocationUpdateSerializer,
    InvestmentRequestInputSerializer,
    InvestmentRequestSerializer,
    RequestDecisionInputSerializer,
    allocation_rows,
    request_rows,
)
from funding.filters import AllocationFilterSet, InvestmentRequestFilterSet
from funding.models import FundingAllocation, FundingMode, InvestmentRequest
from portfolio.api.exports import Exportable
from portfolio.api.views import Preconditions, RowsViewSet, errors_for
from portfolio.models import PortfolioSettings
from portfolio.permissions import require_leader


class FundingRowsViewSet(RowsViewSet):
    """Funding bodies carry the organisation's currency: one settings read per answer."""

    def row_context(self) -> dict:
        return {"currency": PortfolioSettings.load().currency}


# --- Allocations ---------------------------------------------------------------------------------

MONEY_NOTE = (
    'Amounts are strings with two decimals ("1250.50"), never JSON floats; send them as '
    "strings or whole numbers."
)


@extend_schema_view(
    list=extend_schema(
        summary="List funding allocations",
        description=(
            "Newest fiscal year first, then by unit name. `committed` sums the approved "
            "requests of the unit and year, `waiting` the ones waiting for a leader, "
            "`remaining` = `improvement_amount` - `committed`. " + MONEY_NOTE
        ),
        responses={200: AllocationSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read a funding allocation",
        responses={200: AllocationSerializer, **errors_for(404)},
    ),
    create=extend_schema(
        summary="Set a unit's allocation for a year (leaders)",
        description=(
            "Creates the unit's allocation for the fiscal year (201) or, when it has one, "
            "replaces its amounts, mode and note (200): one allocation per unit and year. "
            "`unit` must be a current unit (400 naming `unit` for an unknown or dormant one). "
            "409 `below_committed` when `improvement_amount` would fall below what approved "
            "requests already committed. " + MONEY_NOTE
        ),
        request=AllocationInputSerializer,
        responses={
            201: AllocationSerializer,
            200: AllocationSerializer,
            **errors_for(400, 403, 409),
        },
    ),
    update=extend_schema(
        summary="Replace an allocation's amounts (leaders)",
        description=(
            "Both amounts are required; `mode` and `note` keep their value when left out; the "
            "unit and the year never change (POST another allocation instead). 409 "
            "`below_committed` as for POST. There is no DELETE: an allocation is the year's "
            "budget on record; set its amounts to 0 instead."
        ),
        request=AllocationUpdateSerializer,
        responses={200: AllocationSerializer, **errors_for(400, 403, 404, 409)},
    ),
    partial_update=extend_schema(
        summary="Change some of an allocation's fields (leaders)",
        description="Fields left out keep their value. 409 `below_committed` as for POST.",
        request=AllocationUpdateSerializer,
        responses={200: AllocationSerializer, **errors_for(400, 403, 404, 409)},
    ),
)
class AllocationViewSet(Exportable, Preconditions, FundingRowsViewSet):
    """Funding allocations: every login reads; leaders set them (no delete)."""

    queryset = FundingAllocation.objects.all()
    serializer_class = AllocationSerializer
    filterset_class = AllocationFilterSet
    output = ALLOCATION
    order = ALLOCATION_ORDER
    listing = ALLOCATION_EXPORT
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[FundingAllocation]:
        qs = FundingAllocation.objects.visible_to(self.request.user)
        if self.action in ("update", "partial_update"):
            return qs.select_related("unit")
        return qs

    def rows(self, queryset):
        return allocation_rows(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        require_leader(request.user, "set funding allocations")
        serializer = AllocationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("mode", FundingMode.CAPACITY)
        key = {"unit": data["unit"], "fiscal_year": data["fiscal_year"]}
        # update_or_create settles a race on the same unit and year; the code may then say 201
        # for both, which is the only thing the race changes.
        existed = FundingAllocation.objects.filter(**key).exists()
        allocation = services.allocation_set(actor=request.user, **data)
        if existed:
            return self.answer(allocation.pk)
        location = reverse("api-funding-allocation-detail", args=[allocation.pk])
        return self.answer(allocation.pk, status.HTTP_201_CREATED, Location=location)

    def _update(self, request: Request, *, partial: bool) -> Response:
        allocation = self.get_object()
        require_leader(request.user, "set funding allocations")
        serializer = AllocationUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        current = {
            "operations_amount": allocation.operations_amount,
            "improvement_amount": allocation.improvement_amount,
            "mode": allocation.mode,
            "note": allocation.note,
        }
        services.allocation_set(
            actor=request.user,
            unit=allocation.unit,
            fiscal_year=allocation.fiscal_year,
            version=self.precondition(),
            **{**current, **serializer.validated_data},
        )
        return self.answer(allocation.pk)

    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)


# --- Investment requests -------------------------------------------------------------------------

DECIDE_RULES = (
    "Leaders only (403 `leader_only`, owners too, even for their own unit); never a request "
    "you asked for or one for a unit you own (403 `no_self_approval`). 409 "
    "`request_not_waiting` unless it is `submitted`; 400 naming `reason` without a reason."
)


@extend_schema_view(
    list=extend_schema(
        summary="List investment requests",
        description="Newest first. " + MONEY_NOTE,
        responses={200: InvestmentRequestSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read an investment request",
        responses={200: InvestmentRequestSerializer, **errors_for(404)},
    ),
    create=extend_schema(
        summary="Ask for an investment (unit owner or leaders)",
        description=(
            "Answers 201 with the request. With `submit` (the default) the rules decide at "
            "once: at or below the governance threshold and within the unit's remaining "
            "improvement capacity for the year it is `approved` (`auto_approved`); otherwise "
            "it is `submitted`, waiting for a leader, and `decision_reason` says why. With "
            "`submit: false` it stays a `draft`. " + MONEY_NOTE
        ),
        request=InvestmentRequestInputSerializer,
        responses={201: InvestmentRequestSerializer, **errors_for(400, 403)},
    ),
)
class InvestmentRequestViewSet(Exportable, Preconditions, FundingRowsViewSet):
    """Investment requests: every login reads; unit owners and leaders ask, leaders decide."""

    queryset = InvestmentRequest.objects.all()
    serializer_class = InvestmentRequestSerializer
    filterset_class = InvestmentRequestFilterSet
    output = INVESTMENT_REQUEST
    order = REQUEST_ORDER
    listing = REQUEST_EXPORT
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[InvestmentRequest]:
        return InvestmentRequest.objects.visible_to(self.request.user)

    def rows(self, queryset):
        return request_rows(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = InvestmentRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.request_create(actor=request.user, **serializer.validated_data)
        location = reverse("api-investment-request-detail", args=[created.pk])
        return self.answer(created.pk, status.HTTP_201_CREATED, Location=location)

    @extend_schema(
        summary="Submit a draft (unit owner or leaders)",
        description=(
            "The rules decide as on creation: `approved` within the threshold and the capacity, "
            "else `submitted`. 409 `request_not_draft` unless it is a draft."
        ),
        request=None,
        responses={200: InvestmentRequestSerializer, **errors_for(403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="submit", url_name="submit")
    def submit(self, request: Request, pk=None) -> Response:
        found = services.request_submit(
            actor=request.user, request=self.get_object(), version=self.precondition()
        )
        return self.answer(found.pk)

    @extend_schema(
        summary="Withdraw a request (its requester, the unit owner or leaders)",
        description="Drafts and waiting requests only: 409 `request_decided` once decided.",
        request=None,
        responses={200: InvestmentRequestSerializer, **errors_for(403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="withdraw", url_name="withdraw")
    def withdraw(self, request: Request, pk=None) -> Response:
        found = services.request_withdraw(
            actor=request.user, request=self.get_object(), version=self.precondition()
        )
        return self.answer(found.pk)

    def _decide(self, request: Request, decide, verb: str) -> Response:
        found = self.get_object()
        require_leader(request.user, f"{verb} investment requests")
        serializer = RequestDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "")
        decide(actor=request.user, request=found, reason=reason, version=self.precondition())
        return self.answer(found.pk)

    @extend_schema(
        summary="Approve a waiting request (another leader)",
        description=DECIDE_RULES + " A leader may approve beyond the remaining capacity.",
        request=RequestDecisionInputSerializer,
        responses={200: InvestmentRequestSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="approve", url_name="approve")
    def approve(self, request: Request, pk=None) -> Response:
        return self._decide(request, services.request_approve, "approve")

    @extend_schema(
        summary="Reject a waiting request (another leader)",
        description=DECIDE_RULES,
        request=RequestDecisionInputSerializer,
        responses={200: InvestmentRequestSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="reject", url_name="reject")
    def reject(self, request: Request, pk=None) -> Response:
        return self._decide(request, services.request_reject, "reject")
