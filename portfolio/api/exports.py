"""A list endpoint that also answers as a CSV or XLSX file (portfolio/exports.py).

`Exportable` is mixed into a list viewset that names its `listing`. The list then answers
`Accept: text/csv`, `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`
or `?format=csv|xlsx` with the whole filtered list (the same filterset and visibility as the
JSON list, no pages), streamed. Other actions do not offer the file formats (406).

Errors are not files: a bad filter, a missing login or a refusal asked for as a file still
answers in the house JSON error shape.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.views import GenericAPIViewMixin, JSONRenderer, RowsViewSet
from portfolio.exports import CSV, FORMATS, XLSX, XLSX_MEDIA_TYPE, Listing


class _FileRenderer(renderers.BaseRenderer):
    """Offers a file format in content negotiation. The file itself is written by the
    listing; what reaches `render` is an error body, which goes out as JSON (see
    `Exportable.finalize_response`)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data, None, renderer_context)


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = CSV
    charset = "utf-8"


class XLSXRenderer(_FileRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = XLSX
    charset = None
    render_style = "binary"


class ExportSchema(AutoSchema):
    """Documents the file answers of a list beside its JSON page (the 200's other media
    types); the errors stay JSON only."""

    def map_renderers(self, attribute: str) -> list[Any]:
        kept = [r for r in self.view.get_renderers() if not isinstance(r, _FileRenderer)]
        return list(
            dict.fromkeys(
                getattr(r, attribute).split(";")[0]
                for r in kept
                if not isinstance(r, renderers.BrowsableAPIRenderer) and hasattr(r, attribute)
            )
        )

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        ok = responses.get("200")
        if getattr(self.view, "action", None) == "list" and self.method == "GET" and ok:
            ok.setdefault("content", {}).update(
                {
                    "text/csv": {"schema": {"type": "string"}},
                    XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                }
            )
            ok["description"] = (
                (ok.get("description") or "")
                + " As `text/csv` (or `?format=csv`) or as an Excel workbook (or "
                "`?format=xlsx`): the whole filtered list in one file, no pages."
            ).strip()
        return responses


class Exportable(GenericAPIViewMixin):
    """The list action also answers as CSV or XLSX, from `listing` over the filtered list."""

    listing: Listing
    schema = ExportSchema()

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        found = super().get_renderers()
        if getattr(self, "action", None) == "list":
            found += [CSVRenderer(), XLSXRenderer()]
        return found

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        fmt = getattr(request.accepted_renderer, "format", None)
        if getattr(self, "action", None) == "list" and fmt in FORMATS:
            # APIView.dispatch looks the handler up after initial(): the file instead of a page.
            self.get = self.export

    def export_queryset(self) -> QuerySet:
        """What the list shows, filtered, before it is paged."""
        return self.filter_queryset(self.get_queryset())

    def export_context(self) -> dict[str, Any]:
        """What the listing's contextual fields need (the clock, the currency)."""
        row_context = getattr(self, "row_context", None)
        return row_context() if row_context is not None else {}

    def export(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        fmt = request.accepted_renderer.format
        # A RowsViewSet orders its rows after selecting them (`order`), as its list does;
        # other lists come ordered from get_queryset().
        order = self.order if isinstance(self, RowsViewSet) else ()
        queryset = self.export_queryset()
        return self.listing.response(fmt, queryset, order=order, **self.export_context())

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), _FileRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
