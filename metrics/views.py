"""Metric pages: the panel on a product page, one metric with its trend and readings, the
portfolio's metric list and the CSV upload.

Writes answer htmx with the refreshed fragment (the panel, or the metric's live part: status,
chart and readings) and a plain form post with a redirect, so every page works without
JavaScript. The trend chart is drawn on the server; `chart.svg` serves it as an image.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from metrics import services
from metrics.api.serializers import METRIC_EXPORT, READING_EXPORT
from metrics.charts import trend_chart
from metrics.filters import MetricFilterSet
from metrics.forms import MetricCreateForm, MetricForm, ReadingForm, UploadForm
from metrics.models import Metric, Reading, Status
from metrics.panels import panel_context
from metrics.selectors import (
    DEFAULT_RANGE,
    RANGES,
    chart_metric,
    series,
    sparklines,
    window,
    with_status,
)
from metrics.status import settings_multiple, status_from_severity
from metrics.templatetags.metric_tags import explain
from portfolio.exports import page_export
from portfolio.htmx import redirect_after_post, render_page, wants_partial
from portfolio.pages import GET_POST, carry_version, form_page, post_data, submit_form
from portfolio.permissions import Role
from products.models import Product
from products.permissions import can_edit_unit, role_of

PAGE = "metrics/metric_detail.html"
PANEL = "metrics/_product_metrics.html"
READINGS_PER_PAGE = 20
LIST_PER_PAGE = 50


# --- lookups ---------------------------------------------------------------------------------


def _metric(request: HttpRequest, pk: int) -> Metric:
    """The metric with its product, unit and owner, its status and the stale multiple, in one
    query (404 if hidden)."""
    metrics = (
        with_status(Metric.objects.visible_to(request.user))
        .annotate(stale_multiple=settings_multiple())
        .select_related("product__unit__owner__user", "product__unit__cluster")
    )
    metric = get_object_or_404(metrics, pk=pk)
    metric.status = status_from_severity(metric.severity)  # type: ignore[attr-defined]
    return metric


def _can_edit(request: HttpRequest, product: Product) -> bool:
    return product.unit is not None and can_edit_unit(request.user, product.unit)


def _require_editor(request: HttpRequest, product: Product) -> None:
    if not _can_edit(request, product):
        raise PermissionDenied(
            f"Only the owner of {product.name} or a portfolio leader can change its metrics."
        )


def _range(params) -> str | None:
    """The chart range asked for (the default when none is); None when it is not one we draw."""
    key = params.get("range") or DEFAULT_RANGE
    return key if key in RANGES else None


def _bad_range(params) -> HttpResponse:
    given = params.get("range", "")[:40]
    choices = ", ".join(RANGES)
    return HttpResponseBadRequest(
        f"Unknown chart range '{given}': use one of {choices}.",
        content_type="text/plain; charset=utf-8",
    )


def _chart(metric: Metric, key: str) -> str:
    """The trend chart over the range, as SVG (one query: the bucketed series)."""
    return _drawn(metric, key)[0]


def _drawn(metric: Metric, key: str) -> tuple[str, int]:
    """The chart and how many buckets it shows."""
    start, end = window(key)
    width, buckets = series(metric.pk, start, end)
    svg = trend_chart(
        buckets,
        start=start,
        end=end,
        width_step=width,
        unit=metric.unit,
        target=metric.target,
        warning=metric.warning,
        critical=metric.critical,
        title=f"{metric.name}: {RANGES[key][0].lower()}",
    )
    return svg, len(buckets)


def _chart_context(metric: Metric, key: str) -> dict:
    svg, buckets = _drawn(metric, key)
    return {
        "chart": mark_safe(svg),  # noqa: S308 - the chart escapes every text it draws
        "chart_empty": buckets == 0,
        "range": key,
        "range_label": RANGES[key][0].lower(),
        "ranges": [(k, label) for k, (label, _span) in RANGES.items()],
    }


# --- the product page's panel ----------------------------------------------------------------


@GET_POST
def metric_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Define a metric on a product, from a catalogue template or from scratch."""
    product = get_object_or_404(Product.objects.visible_to(request.user).with_unit(), slug=slug)
    _require_editor(request, product)
    form = MetricCreateForm(post_data(request), auto_id="metric_%s")
    metric, status = submit_form(
        request,
        form,
        lambda f: services.metric_create(actor=request.user, product=product, **f.service_kwargs()),
    )
    if metric and not wants_partial(request):
        messages.success(request, f"{metric.name} now measures {product.name}.")
        return redirect(f"{product.get_absolute_url()}#metrics")
    if wants_partial(request) and request.method == "POST":
        context = panel_context(product, can_edit=True, form=None if metric else form)
        context["created"] = metric
        return render(request, PANEL, context, status=status)
    return form_page(
        request,
        form,
        status,
        title=f"Add a metric to {product.name}",
        cancel_url=product.get_absolute_url(),
        submit_label="Add metric",
    )


# --- one metric ------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, metric: Metric, key: str, *, form=None, page=None):
    can_edit = _can_edit(request, metric.product)
    readings = metric.readings.order_by("-taken_at", "-id").only("taken_at", "value", "source")
    if can_edit and form is None:
        form = ReadingForm()
    return {
        "metric": metric,
        # Hung on the metric by _metric(): its status and the stale multiple.
        "status": metric.status,  # type: ignore[attr-defined]
        "explanation": explain(metric, metric.status, metric.stale_multiple),  # type: ignore[attr-defined]
        **_chart_context(metric, key),
        "page": Paginator(readings, READINGS_PER_PAGE).get_page(page),
        "can_edit": can_edit,
        "reading_form": form,
    }


@require_GET
def metric_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Definition, status and why, the trend chart and the latest readings."""
    key = _range(request.GET)
    if key is None:
        return _bad_range(request.GET)
    metric = _metric(request, pk)
    # Every reading listed below the chart, newest first (/api/v1/metric-readings/ filters).
    readings = Reading.objects.filter(metric=metric).order_by("-taken_at", "-id")
    if export := page_export(request, READING_EXPORT, readings):
        return export
    context = _detail_context(request, metric, key, page=request.GET.get("page"))
    return render_page(request, PAGE, context, partial="live")


@require_GET
def metric_chart_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The chart block for another range (what the range buttons swap in)."""
    key = _range(request.GET)
    if key is None:
        return _bad_range(request.GET)
    metric = get_object_or_404(Metric.objects.visible_to(request.user), pk=pk)
    if not wants_partial(request):
        return redirect(f"{metric.get_absolute_url()}?range={key}")
    context = {"metric": metric, **_chart_context(metric, key)}
    response = render(request, f"{PAGE}#chart", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def metric_chart_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The trend chart as an image: one query for the metric, one for the series."""
    key = _range(request.GET)
    if key is None:
        return _bad_range(request.GET)
    metric = chart_metric(request.user, pk)
    if metric is None:
        raise Http404("No Metric matches the given query.")
    response = HttpResponse(_chart(metric, key), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


def _live(request: HttpRequest, pk: int, key: str, *, form=None, status: int = 200):
    """The metric's live part (status, chart, readings, entry form), read afresh."""
    metric = _metric(request, pk)
    context = _detail_context(request, metric, key, form=form)
    if wants_partial(request):
        return render(request, f"{PAGE}#live", context, status=status)
    return render(request, PAGE, context, status=status)


@require_POST
def reading_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one reading typed in; errors are shown beside the field at fault."""
    metric = _metric(request, pk)
    _require_editor(request, metric.product)
    key = _range(request.POST) or DEFAULT_RANGE
    form = ReadingForm(request.POST)
    _, status = submit_form(
        request,
        form,
        lambda f: services.reading_record(actor=request.user, metric=metric, **f.cleaned_data),
    )
    if status != 200:
        return _live(request, pk, key, form=form, status=status)
    if not wants_partial(request):
        messages.success(request, "Reading recorded.")
        return redirect(metric.get_absolute_url())
    return _live(request, pk, key)


@require_POST
def reading_delete(request: HttpRequest, pk: int) -> HttpResponse:
    readings = Reading.objects.filter(metric__in=Metric.objects.visible_to(request.user))
    reading = get_object_or_404(readings.select_related("metric__product__unit__owner"), pk=pk)
    _require_editor(request, reading.metric.product)
    services.reading_delete(actor=request.user, reading=reading)
    if not wants_partial(request):
        messages.success(request, "Reading removed.")
        return redirect(reading.metric.get_absolute_url())
    return _live(request, reading.metric_id, _range(request.POST) or DEFAULT_RANGE)


@GET_POST
def metric_edit(request: HttpRequest, pk: int) -> HttpResponse:
    metric = _metric(request, pk)
    _require_editor(request, metric.product)
    form = carry_version(MetricForm(post_data(request), instance=metric), metric)
    updated, status = submit_form(
        request,
        form,
        lambda f: services.metric_update(actor=request.user, metric=metric, **f.changes()),
    )
    if updated:
        messages.success(request, f"{updated.name} saved.")
        return redirect_after_post(request, updated.get_absolute_url())
    return form_page(
        request,
        form,
        status,
        title=f"Edit {metric.name} of {metric.product.name}",
        cancel_url=metric.get_absolute_url(),
    )


@GET_POST
def metric_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask first (the readings go with the metric), then remove."""
    metric = _metric(request, pk)
    _require_editor(request, metric.product)
    if request.method == "POST":
        services.metric_delete(actor=request.user, metric=metric)
        messages.success(request, f"{metric.name} and its readings are removed.")
        return redirect_after_post(request, f"{metric.product.get_absolute_url()}#metrics")
    count = metric.readings.count()
    return render(request, "metrics/metric_delete.html", {"metric": metric, "count": count})


# --- all metrics -----------------------------------------------------------------------------


@require_GET
def metric_list(request: HttpRequest) -> HttpResponseBase:
    """Every metric of the portfolio with its status; the same queries for any size."""
    # The API's filterset, so a page URL and an API URL with the same parameters list the
    # same metrics; a value it cannot read is left out and named on the page.
    filterset = MetricFilterSet(
        request.GET, queryset=with_status(Metric.objects.visible_to(request.user))
    )
    metrics = filterset.qs.select_related("product").order_by("product__name", "name", "pk")
    if export := page_export(request, METRIC_EXPORT, metrics, filterset=filterset):
        return export
    wanted = request.GET.get("status") or ""
    page = Paginator(metrics, LIST_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    lines = sparklines([m.pk for m in rows])
    for metric in rows:
        metric.status = status_from_severity(metric.severity)
        metric.spark = lines.get(metric.pk, [])
    page.object_list = rows
    context = {
        "page": page,
        "statuses": Status.choices,
        "wanted": "" if "status" in filterset.errors else wanted,
        "unknown_status": wanted if "status" in filterset.errors else "",
        "can_upload": may_upload(request.user),
    }
    return render_page(request, "metrics/metric_list.html", context, partial="table")


# --- CSV upload ------------------------------------------------------------------------------


def may_upload(user) -> bool:
    """Leaders and owners of a unit upload readings (for their own products); a viewer would
    only be refused on submit, so the form and its buttons are not offered to them."""
    return role_of(user) in (Role.LEADER, Role.OWNER)


EXAMPLE_CSV = (
    "metric,time,value,source,unit\r\n"
    "payroll/availability,2026-05-04T08:00:00Z,99.93,monitoring,%\r\n"
    "payroll/availability,2026-05-05T08:00:00Z,99.41,monitoring,%\r\n"
    "payroll/support-tickets,2026-05-04T00:00:00Z,17,servicedesk,tickets/week\r\n"
)


@require_GET
def upload_example(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(EXAMPLE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="readings-example.csv"'
    return response


@GET_POST
def readings_upload(request: HttpRequest) -> HttpResponse:
    """Upload readings as CSV; the answer is a line-by-line report. A bad file stores nothing."""
    form = UploadForm(post_data(request), request.FILES or None)
    # Refused (Forbidden: a metric of someone else's product): the reason lands on the form.
    report, status = submit_form(
        request,
        form,
        lambda f: services.readings_import_csv(
            actor=request.user, data=f.cleaned_data["file"].read()
        ),
    )
    if report is not None and not report.ok:
        status = 400
    context = {
        "form": form,
        "report": report,
        "example_url": reverse("metrics-upload-example"),
        "can_upload": may_upload(request.user),
    }
    return render_page(request, "metrics/upload.html", context, partial="result", status=status)
