"""Permission cases for the analytics pages: every route, GET and POST, five roles.

Everyone logged in reads the dashboard, a run's progress, owner load and the split signals;
only leaders ask for a run now, split a member out on a signal or dismiss one (403 for
viewers and owners, including the owner of the signal's cluster). A plain POST that
succeeds redirects.
"""

from __future__ import annotations

from django.utils import timezone

from analytics.models import SignalKind, Snapshot, SplitSignal
from tests.permissions.cases_pages import NOT_ALLOWED, everyone, leader_only
from tests.permissions.spec import Case, World, page_read


def _signal(w: World) -> SplitSignal:
    """A strategic signal on `w.clustered` in `w.cluster` (owned by the owner role)."""
    signal, _ = SplitSignal.objects.get_or_create(
        cluster=w.cluster,
        kind=SignalKind.STRATEGIC,
        product=w.clustered,
        defaults={
            "opened_at": timezone.now(),
            "evidence": {"member": w.clustered.name, "reasons": ["flagged strategic"]},
        },
    )
    return signal


def _run(w: World) -> Snapshot:
    run = Snapshot.objects.first()
    return run or Snapshot.objects.create(started_at=timezone.now(), steps=9, step=2)


signal = lambda w: {"pk": _signal(w).pk}  # noqa: E731
run = lambda w: {"pk": _run(w).pk}  # noqa: E731
dashboard_filters = "?stage=maturity&cluster=employee-experience"

CASES = [
    Case("dashboard", page_read()),
    Case("dashboard", page_read(), query=dashboard_filters, htmx=True, label="panels partial"),
    Case("dashboard", page_read(), query="?owner=abc", label="bad filter"),
    Case("dashboard", NOT_ALLOWED, method="post"),
    Case("analytics-recompute", leader_only(302), method="post"),
    Case("analytics-recompute", leader_only(200), method="post", htmx=True, label="progress"),
    Case("analytics-recompute", NOT_ALLOWED),
    Case("analytics-run", page_read(), kwargs=run),
    Case("analytics-run", page_read(), kwargs=run, htmx=True, label="progress partial"),
    Case("analytics-run", NOT_ALLOWED, method="post", kwargs=run),
    Case("owner-load-list", page_read()),
    Case("owner-load-list", page_read(), query="?status=over", htmx=True, label="table"),
    Case("owner-load-list", NOT_ALLOWED, method="post"),
    Case("split-signal-list", page_read()),
    Case("split-signal-list", page_read(), query="?status=all", htmx=True, label="table"),
    Case("split-signal-list", NOT_ALLOWED, method="post"),
    Case("split-signal", page_read(), kwargs=signal),
    Case("split-signal", NOT_ALLOWED, method="post", kwargs=signal),
    Case(
        "split-signal-split",
        leader_only(302),
        method="post",
        kwargs=signal,
        data=lambda w: {"new_owner": w.other_owner_person.pk, "note": "Own owner"},
    ),
    Case(
        "split-signal-split",
        leader_only(400),
        method="post",
        kwargs=signal,
        data=lambda w: {"new_owner": ""},
        label="no new owner",
    ),
    Case("split-signal-split", NOT_ALLOWED, kwargs=signal),
    Case(
        "split-signal-dismiss",
        leader_only(302),
        method="post",
        kwargs=signal,
        data=lambda w: {"note": "Kept on purpose"},
    ),
    Case(
        "split-signal-dismiss",
        leader_only(400),
        method="post",
        kwargs=signal,
        data=lambda w: {"note": ""},
        label="no note",
    ),
    Case("split-signal-dismiss", NOT_ALLOWED, kwargs=signal),
]

# A signal that does not exist is 404 for every login.
CASES.append(Case("split-signal", everyone(404), kwargs=lambda w: {"pk": 999999}, label="missing"))
