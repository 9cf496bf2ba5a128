"""Pages of the portfolio analytics: the dashboard, a run's progress, owner load, and the split
signals with their guided split and dismissal. Reads start from the latest finished snapshot
(portfolio.analytics.dashboard); writes go through portfolio.analytics.services."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analytics import services
from analytics.api.serializers import OWNER_LOAD_EXPORT, SPLIT_SIGNAL_EXPORT
from analytics.dashboard import evidence_lines, signal_queryset
from analytics.dashboard import with_summaries as summarise
from analytics.filters import OwnerLoadFilterSet, SplitSignalFilterSet
from analytics.forms import DismissForm, SignalListFilterForm, SplitForm
from analytics.models import LoadStatus, OwnerLoad, SignalStatus, Snapshot, SplitSignal
from portfolio.exports import page_export
from portfolio.htmx import redirect_after_post, render_page, wants_partial
from portfolio.pages import require_leader_page, submit_form
from portfolio.permissions import is_leader

LIST_PER_PAGE = 50


# --- dashboard and runs ------------------------------------------------------------------------


@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    """Ask for a run now (leaders); htmx gets the progress box, which then polls the run."""
    require_leader_page(request)
    run = services.analytics_request_run(actor=request.user)
    run.refresh_from_db()  # an eager run (no broker) has finished by now
    if wants_partial(request):
        return render_page(
            request, "analytics/run.html", {"run": run, "reload_panels": True}, partial="progress"
        )
    messages.info(request, "The analytics are being recomputed; the dashboard shows progress.")
    return redirect("dashboard")


@require_GET
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One run's progress; the dashboard polls it every second until it is done or failed."""
    run = get_object_or_404(Snapshot.objects.select_related("requested_by"), pk=pk)
    context = {"run": run, "reload_panels": wants_partial(request)}
    return render_page(request, "analytics/run.html", context, partial="progress")


@require_GET
def owner_load_list(request: HttpRequest) -> HttpResponseBase:
    """Every owner's load in the latest snapshot, narrowed to one status.

    The rows come from the API's filterset (a value it cannot read is left out).
    """
    snapshot = Snapshot.objects.latest_done()
    wanted = request.GET.get("status") or ""
    wanted = wanted if wanted in LoadStatus.values else ""
    filterset = OwnerLoadFilterSet(
        request.GET, queryset=OwnerLoad.objects.filter(snapshot=snapshot)
    )
    loads = filterset.qs.select_related("person").order_by(
        "-active_units", "-stable_units", "person__name", "pk"
    )
    if export := page_export(request, OWNER_LOAD_EXPORT, loads, filterset=filterset):
        return export
    page = Paginator(loads, LIST_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "snapshot": snapshot,
        "page": page,
        "wanted": wanted,
        "statuses": LoadStatus.choices,
    }
    return render_page(request, "analytics/owner_load_list.html", context, partial="table")


# --- split signals ------------------------------------------------------------------------------


@require_GET
def signal_list(request: HttpRequest) -> HttpResponseBase:
    """The split signals through the API's filterset; the page opens on the open ones."""
    form = SignalListFilterForm(request.GET or None)
    status = form.status_value()
    params = request.GET.copy()
    params.pop("status", None)
    if status != "all":  # "all" is the API's "no status filter"
        params["status"] = status
    filterset = SplitSignalFilterSet(params, queryset=signal_queryset().visible_to(request.user))
    signals = filterset.qs.order_by("-opened_at", "-id")
    if export := page_export(request, SPLIT_SIGNAL_EXPORT, signals, filterset=filterset):
        return export
    page = Paginator(signals, LIST_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = summarise(page.object_list)
    context = {"form": form, "page": page, "status": status}
    return render_page(request, "analytics/signal_list.html", context, partial="table")


def _signal(request: HttpRequest, pk: int) -> SplitSignal:
    signals = SplitSignal.objects.visible_to(request.user).select_related(
        "cluster__unit__owner", "product__unit__owner", "closed_by", "new_owner", "last_snapshot"
    )
    return get_object_or_404(signals, pk=pk)


def _signal_page(request, signal, *, split_form=None, dismiss_form=None, status=200, partial=None):
    leader = is_leader(request.user)
    open_ = signal.status == SignalStatus.OPEN
    context = {
        "signal": signal,
        "evidence": evidence_lines(signal.kind, signal.evidence),
        "members": signal.cluster.unit.products.select_related("team").order_by("name"),
        "can_act": leader and open_,
        "split_form": split_form or (SplitForm(signal=signal) if leader and open_ else None),
        "dismiss_form": dismiss_form or (DismissForm() if leader and open_ else None),
        "still_member": signal.product.unit.cluster_id == signal.cluster_id,
    }
    if partial and wants_partial(request):
        return render_page(
            request, "analytics/signal_detail.html", context, partial=partial, status=status
        )
    return render_page(request, "analytics/signal_detail.html", context, status=status)


@require_GET
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _signal_page(request, _signal(request, pk))


@require_POST
def signal_split(request: HttpRequest, pk: int) -> HttpResponse:
    """The guided split: the signal's member leaves the cluster under its new owner."""
    require_leader_page(request)
    signal = _signal(request, pk)
    form = SplitForm(request.POST, signal=signal)
    done, status = submit_form(
        request,
        form,
        lambda f: services.split_signal_act(
            actor=request.user,
            signal=signal,
            new_owner=f.cleaned_data["new_owner"],
            note=f.cleaned_data["note"],
            product=f.cleaned_data["product"],
        ),
    )
    if done is None:
        return _signal_page(request, signal, split_form=form, status=status, partial="split")
    messages.success(
        request,
        f"{done.split_product.name} left {signal.cluster.name} and is now owned by "
        f"{done.new_owner.name}, with its backlog items, metrics and history.",
    )
    return redirect_after_post(request, done.split_product.get_absolute_url())


@require_POST
def signal_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep the member in its cluster on purpose, with the reason."""
    require_leader_page(request)
    signal = _signal(request, pk)
    form = DismissForm(request.POST)
    done, status = submit_form(
        request,
        form,
        lambda f: services.split_signal_dismiss(
            actor=request.user, signal=signal, note=f.cleaned_data["note"]
        ),
    )
    if done is None:
        return _signal_page(request, signal, dismiss_form=form, status=status, partial="dismiss")
    messages.success(request, f"Signal dismissed: {signal.product.name} stays in the cluster.")
    return redirect_after_post(request, reverse("split-signal", args=[signal.pk]))
