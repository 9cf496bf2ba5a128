"""Permission cases for the metric pages: every route, GET and POST, five roles.

Everyone logged in reads metrics, their charts and the upload page; only the owner of the
product's unit and leaders define metrics or record, remove and upload readings (403 for
viewers and owners of other units). A plain POST that succeeds redirects.
"""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from metrics import services
from metrics.models import Metric, Reading
from tests.permissions.cases_pages import NOT_ALLOWED, everyone, unit_owner_or_leader
from tests.permissions.spec import Case, World, page_read


def _metric(w: World) -> Metric:
    """`w.product`'s availability metric with one reading (made on first use, by a leader)."""
    metric = Metric.objects.filter(product=w.product, key="availability").first()
    if metric is None:
        metric = services.metric_create(actor=w.leader, product=w.product, template="availability")
        services.reading_record(
            actor=w.leader,
            metric=metric,
            time=(timezone.now() - dt.timedelta(hours=2)).isoformat(),
            value=99.95,
        )
    return metric


def _reading(w: World) -> Reading:
    return Reading.objects.filter(metric=_metric(w)).first()


metric = lambda w: {"pk": _metric(w).pk}  # noqa: E731
reading = lambda w: {"pk": _reading(w).pk}  # noqa: E731
product = lambda w: {"slug": w.product.slug}  # noqa: E731


def reading_data(w: World) -> dict:
    when = timezone.localtime() - dt.timedelta(minutes=30)
    return {"time": when.strftime("%Y-%m-%dT%H:%M"), "value": "99.7", "source": "manual"}


def edit_data(w: World) -> dict:
    m = _metric(w)
    return {
        "name": "Availability",
        "key": m.key,
        "description": "",
        "level": m.level,
        "dimension": m.dimension,
        "unit": m.unit,
        "better": m.better,
        "target": "99.8",
        "warning": "99.5",
        "critical": "99",
        "expected_interval": "86400",
    }


def upload_data(w: World) -> dict:
    _metric(w)
    text = f"metric,time,value\n{w.product.slug}/availability,2026-01-05T08:00:00Z,99.9\n"
    return {"file": SimpleUploadedFile("readings.csv", text.encode(), content_type="text/csv")}


# Anonymous is sent to log in before any check; everyone else meets the range check.
BAD_RANGE = everyone(400)

CASES = [
    Case("metric-list", page_read()),
    Case("metric-list", page_read(), query="?status=red", htmx=True, label="table partial"),
    Case("metric-list", page_read(), query="?status=purple", label="unknown status"),
    Case("metric-list", NOT_ALLOWED, method="post"),
    Case("metric-detail", page_read(), kwargs=metric),
    Case("metric-detail", page_read(), kwargs=metric, query="?range=year&page=2", label="range"),
    Case("metric-detail", page_read(), kwargs=metric, htmx=True, label="live partial"),
    Case("metric-detail", BAD_RANGE, kwargs=metric, query="?range=decade", label="bad range"),
    Case("metric-detail", NOT_ALLOWED, method="post", kwargs=metric),
    Case("metric-chart-panel", page_read(), kwargs=metric, query="?range=30d", htmx=True),
    Case("metric-chart-panel", everyone(302), kwargs=metric, query="?range=30d", label="plain"),
    Case("metric-chart-panel", BAD_RANGE, kwargs=metric, query="?range=x", label="bad range"),
    Case("metric-chart-panel", NOT_ALLOWED, method="post", kwargs=metric),
    Case("metric-chart", page_read(), kwargs=metric, query="?range=year"),
    Case("metric-chart", BAD_RANGE, kwargs=metric, query="?range=x", label="bad range"),
    Case("metric-chart", NOT_ALLOWED, method="post", kwargs=metric),
    Case("metric-create", unit_owner_or_leader(200), kwargs=product),
    Case(
        "metric-create",
        unit_owner_or_leader(302),
        method="post",
        kwargs=product,
        data=lambda w: {"template": "support-tickets"},
    ),
    Case(
        "metric-create",
        unit_owner_or_leader(200),
        method="post",
        kwargs=product,
        htmx=True,
        label="panel partial",
        data=lambda w: {"template": "mttr"},
    ),
    Case("metric-edit", unit_owner_or_leader(200), kwargs=metric),
    Case("metric-edit", unit_owner_or_leader(302), method="post", kwargs=metric, data=edit_data),
    Case("metric-delete", unit_owner_or_leader(200), kwargs=metric, label="confirmation"),
    Case("metric-delete", unit_owner_or_leader(302), method="post", kwargs=metric),
    Case("metric-reading-create", NOT_ALLOWED, kwargs=metric),
    Case(
        "metric-reading-create",
        unit_owner_or_leader(302),
        method="post",
        kwargs=metric,
        data=reading_data,
    ),
    Case(
        "metric-reading-create",
        unit_owner_or_leader(200),
        method="post",
        kwargs=metric,
        htmx=True,
        label="live partial",
        data=reading_data,
    ),
    Case("reading-delete", NOT_ALLOWED, kwargs=reading),
    Case("reading-delete", unit_owner_or_leader(302), method="post", kwargs=reading),
    Case(
        "reading-delete",
        unit_owner_or_leader(200),
        method="post",
        kwargs=reading,
        htmx=True,
        label="live partial",
    ),
    Case("metrics-upload", page_read()),
    # The service decides per metric: the unit's owner and leaders may load this file.
    Case("metrics-upload", unit_owner_or_leader(200), method="post", data=upload_data),
    Case("metrics-upload-example", page_read()),
    Case("metrics-upload-example", NOT_ALLOWED, method="post"),
]
