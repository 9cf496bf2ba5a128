"""Permission cases for /api/v1/owner-load/, split-signals/, candidates/, readiness/ and
analytics-runs/.

Reads: anonymous 401, every login 200 (the analytics are portfolio-wide). Asking for a run:
leaders 202, everyone else 403. The read-only endpoints refuse writes with 405.
"""

from __future__ import annotations

from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import Snapshot, SplitSignal
from tests.permissions.spec import Case, World, api_read

NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)
LEADERS_ONLY = {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403, "leader": 202}


def computed(w: World) -> dict:
    run_snapshot()
    return {"person_id": w.owner_person.pk}


def signal(w: World) -> dict:
    found = SplitSignal.objects.create(
        cluster=w.cluster, kind="strategic", product=w.clustered, opened_at=timezone.now()
    )
    return {"pk": found.pk}


def run(w: World) -> dict:
    return {"pk": Snapshot.objects.create(started_at=timezone.now()).pk}


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


CASES = [
    # owner load
    api("api-owner-load-list", api_read()),
    api(
        "api-owner-load-list",
        api_read(),
        query="?status=over&status=triaging&design_problem=true&person=1",
        label="filtered",
    ),
    api("api-owner-load-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-owner-load-detail", api_read(), kwargs=computed),
    api("api-owner-load-detail", NOT_ALLOWED, "patch", kwargs=computed, data=lambda w: {}),
    api("api-owner-load-detail", NOT_ALLOWED, "delete", kwargs=computed),
    # split signals (acting on one is a page's guided split, not this API)
    api("api-split-signal-list", api_read()),
    api(
        "api-split-signal-list",
        api_read(),
        query="?status=open&kind=strategic&cluster=employee-experience&product=onboarding",
        label="filtered",
    ),
    api("api-split-signal-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-split-signal-detail", api_read(), kwargs=signal),
    api("api-split-signal-detail", NOT_ALLOWED, "put", kwargs=signal, data=lambda w: {}),
    api("api-split-signal-detail", NOT_ALLOWED, "delete", kwargs=signal),
    # candidates and readiness
    api("api-candidate-list", api_read()),
    api("api-candidate-list", api_read(), query="?top=5&cluster=1", label="filtered"),
    api("api-candidate-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-readiness-list", api_read()),
    api(
        "api-readiness-list",
        api_read(),
        query="?product=payroll&min_score=20&max_score=80",
        label="filtered",
    ),
    api("api-readiness-list", NOT_ALLOWED, "post", data=lambda w: {}),
    # runs: everyone follows them, leaders ask for them
    api("api-analytics-run-list", api_read()),
    api("api-analytics-run-list", api_read(), query="?status=done", label="filtered"),
    api("api-analytics-run-list", LEADERS_ONLY, "post", data=lambda w: {}),
    api("api-analytics-run-list", NOT_ALLOWED, "delete"),
    api("api-analytics-run-detail", api_read(), kwargs=run),
    api("api-analytics-run-detail", NOT_ALLOWED, "patch", kwargs=run, data=lambda w: {}),
    api("api-analytics-run-detail", NOT_ALLOWED, "delete", kwargs=run),
]
