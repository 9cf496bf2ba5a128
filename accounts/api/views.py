"""/api/v1/lockouts/: the sign-in lockouts in force, and unlocking one (leaders)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api.serializers import LockoutSerializer, UnlockedSerializer, UnlockSerializer
from portfolio.api.views import RENDERERS, errors_for
from portfolio.permissions import require_leader


class LockoutViewSet(viewsets.ViewSet):
    """Sign-ins refused after too many wrong passwords. Leaders only."""

    renderer_classes = RENDERERS

    @extend_schema(
        summary="List the sign-in lockouts in force (leaders)",
        responses={200: LockoutSerializer(many=True), **errors_for(403)},
    )
    def list(self, request: Request) -> Response:
        require_leader(request.user, "see sign-in lockouts")
        rows = [asdict(lock) for lock in selectors.current_lockouts()]
        return Response(LockoutSerializer(rows, many=True).data)

    @extend_schema(
        summary="Unlock a username, an address or the pair (leaders)",
        request=UnlockSerializer,
        responses={200: UnlockedSerializer, **errors_for(400, 403)},
    )
    @action(detail=False, methods=["post"])
    def unlock(self, request: Request) -> Response:
        require_leader(request.user, "unlock sign-ins")
        data = UnlockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        removed = services.lockout_unlock(
            actor=request.user,
            username=data.validated_data.get("username"),
            ip_address=data.validated_data.get("ip_address"),
        )
        return Response({"removed": removed})
