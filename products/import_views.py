"""The catalogue import pages (leaders): upload a file, read its preview, confirm it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portfolio.exports import csv_response, xlsx_response
from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import GET_POST, post_data, require_leader_page, submit_form
from products.forms import ImportConfirmForm, ImportForm
from products.imports import (
    ACTIONS,
    EXAMPLE_ROW,
    import_confirm,
    import_preview,
    template_columns,
)
from products.models import ImportState, ImportUpload

ROWS_SHOWN = 500  # a page shows this many rows of a preview (errors first); ?action= narrows
ORDER = {action: n for n, action in enumerate(ACTIONS)}


@GET_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form; a readable file becomes a stored preview and its page."""
    require_leader_page(request)
    form = ImportForm(post_data(request), request.FILES or None)
    upload, status = submit_form(
        request,
        form,
        lambda f: import_preview(
            actor=request.user,
            filename=f.cleaned_data["file"].name or "",
            data=f.cleaned_data["file"].read(),
        ),
    )
    if upload is not None:
        return redirect_after_post(request, reverse("import-detail", args=[upload.pk]))
    recent = ImportUpload.objects.only("id", "filename", "state", "created_at", "preview")[:5]
    context = {"form": form, "recent": recent}
    return render_page(request, "products/import.html", context, partial="upload", status=status)


def _detail(
    request: HttpRequest, upload: ImportUpload, confirm_form: ImportConfirmForm, status: int = 200
) -> HttpResponse:
    wanted = request.GET.get("action")
    rows = sorted(upload.preview["rows"], key=lambda r: (ORDER[r["action"]], r["line"]))
    if wanted in ORDER:
        rows = [r for r in rows if r["action"] == wanted]
    context: dict[str, Any] = {
        "upload": upload,
        "counts": upload.preview["counts"],
        "rows": rows[:ROWS_SHOWN],
        "rows_hidden": max(0, len(rows) - ROWS_SHOWN),
        "wanted": wanted if wanted in ORDER else "",
        "count_items": [(a, upload.preview["counts"][a]) for a in ACTIONS],
        "confirm_form": confirm_form,
        "confirmable": upload.state == ImportState.PREVIEWED
        and not upload.preview["counts"]["error"],
        "result_rows": (upload.result or {}).get("rows", [])[:ROWS_SHOWN],
    }
    return render_page(request, "products/import_detail.html", context, status=status)


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A preview (counts, errors first, the changes of each row) or, once confirmed, the result."""
    require_leader_page(request)
    upload = get_object_or_404(ImportUpload, pk=pk)
    form = ImportConfirmForm(initial={"upload": upload.pk, "fingerprint": upload.fingerprint})
    return _detail(request, upload, form)


@require_POST
def import_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the previewed file, all or nothing; a catalogue changed since answers 409."""
    require_leader_page(request)
    upload = get_object_or_404(ImportUpload, pk=pk)
    form = ImportConfirmForm(request.POST)
    if form.is_valid() and form.cleaned_data["upload"] != upload.pk:
        form.add_error(None, "This confirmation is for another import; nothing was stored.")
    done, status = submit_form(
        request,
        form,
        lambda f: import_confirm(
            actor=request.user, upload=upload, fingerprint=f.cleaned_data["fingerprint"]
        ),
    )
    if done is not None:
        messages.success(
            request,
            f"Imported: {done.result['created']} created, {done.result['updated']} updated, "
            f"{done.result['unchanged']} unchanged.",
        )
        return redirect_after_post(request, reverse("import-detail", args=[upload.pk]))
    upload.refresh_from_db()
    return _detail(request, upload, form, status)


def _example_body() -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in EXAMPLE_ROW.items():
        outer, _, inner = key.partition(".")
        if inner:
            body.setdefault(outer, {})[inner] = value
        else:
            body[key] = value
    return body


@require_GET
def import_template(request: HttpRequest, fmt: str) -> StreamingHttpResponse | FileResponse:
    """The file's columns (the product export's) and one example row."""
    require_leader_page(request)
    columns = template_columns()
    if fmt == "csv":
        return csv_response("products-import-template", columns, [_example_body()])
    return xlsx_response("products-import-template", columns, [_example_body()])
