"""/api/v1/review-cycles/, reviews/, review-packets/, decisions/ and action-items/.

Thin views over the reviews filtersets and services. Lists are values() rows with their counts
in subqueries, so they cost the same queries at any page size; every write goes through a
service in reviews/services.py, which holds the rules (who may, and a closed review is locked).
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import renderers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.exports import Exportable
from portfolio.api.serializers import ErrorSerializer
from portfolio.api.views import JSONRenderer, Preconditions, RowsViewSet, errors_for
from portfolio.errors import RuleViolation
from portfolio.permissions import require_leader
from products.permissions import require_unit_editor
from reviews import services
from reviews.api.serializers import (
    ACTION_ITEM,
    ACTION_ITEM_EXPORT,
    ACTION_ORDER,
    CYCLE_ORDER,
    DECISION,
    DECISION_EXPORT,
    DECISION_ORDER,
    PACKET,
    PACKET_ORDER,
    REVIEW,
    REVIEW_CYCLE,
    REVIEW_ORDER,
    ActionItemInputSerializer,
    ActionItemSerializer,
    ActionItemUpdateSerializer,
    DecisionInputSerializer,
    DecisionSerializer,
    FanOutSerializer,
    PacketSerializer,
    ReviewCloseSerializer,
    ReviewCycleInputSerializer,
    ReviewCycleSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
    ScheduleResultSerializer,
    ToBacklogInputSerializer,
    ToBacklogResultSerializer,
    action_item_rows,
    cycle_rows,
    decision_rows,
    packet_rows,
    review_rows,
)
from reviews.filters import (
    ActionItemFilterSet,
    DecisionFilterSet,
    PacketFilterSet,
    ReviewCycleFilterSet,
    ReviewFilterSet,
)
from reviews.models import ActionItem, Decision, Packet, PacketStatus, Review, ReviewCycle

# --- Cycles --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List review cycles",
        description="Newest quarter first, with how many reviews each has, closed and ready.",
        responses={200: ReviewCycleSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read a review cycle", responses={200: ReviewCycleSerializer, **errors_for(404)}
    ),
    create=extend_schema(
        summary="Schedule a quarter's reviews (leaders)",
        description=(
            "Schedules a review for every current ownership unit with a live product run as a "
            "product, spread over the cycle's working days so that no owner has two reviews on "
            "one day. Answers 201 when the cycle is new; posting a quarter that already has a "
            "cycle answers 200 and only adds reviews for units that have none yet (`created`), "
            "leaving the others as they are (`existing`); its dates are then kept. 409 "
            "`owner_double_booked` if an owner has more units than the cycle has working days, "
            "`cycle_closed` for a closed cycle."
        ),
        request=ReviewCycleInputSerializer,
        responses={
            201: ScheduleResultSerializer,
            200: ScheduleResultSerializer,
            **errors_for(400, 403, 409),
        },
    ),
)
class ReviewCycleViewSet(RowsViewSet):
    """Review cycles: every login reads; leaders schedule, fan packets out and close."""

    queryset = ReviewCycle.objects.all()
    serializer_class = ReviewCycleSerializer
    filterset_class = ReviewCycleFilterSet
    output = REVIEW_CYCLE
    order = CYCLE_ORDER

    def get_queryset(self) -> QuerySet[ReviewCycle]:
        return ReviewCycle.objects.visible_to(self.request.user)

    def rows(self, queryset):
        return cycle_rows(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        require_leader(request.user, "schedule quarterly reviews")
        serializer = ReviewCycleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        quarter = {"year": data["year"], "quarter": data["quarter"]}
        existed = ReviewCycle.objects.filter(**quarter).exists()
        try:
            result = services.cycle_schedule(actor=request.user, **data)
        except IntegrityError:
            # Another request created the quarter's cycle meanwhile: add to that one.
            existed = True
            result = services.cycle_schedule(actor=request.user, **data)
        body = {
            **self.body(result.cycle.pk),
            "created": result.created,
            "existing": result.existing,
        }
        if existed:
            return Response(body)
        location = reverse("api-review-cycle-detail", args=[result.cycle.pk])
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(
        summary="Generate the packets of a whole cycle (leaders)",
        description=(
            "Queues one packet per open review that has none (or only failed ones) and answers "
            "202 at once; follow the progress in `counts.packets_ready` or in review-packets/. "
            "Running it again makes nothing new (`queued: 0`) while packets exist, and sends the "
            "jobs of those still pending again, so a job lost while the queue was down is not "
            "waited for forever."
        ),
        request=None,
        responses={202: FanOutSerializer, **errors_for(403, 404)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="generate-packets", url_name="generate-packets")
    def generate_packets(self, request: Request, pk=None) -> Response:
        cycle = self.get_object()
        fan_out = services.cycle_generate_packets(actor=request.user, cycle=cycle)
        body = {"queued": fan_out.queued, "already": fan_out.already}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Close a review cycle (leaders)",
        description="409 `reviews_open` while any of its reviews is still open.",
        request=None,
        responses={200: ReviewCycleSerializer, **errors_for(403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close(self, request: Request, pk=None) -> Response:
        cycle = services.cycle_close(actor=request.user, cycle=self.get_object())
        return self.answer(cycle.pk)


# --- Reviews -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List reviews",
        description=(
            "Newest cycle first, then in agenda order (day, then position in the day). "
            "`from` and `to` bound the scheduled day, both inclusive."
        ),
        responses={200: ReviewSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read a review", responses={200: ReviewSerializer, **errors_for(404)}
    ),
    partial_update=extend_schema(
        summary="Move a review to another day (leaders)",
        description=(
            "The day must lie within the cycle's dates; 409 `owner_double_booked` if the owner "
            "already has a review that day, `review_closed` once the review is closed."
        ),
        request=ReviewUpdateSerializer,
        responses={200: ReviewSerializer, **errors_for(400, 403, 404, 409)},
    ),
)
class ReviewViewSet(Preconditions, RowsViewSet):
    """Reviews: every login reads; leaders move and close them; owners ask for packets too."""

    queryset = Review.objects.all()
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilterSet
    output = REVIEW
    order = REVIEW_ORDER
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Review]:
        return Review.objects.visible_to(self.request.user)

    def rows(self, queryset):
        return review_rows(queryset)

    def partial_update(self, request: Request, pk=None) -> Response:
        review = self.get_object()
        require_leader(request.user, "move a review")
        serializer = ReviewUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.review_reschedule(
            actor=request.user,
            review=review,
            version=self.precondition(),
            **serializer.validated_data,
        )
        return self.answer(review.pk)

    @extend_schema(
        summary="Close a review (leaders)",
        description=(
            "Locks its decisions and action items (only whether an action was done keeps "
            "changing). Needs at least one decision (409 `decision_required`); 409 "
            "`review_closed` if it is closed already. `summary` replaces the meeting notes."
        ),
        request=ReviewCloseSerializer,
        responses={200: ReviewSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close(self, request: Request, pk=None) -> Response:
        review = self.get_object()
        require_leader(request.user, "close reviews")
        serializer = ReviewCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        summary = serializer.validated_data.get("summary")
        services.review_close(actor=request.user, review=review, summary=summary)
        return self.answer(review.pk)

    @extend_schema(
        summary="Ask for a new packet version (unit owner or leaders)",
        description=(
            "Queues a new version of the review's packet and answers 202 with it at once; older "
            "versions stay. While a version is still pending that one is the answer (no new "
            "version; its job is sent again). Follow it at review-packets/{id}/. "
            "409 `review_closed` once the review is closed."
        ),
        request=None,
        responses={202: PacketSerializer, **errors_for(403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="packets", url_name="packets")
    def packets(self, request: Request, pk=None) -> Response:
        review = self.get_object()
        packet = services.packet_request(actor=request.user, review=review)
        # Read back: with an eager queue the packet may already be generated.
        row = packet_rows(Packet.objects.filter(pk=packet.pk)).get()
        location = reverse("api-review-packet-detail", args=[packet.pk])
        return Response(
            PACKET.one(row, request=request),
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


# --- Packets -------------------------------------------------------------------------------------


class PDFRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PacketHTMLRenderer(renderers.BaseRenderer):
    """The stored packet HTML as it is (not DRF's browsable page)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode("utf-8") if isinstance(data, str) else data


PDF_NOT_READY = OpenApiResponse(
    ErrorSerializer,
    description=(
        "Not printed yet (rule `pdf_not_ready`): a generated packet's print is queued by this "
        "request; poll the packet until `pdf_ready`, or ask again."
    ),
)
HTML_NOT_READY = OpenApiResponse(
    ErrorSerializer,
    description="Not generated yet or failed (rule `packet_not_ready`): see the packet's `status`.",
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such packet.")
JSON = "application/json"


@extend_schema_view(
    list=extend_schema(
        summary="List review packets (metadata)",
        description=(
            "By review, newest version first. Metadata only: the packet itself is at "
            "`html_url` and `pdf_url`."
        ),
        responses={200: PacketSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read a review packet's metadata",
        responses={200: PacketSerializer, **errors_for(404)},
    ),
)
class PacketViewSet(RowsViewSet):
    """Packets are frozen snapshots: every login reads them; nothing here writes."""

    queryset = Packet.objects.all()
    serializer_class = PacketSerializer
    filterset_class = PacketFilterSet
    output = PACKET
    order = PACKET_ORDER

    def get_queryset(self) -> QuerySet[Packet]:
        reviews = Review.objects.visible_to(self.request.user)
        return Packet.objects.filter(review__in=reviews.values("pk"))

    def rows(self, queryset):
        return packet_rows(queryset)

    def row_context(self):
        return {"request": self.request}

    def handle_exception(self, exc):
        # The downloads negotiate PDF or HTML; their errors are the API's one JSON body.
        response = super().handle_exception(exc)
        if self.action in ("html", "pdf"):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSON
        return response

    def _stored(self, pk, *fields: str) -> Packet:
        packet = self.get_queryset().filter(pk=pk).only("status", "version", *fields).first()
        if packet is None:
            raise Http404
        return packet

    @extend_schema(
        summary="Download a packet as HTML",
        description="The stored, self-contained HTML page (styles inline) of a generated packet.",
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The packet page."),
            (404, JSON): NOT_FOUND,
            (409, JSON): HTML_NOT_READY,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="html",
        url_name="html",
        renderer_classes=[PacketHTMLRenderer],
    )
    def html(self, request: Request, pk=None) -> Response:
        packet = self._stored(pk, "html")
        if packet.status != PacketStatus.DONE:
            raise RuleViolation(
                f"Packet v{packet.version} is {packet.get_status_display().lower()}, not ready.",
                rule="packet_not_ready",
            )
        return Response(packet.html, content_type="text/html; charset=utf-8")

    @extend_schema(
        summary="Download a packet as PDF",
        description="The stored PDF, printed from the packet's frozen HTML.",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The packet as PDF."
            ),
            (404, JSON): NOT_FOUND,
            (409, JSON): PDF_NOT_READY,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="pdf",
        url_name="pdf",
        renderer_classes=[PDFRenderer],
    )
    def pdf(self, request: Request, pk=None) -> Response:
        packet = self._stored(pk, "pdf", "pdf_at", "review_id")
        printing = False
        if packet.pdf_at is None and packet.status == PacketStatus.DONE:
            # Asking for the PDF prints it (once: see packet_print_request).
            printing = services.packet_print_request(packet_id=packet.pk)
            packet = self._stored(pk, "pdf", "pdf_at", "review_id")
        if packet.pdf_at is None or packet.pdf is None:
            when = " It is being printed; ask again in a few seconds." if printing else ""
            raise RuleViolation(
                f"The PDF of packet v{packet.version} is not ready yet.{when}",
                rule="pdf_not_ready",
            )
        name = f"review-{packet.review_id}-packet-v{packet.version}.pdf"
        return Response(
            bytes(packet.pdf),
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )


# --- Decisions -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List decisions",
        description="By review, in the order they were recorded.",
        responses={200: DecisionSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read a decision", responses={200: DecisionSerializer, **errors_for(404)}
    ),
    create=extend_schema(
        summary="Record a decision (leaders)",
        description="409 `review_closed` once the review is closed.",
        request=DecisionInputSerializer,
        responses={201: DecisionSerializer, **errors_for(400, 403, 409)},
    ),
    destroy=extend_schema(
        summary="Remove a decision (leaders)",
        description="409 `review_closed` once the review is closed: decisions stick.",
        responses={204: None, **errors_for(403, 404, 409)},
    ),
)
class DecisionViewSet(Exportable, Preconditions, RowsViewSet):
    """Decisions of the meeting: every login reads; leaders record and remove them."""

    queryset = Decision.objects.all()
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilterSet
    output = DECISION
    order = DECISION_ORDER
    listing = DECISION_EXPORT
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Decision]:
        reviews = Review.objects.visible_to(self.request.user)
        return Decision.objects.filter(review__in=reviews.values("pk"))

    def rows(self, queryset):
        return decision_rows(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        require_leader(request.user, "record review decisions")
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = services.decision_record(actor=request.user, **serializer.validated_data)
        return self.answer(decision.pk, status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk=None) -> Response:
        decision = self.get_object()
        services.decision_delete(actor=request.user, decision=decision, version=self.precondition())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Action items --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List action items",
        description="By review, in the order they were recorded.",
        responses={200: ActionItemSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read an action item", responses={200: ActionItemSerializer, **errors_for(404)}
    ),
    create=extend_schema(
        summary="Record an action item (unit owner or leaders)",
        description="`owner` defaults to the unit's owner. 409 `review_closed` once closed.",
        request=ActionItemInputSerializer,
        responses={201: ActionItemSerializer, **errors_for(400, 403, 409)},
    ),
    partial_update=extend_schema(
        summary="Mark an action item done or not (unit owner or leaders)",
        description="Follow-through: allowed after the review closed too.",
        request=ActionItemUpdateSerializer,
        responses={200: ActionItemSerializer, **errors_for(400, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Remove an action item (unit owner or leaders)",
        description="409 `review_closed` once the review is closed.",
        responses={204: None, **errors_for(403, 404, 409)},
    ),
)
class ActionItemViewSet(Exportable, Preconditions, RowsViewSet):
    """Action items: every login reads; the unit's owner and leaders record and track them."""

    queryset = ActionItem.objects.all()
    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilterSet
    output = ACTION_ITEM
    order = ACTION_ORDER
    listing = ACTION_ITEM_EXPORT
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ActionItem]:
        reviews = Review.objects.visible_to(self.request.user)
        qs = ActionItem.objects.filter(review__in=reviews.values("pk"))
        if self.action in ("list", "retrieve"):
            return qs
        return qs.select_related("review__unit__owner", "review__cycle")

    def rows(self, queryset):
        return action_item_rows(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = ActionItemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.action_item_create(actor=request.user, **serializer.validated_data)
        return self.answer(item.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk=None) -> Response:
        item = self.get_object()
        require_unit_editor(request.user, item.review.unit, "track action items")
        serializer = ActionItemUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.action_item_set_done(
            actor=request.user,
            item=item,
            version=self.precondition(),
            **serializer.validated_data,
        )
        return self.answer(item.pk)

    def destroy(self, request: Request, pk=None) -> Response:
        services.action_item_delete(
            actor=request.user, item=self.get_object(), version=self.precondition()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Turn an action item into a backlog item (unit owner or leaders)",
        description=(
            "Adds it at the top of the unit's backlog with source `review_action` and links "
            "the two (the action counts as followed through once that item is done). Allowed "
            "after the review closed. 409 `already_on_backlog` the second time, "
            "`backlog_frozen` when the unit has no live product."
        ),
        request=ToBacklogInputSerializer,
        responses={201: ToBacklogResultSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="to-backlog", url_name="to-backlog")
    def to_backlog(self, request: Request, pk=None) -> Response:
        item = self.get_object()
        require_unit_editor(request.user, item.review.unit, "add to the backlog")
        serializer = ToBacklogInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        backlog_item = services.action_item_to_backlog(
            actor=request.user, item=item, product=serializer.validated_data.get("product")
        )
        body = {
            "action_item": item.pk,
            "backlog_item": backlog_item.pk,
            "unit": backlog_item.unit_id,
            "product": backlog_item.product.slug,
            "rank": backlog_item.rank,
        }
        location = reverse("api-backlog-item-detail", args=[backlog_item.pk])
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})
