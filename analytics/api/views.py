"""/api/v1/owner-load/, split-signals/, candidates/, readiness/ and analytics-runs/.

Reads answer from the latest finished snapshot and say which one (`snapshot`, next to the
page); with no finished snapshot yet they answer 200 with `snapshot: null` and no results.
Lists are values() rows, so they cost the same queries at any size. A run is asked for only
through `analytics_request_run` (leaders).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api.serializers import (
    ANALYTICS_RUN,
    CANDIDATE,
    CANDIDATE_EXPORT,
    OWNER_LOAD,
    OWNER_LOAD_EXPORT,
    OWNER_LOAD_ORDER,
    READINESS,
    READINESS_EXPORT,
    RUN_ORDER,
    SIGNAL_ORDER,
    SPLIT_SIGNAL,
    SPLIT_SIGNAL_EXPORT,
    AnalyticsRunSerializer,
    CandidateSerializer,
    OwnerLoadDetailSerializer,
    OwnerLoadSerializer,
    ReadinessSerializer,
    SnapshotPagination,
    SplitSignalDetailSerializer,
    SplitSignalSerializer,
    attach_owner_units,
    snapshot_ref,
)
from analytics.filters import (
    CandidateFilterSet,
    OwnerLoadFilterSet,
    ReadinessFilterSet,
    RunFilterSet,
    SplitSignalFilterSet,
)
from analytics.models import Candidate, OwnerLoad, Readiness, Snapshot, SplitSignal
from analytics.services import analytics_request_run
from portfolio.api.exports import Exportable
from portfolio.api.rows import Output
from portfolio.api.views import RENDERERS, GenericAPIViewMixin, errors_for

ID = r"[0-9]{1,18}"
EMPTY = (
    " Until a first analytics run has finished the answer is 200 with `snapshot: null` and no "
    "results."
)


class FromLatestSnapshot(GenericAPIViewMixin):
    """Reads of the latest finished snapshot; `snapshot` goes at the top of every list page."""

    renderer_classes = RENDERERS
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    pagination_class = SnapshotPagination
    model: type[Any]  # a model class (type[Model] has no `objects` to mypy)
    order: tuple[str, ...] = ()

    def latest(self) -> Snapshot | None:
        if not hasattr(self, "_latest"):
            self._latest = Snapshot.objects.latest_done()
        return self._latest

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        snapshot = self.latest()
        if snapshot is None:
            return self.model.objects.none()
        return self.model.objects.filter(snapshot=snapshot).order_by(*self.order)

    def page_of(self, output: Output) -> list[dict]:
        rows = self.filter_queryset(self.get_queryset()).values(*output.columns)
        paginator = self.paginator
        assert isinstance(paginator, SnapshotPagination)  # pagination_class above
        paginator.snapshot = snapshot_ref(self.latest())
        page = self.paginate_queryset(rows)
        assert page is not None  # a list view always has a paginator
        return list(page)


@extend_schema_view(
    list=extend_schema(
        summary="Owner load against the ceiling",
        description=(
            "One entry per owner of an active unit in the latest snapshot, ordered by name: "
            "active and stable units counted against the ceiling, the status, breaches in a "
            "row, the portfolio design problem with suggested groupings, and the units with "
            "why each is active." + EMPTY
        ),
        responses={200: OwnerLoadSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="One owner's load",
        description="404 if the person owns no unit in the latest snapshot (or there is none).",
        responses={200: OwnerLoadDetailSerializer, **errors_for(404)},
    ),
)
class OwnerLoadViewSet(Exportable, FromLatestSnapshot, viewsets.ReadOnlyModelViewSet):
    queryset = OwnerLoad.objects.all()
    serializer_class = OwnerLoadSerializer
    filterset_class = OwnerLoadFilterSet
    model = OwnerLoad
    listing = OWNER_LOAD_EXPORT
    order = OWNER_LOAD_ORDER
    lookup_field = "person_id"
    lookup_value_regex = ID

    def _entries(self, rows: list[dict]) -> list[dict]:
        snapshot = self.latest()
        for row in rows:
            row["snapshot_id"] = snapshot.pk if snapshot is not None else None
        return OWNER_LOAD.many(attach_owner_units(rows))

    def list(self, request: Request, *args, **kwargs) -> Response:
        return self.get_paginated_response(self._entries(self.page_of(OWNER_LOAD)))

    def retrieve(self, request: Request, person_id=None) -> Response:
        rows = list(self.get_queryset().filter(person_id=person_id).values(*OWNER_LOAD.columns))
        if not rows:
            raise Http404
        return Response({**self._entries(rows)[0], "snapshot": snapshot_ref(self.latest())})


@extend_schema_view(
    list=extend_schema(
        summary="Split signals",
        description=(
            "Every split signal, open or closed (filter `status=open` for the live ones), "
            "ordered by cluster, kind and member, with its evidence. Signals outlive "
            "snapshots; `snapshot` is the latest finished one (null if none has finished)."
        ),
        responses={200: SplitSignalSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="One split signal",
        responses={200: SplitSignalDetailSerializer, **errors_for(404)},
    ),
)
class SplitSignalViewSet(Exportable, FromLatestSnapshot, viewsets.ReadOnlyModelViewSet):
    queryset = SplitSignal.objects.all()
    serializer_class = SplitSignalSerializer
    filterset_class = SplitSignalFilterSet
    model = SplitSignal
    listing = SPLIT_SIGNAL_EXPORT
    lookup_value_regex = ID

    def get_queryset(self) -> QuerySet[SplitSignal]:
        return SplitSignal.objects.visible_to(self.request.user).order_by(*SIGNAL_ORDER)

    def list(self, request: Request, *args, **kwargs) -> Response:
        return self.get_paginated_response(SPLIT_SIGNAL.many(self.page_of(SPLIT_SIGNAL)))

    def retrieve(self, request: Request, pk=None) -> Response:
        rows = list(self.get_queryset().filter(pk=pk).values(*SPLIT_SIGNAL.columns))
        if not rows:
            raise Http404
        body = SPLIT_SIGNAL.one(rows[0])
        return Response({**body, "snapshot": snapshot_ref(self.latest())})


@extend_schema_view(
    list=extend_schema(
        summary="Where to start: candidates to take on first",
        description=(
            "The latest snapshot's orphaned and neglected products in rank order (1 first), "
            "with the reasons behind each score. `top=5` keeps the first five after the other "
            "filters." + EMPTY
        ),
        responses={200: CandidateSerializer(many=True), **errors_for(400)},
    ),
)
class CandidateViewSet(
    Exportable, FromLatestSnapshot, mixins.ListModelMixin, viewsets.GenericViewSet
):
    queryset = Candidate.objects.all()
    serializer_class = CandidateSerializer
    filterset_class = CandidateFilterSet
    model = Candidate
    listing = CANDIDATE_EXPORT
    order = ("rank", "id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        return self.get_paginated_response(CANDIDATE.many(self.page_of(CANDIDATE)))


@extend_schema_view(
    list=extend_schema(
        summary="Onboarding readiness per product",
        description=(
            "The latest snapshot's checklist per product, ordered by product name: each check "
            "true, false, or null while unknown, and the score (share of the known checks "
            "met, in %)." + EMPTY
        ),
        responses={200: ReadinessSerializer(many=True), **errors_for(400)},
    ),
)
class ReadinessViewSet(
    Exportable, FromLatestSnapshot, mixins.ListModelMixin, viewsets.GenericViewSet
):
    queryset = Readiness.objects.all()
    serializer_class = ReadinessSerializer
    filterset_class = ReadinessFilterSet
    model = Readiness
    listing = READINESS_EXPORT
    order = ("product__name", "product_id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        return self.get_paginated_response(READINESS.many(self.page_of(READINESS)))


@extend_schema_view(
    list=extend_schema(
        summary="Analytics runs, newest first",
        description="Scheduled and requested runs with their progress; failed ones say why.",
        responses={200: AnalyticsRunSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Progress of one analytics run",
        description="Poll it after asking for a run: `step` of `steps`, until `status` is "
        "`done` (its results are then what the other analytics endpoints answer) or `failed`.",
        responses={200: AnalyticsRunSerializer, **errors_for(404)},
    ),
    create=extend_schema(
        summary="Recompute the analytics now (leaders)",
        description=(
            "Queues a run and answers 202 with it (Location: its progress). If a run is "
            "already under way the answer is that run: runs never overlap."
        ),
        request=None,
        responses={202: AnalyticsRunSerializer, **errors_for(403)},
    ),
)
class AnalyticsRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Snapshot.objects.all()
    serializer_class = AnalyticsRunSerializer
    renderer_classes = RENDERERS
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_class = RunFilterSet
    lookup_value_regex = ID

    def get_queryset(self) -> QuerySet[Snapshot]:
        return Snapshot.objects.order_by(*RUN_ORDER)

    def _body(self, pk: int) -> dict:
        rows = list(Snapshot.objects.filter(pk=pk).values(*ANALYTICS_RUN.columns))
        if not rows:
            raise Http404
        return ANALYTICS_RUN.one(rows[0])

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = self.filter_queryset(self.get_queryset()).values(*ANALYTICS_RUN.columns)
        page = self.paginate_queryset(rows)
        assert page is not None  # a list view always has a paginator
        return self.get_paginated_response(ANALYTICS_RUN.many(page))

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(self._body(pk))

    def create(self, request: Request, *args, **kwargs) -> Response:
        snapshot = analytics_request_run(actor=request.user)
        # Read back: with an eager queue the run may already have finished.
        location = reverse("api-analytics-run-detail", args=[snapshot.pk])
        return Response(
            self._body(snapshot.pk), status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )
