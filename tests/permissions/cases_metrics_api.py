"""Permission cases for /api/v1/metrics/, metric-readings/ and metric-status/.

Reads: anonymous 401, every login 200. Writes (with valid data, so the success path runs):
the owner of the product's unit and leaders succeed; viewers and owners of other units 403.
"""

from __future__ import annotations

import datetime as dt

from tests.metrics.factories import MetricFactory
from tests.permissions.spec import Case, World, api_read


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)


def metric(w: World) -> dict:
    return {"pk": MetricFactory(product=w.product, key="availability").pk}


def clustered_metric(w: World) -> dict:
    return {"pk": MetricFactory(product=w.clustered, key="availability").pk}


def readings(w: World) -> dict:
    m = MetricFactory(product=w.product, key="availability")
    now = dt.datetime.now(dt.UTC)
    return {
        "readings": [
            {"metric": m.pk, "time": (now - dt.timedelta(hours=1)).isoformat(), "value": 99.9},
            {"metric": "payroll/availability", "time": now.isoformat(), "value": "99.95"},
        ]
    }


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


CASES = [
    # definitions
    api("api-metric-list", api_read()),
    api(
        "api-metric-list",
        api_read(),
        query="?product=payroll&unit=1&dimension=support&level=operational&status=red"
        "&status=no_data&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-metric-list",
        unit_owner_or_leader(201),
        "post",
        data=lambda w: {"product": w.product.slug, "template": "availability"},
    ),
    api(
        "api-metric-list",
        unit_owner_or_leader(201),
        "post",
        data=lambda w: {
            "product": w.clustered.pk,
            "name": "Buddy pairing",
            "unit": "%",
            "target": 80,
            "dimension": "improvement",
        },
        label="custom in cluster",
    ),
    api("api-metric-list", NOT_ALLOWED, "delete"),
    api("api-metric-detail", api_read(), kwargs=metric),
    api(
        "api-metric-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=metric,
        data=lambda w: {"warning": 99.6},
    ),
    api(
        "api-metric-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=clustered_metric,
        data=lambda w: {"name": "Uptime"},
        label="cluster",
    ),
    api(
        "api-metric-detail",
        unit_owner_or_leader(200),
        "put",
        kwargs=metric,
        data=lambda w: {"name": "Uptime", "unit": "%", "target": 99.9},
    ),
    api("api-metric-detail", unit_owner_or_leader(204), "delete", kwargs=metric),
    api("api-metric-detail", NOT_ALLOWED, "post", kwargs=metric),
    api("api-metric-templates", api_read()),
    api("api-metric-templates", NOT_ALLOWED, "post", data=lambda w: {}),
    # readings
    api("api-metric-reading-list", api_read()),
    api(
        "api-metric-reading-list",
        api_read(),
        query="?product=payroll&metric=1&source=api&from=2020-01-01T00:00Z"
        "&to=2030-01-01T00:00Z&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api("api-metric-reading-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-metric-reading-bulk", unit_owner_or_leader(200), "post", data=readings),
    api("api-metric-reading-bulk", NOT_ALLOWED, "get"),
    # status per product
    api("api-metric-status-list", api_read()),
    api("api-metric-status-list", api_read(), query="?status=none&unit=1", label="filtered"),
    api("api-metric-status-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-metric-status-detail", api_read(), kwargs=lambda w: {"slug": w.product.slug}),
    api(
        "api-metric-status-detail",
        api_read(viewer=404, owner=404, other_owner=404, leader=404),
        kwargs=lambda w: {"slug": "nowhere"},
        label="unknown",
    ),
    api("api-metric-status-detail", NOT_ALLOWED, "put", kwargs=lambda w: {"slug": "payroll"}),
]
