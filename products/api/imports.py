"""/api/v1/imports/: upload a catalogue file for a preview, read it, confirm it (leaders)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.parsers import JSONParser
from portfolio.api.views import errors_for
from portfolio.errors import NotFound, ValidationFailed
from portfolio.permissions import require_leader
from products.imports import PREVIEW_ROWS, import_confirm, import_preview
from products.models import ImportUpload

ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The import's id.")
ORDER = {"error": 0, "create": 1, "update": 2, "unchanged": 3}


class ImportRowSerializer(serializers.Serializer):
    sheet = serializers.ChoiceField(choices=["products", "people", "teams", "clusters"])
    line = serializers.IntegerField(help_text="The row's line in the file (the header is 1).")
    slug = serializers.CharField(help_text="The slug (a person: the email).")
    name = serializers.CharField()
    # Text, not an enum: the bulk upsert's rows already name an `action` enum in the schema.
    action = serializers.CharField(help_text="error, create, update or unchanged.")
    changes = serializers.DictField(
        child=serializers.ListField(), required=False, help_text="field: [old, new]"
    )
    # To mypy this shadows Serializer.errors; DRF's metaclass lifts declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    rule = serializers.CharField(required=False)


class ImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    state = serializers.ChoiceField(choices=["previewed", "confirmed"])
    created_at = serializers.DateTimeField()
    fingerprint = serializers.CharField(help_text="Send it back to confirm.")
    counts = serializers.DictField(child=serializers.IntegerField())
    rows_total = serializers.IntegerField()
    rows = ImportRowSerializer(many=True, help_text=f"Errors first, at most {PREVIEW_ROWS}.")
    result = serializers.DictField(allow_null=True, help_text="Counts once confirmed.")


def import_body(upload: ImportUpload) -> dict[str, Any]:
    rows = sorted(upload.preview["rows"], key=lambda r: (ORDER[r["action"]], r["line"]))
    result = upload.result
    return {
        "id": upload.pk,
        "filename": upload.filename,
        "state": upload.state,
        "created_at": upload.created_at.isoformat(),
        "fingerprint": upload.fingerprint,
        "counts": upload.preview["counts"],
        "rows_total": len(rows),
        "rows": rows[:PREVIEW_ROWS],
        "result": {k: v for k, v in result.items() if k != "rows"} if result else None,
    }


def get_upload(pk: Any) -> ImportUpload:
    try:
        return ImportUpload.objects.get(pk=int(pk))
    except (ValueError, TypeError, ImportUpload.DoesNotExist):
        raise NotFound("No such import.") from None


class ImportViewSet(viewsets.ViewSet):
    """Catalogue imports: a file in, a preview out; confirm writes it (leaders only)."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="Upload a catalogue file and get its preview (leaders)",
        request={
            "multipart/form-data": inline_serializer(
                "ImportUploadInput", {"file": serializers.FileField()}
            )
        },
        responses={201: ImportSerializer, **errors_for(400, 403)},
    )
    def create(self, request: Request) -> Response:
        require_leader(request.user, "import the catalogue")
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed({"file": ["Attach a .csv or .xlsx file as `file`."]})
        saved = import_preview(actor=request.user, filename=upload.name or "", data=upload.read())
        return Response(import_body(saved), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Read an import's preview or result (leaders)",
        parameters=[ID],
        responses={200: ImportSerializer, **errors_for(403, 404)},
    )
    def retrieve(self, request: Request, pk=None) -> Response:
        require_leader(request.user, "read imports")
        return Response(import_body(get_upload(pk)))

    @extend_schema(
        summary="Confirm an import: write it, all or nothing (leaders)",
        parameters=[ID],
        request=inline_serializer("ImportConfirmInput", {"fingerprint": serializers.CharField()}),
        responses={
            200: ImportSerializer,
            409: OpenApiResponse(description="import_plan_changed or import_done"),
            **errors_for(400, 403, 404),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def confirm(self, request: Request, pk=None) -> Response:
        require_leader(request.user, "import the catalogue")
        upload = get_upload(pk)
        fingerprint = request.data.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ValidationFailed({"fingerprint": ["This field is required."]})
        done = import_confirm(actor=request.user, upload=upload, fingerprint=fingerprint)
        return Response(import_body(done))
