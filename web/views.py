"""Pages that compose several apps: home by role, My work, the dashboard, an owner's page, the
settings page and the health check."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.services import page_visit_record
from analytics.dashboard import dashboard, owner_load
from analytics.forms import DashboardFilterForm
from analytics.models import Snapshot
from portfolio import services
from portfolio.forms import PortfolioSettingsForm
from portfolio.htmx import redirect_after_post, render_page
from portfolio.models import PortfolioSettings
from portfolio.pages import (
    GET_POST,
    carry_version,
    change_history,
    post_data,
    require_leader_page,
    submit_form,
)
from portfolio.permissions import Role, is_leader
from products.models import Person
from products.permissions import role_of
from reviews.selectors import reviews_due
from web.selectors import my_work

# Where `/` sends each role: leaders to the dashboard, owners to their work, the rest to
# the product list.
HOME_BY_ROLE = {Role.LEADER: "dashboard", Role.OWNER: "my-work", Role.VIEWER: "product-list"}
MY_WORK_PAGE = "my-work"


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def home(request: HttpRequest) -> HttpResponse:
    """The landing page after sign-in, by role (any method: old forms posting to / land too)."""
    return redirect(HOME_BY_ROLE.get(role_of(request.user) or "", "product-list"))


@require_GET
def my_work_page(request: HttpRequest) -> HttpResponse:
    """The signed-in person's units, backlogs, metrics, reviews, requests and what changed on
    their products since their previous visit (noted at each visit)."""
    since = page_visit_record(user=request.user, page=MY_WORK_PAGE)
    context = {"work": my_work(request.user, since=since), "is_leader": is_leader(request.user)}
    return render_page(request, "web/my_work.html", context)


@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(
        Person.objects.visible_to(request.user).select_related("user"), pk=pk
    )
    units = (
        person.units.filter(is_active=True)
        .select_related("cluster", "product")
        .annotate(member_count=Count("products"))
    )
    context = {
        "person": person,
        "units": units,
        "teams": person.teams.order_by("name"),
        "history": change_history(person),
        "can_edit": is_leader(request.user),
        "load": owner_load(person),
    }
    return render_page(request, "web/person_detail.html", context)


@GET_POST
def settings_page(request: HttpRequest) -> HttpResponse:
    """Leaders edit the thresholds every rule reads; everyone else may read them."""
    obj = PortfolioSettings.load()
    if request.method == "POST":
        require_leader_page(request)
    form = carry_version(PortfolioSettingsForm(post_data(request), instance=obj), obj)
    saved, status = submit_form(
        request,
        form,
        lambda f: services.portfolio_settings_update(actor=request.user, **f.cleaned_data),
    )
    if saved:
        messages.success(request, "Portfolio settings saved.")
        return redirect_after_post(request, reverse("settings"))
    context = {
        "form": form,
        "settings": obj,
        "can_edit": is_leader(request.user),
        "analytics_every": django_settings.ANALYTICS_EVERY_MINUTES,
        "last_snapshot": Snapshot.objects.latest_done(),
    }
    return render_page(request, "web/settings.html", context, partial="form", status=status)


@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Every panel from the latest snapshot; the filter form swaps the panels in place."""
    form = DashboardFilterForm(request.GET or None)
    scope = form.scope()
    board = dashboard(scope, settings=PortfolioSettings.load())
    if board.snapshot is not None:
        units = scope.units(board.snapshot).values("unit_id") if scope.narrowed else None
        board.reviews_due = reviews_due(units=units, days=board.reviews_due_days)
    context = {
        "form": form,
        "scope": scope,
        "board": board,
        "snapshot": board.snapshot,
        "run": board.running,
        "can_recompute": is_leader(request.user),
    }
    return render_page(request, "web/dashboard.html", context, partial="panels")
