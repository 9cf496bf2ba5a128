"""Pages for clusters, people, teams, the portfolio settings and the user's API token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from metrics.selectors import unit_health_subquery
from portfolio import services
from portfolio.analytics.dashboard import owner_load
from portfolio.analytics.models import Snapshot
from portfolio.errors import DomainError, ValidationFailed
from portfolio.forms import (
    ClusterForm,
    ClusterMembersForm,
    PersonForm,
    PortfolioSettingsForm,
    TeamForm,
)
from portfolio.htmx import add_domain_error, redirect_after_post, render_page
from portfolio.models import Cluster, Person, PortfolioSettings, Team
from portfolio.permissions import can_edit_unit, is_leader
from products.models import Product, Stage
from products.services import product_set_cluster

HISTORY_LIMIT = 20
HISTORY_IGNORED = {"updated_at", "created_at", "stage_changed_at"}
HISTORY_LABELS = {"unit": "ownership unit (owner or cluster)"}
GET_POST = require_http_methods(["GET", "POST"])


# --- shared helpers -------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    when: Any
    who: Any
    kind: str  # created / changed / deleted
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


def change_history(obj, *, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The latest `limit` changes of a django-simple-history tracked object, newest first.

    One query for the records; each change is diffed against the record before it. Foreign
    keys are named, not looked up, so the page costs the same however long the history is.
    """
    records = list(
        obj.history.select_related("history_user").order_by("-history_date")[: limit + 1]
    )
    model = obj._meta
    entries = []
    for record, previous in zip(records[:limit], [*records[1:], None], strict=False):
        kind = {"+": "created", "-": "deleted"}.get(record.history_type, "changed")
        entry = HistoryEntry(when=record.history_date, who=record.history_user, kind=kind)
        if previous is not None and kind == "changed":
            delta = record.diff_against(previous, excluded_fields=HISTORY_IGNORED)
            for change in delta.changes:
                model_field = model.get_field(change.field)
                label = HISTORY_LABELS.get(change.field, model_field.verbose_name)
                if model_field.is_relation:
                    entry.changes.append((label, None, None))
                else:
                    entry.changes.append(
                        (
                            label,
                            _display(model_field, change.old),
                            _display(model_field, change.new),
                        )
                    )
        entries.append(entry)
    return entries


def _display(model_field, value):
    if model_field.choices and not isinstance(value, list | tuple):
        return dict(model_field.flatchoices).get(value, value)
    return value


def submit_form(request: HttpRequest, form, write) -> tuple[Any, int]:
    """Validate a bound form and run `write(form)` (a service call).

    Returns (result, 200) on success, or (None, status) with the errors on the form:
    400 for invalid input, or the domain error's own status (400/403/409).
    """
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, 400
    try:
        return write(form), 200
    except DomainError as exc:
        return None, add_domain_error(form, exc)


def post_data(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def require_leader_page(request: HttpRequest) -> None:
    if not is_leader(request.user):
        raise PermissionDenied("Only a portfolio leader can do this.")


def form_page(request, form, status, *, title, cancel_url, submit_label="Save") -> HttpResponse:
    context = {"form": form, "title": title, "cancel_url": cancel_url, "submit_label": submit_label}
    return render_page(request, "portfolio/form.html", context, partial="form", status=status)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# --- clusters --------------------------------------------------------------------------------


def _clusters(user):
    return Cluster.objects.visible_to(user).select_related("unit__owner__user")


@require_GET
def cluster_list(request: HttpRequest) -> HttpResponse:
    clusters = _clusters(request.user).annotate(member_count=Count("unit__products"))
    context = {"clusters": clusters.order_by("name")}
    return render_page(request, "portfolio/cluster_list.html", context)


@GET_POST
def cluster_create(request: HttpRequest) -> HttpResponse:
    require_leader_page(request)
    form = ClusterForm(post_data(request), user=request.user)
    cluster, status = submit_form(
        request, form, lambda f: services.cluster_create(actor=request.user, **f.service_kwargs())
    )
    if cluster:
        messages.success(request, f"Cluster {cluster.name} created.")
        return redirect_after_post(request, cluster.get_absolute_url())
    return form_page(request, form, status, title="New cluster", cancel_url=reverse("cluster-list"))


@require_GET
def cluster_detail(request: HttpRequest, slug: str) -> HttpResponse:
    clusters = _clusters(request.user).annotate(health=unit_health_subquery("unit__pk"))
    cluster = get_object_or_404(clusters, slug=slug)
    members = cluster.unit.products.select_related("team").order_by("name")
    context = {
        "cluster": cluster,
        "members": members,
        "can_edit": can_edit_unit(request.user, cluster.unit),
        "history": change_history(cluster),
    }
    if is_leader(request.user):
        context["candidates"] = (
            Product.objects.visible_to(request.user)
            .exclude(unit=cluster.unit)
            .exclude(lifecycle_stage=Stage.RETIRED)
            .order_by("name")
            .only("name")
        )
        context["people"] = Person.objects.accountable().order_by("name").only("name")
    return render_page(request, "portfolio/cluster_detail.html", context)


@GET_POST
def cluster_edit(request: HttpRequest, slug: str) -> HttpResponse:
    cluster = get_object_or_404(_clusters(request.user), slug=slug)
    if not can_edit_unit(request.user, cluster.unit):
        raise PermissionDenied("Only the cluster's owner or a portfolio leader can edit it.")
    form = ClusterForm(post_data(request), instance=cluster, user=request.user)
    updated, status = submit_form(
        request,
        form,
        lambda f: services.cluster_update(
            actor=request.user, cluster=cluster, **f.service_kwargs()
        ),
    )
    if updated:
        messages.success(request, f"Cluster {updated.name} saved.")
        return redirect_after_post(request, updated.get_absolute_url())
    return form_page(
        request, form, status, title=f"Edit {cluster.name}", cancel_url=cluster.get_absolute_url()
    )


@require_POST
def cluster_members(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a product to the cluster, or take one out (optionally naming its new owner)."""
    require_leader_page(request)
    cluster = get_object_or_404(_clusters(request.user), slug=slug)
    form = ClusterMembersForm(request.POST, user=request.user)

    def write(f):
        product, action = f.cleaned_data["product"], f.cleaned_data["action"]
        if action == "add":
            return product_set_cluster(actor=request.user, product=product, cluster=cluster)
        if product.unit_id != cluster.unit.pk:
            raise ValidationFailed(
                {"product": [f"{product.name} is not a member of {cluster.name}."]}
            )
        new_owner = f.cleaned_data.get("new_owner")
        return product_set_cluster(
            actor=request.user, product=product, cluster=None, new_owner=new_owner
        )

    product, status = submit_form(request, form, write)
    if product is None:
        return render_page(
            request, "htmx/form_errors.html", {"form": form}, partial="errors", status=status
        )
    verb = "joined" if form.cleaned_data["action"] == "add" else "left"
    messages.success(request, f"{product.name} {verb} {cluster.name}.")
    return redirect_after_post(request, cluster.get_absolute_url())


# --- people ----------------------------------------------------------------------------------


@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    people = (
        Person.objects.visible_to(request.user)
        .select_related("user")
        .annotate(units_owned=Count("units", filter=Q(units__is_active=True)))
        .order_by("name")
    )
    return render_page(request, "portfolio/person_list.html", {"people": people})


@GET_POST
def person_create(request: HttpRequest) -> HttpResponse:
    require_leader_page(request)
    form = PersonForm(post_data(request))
    person, status = submit_form(
        request, form, lambda f: services.person_create(actor=request.user, **f.cleaned_data)
    )
    if person:
        messages.success(request, f"{person.name} added.")
        return redirect_after_post(request, person.get_absolute_url())
    return form_page(request, form, status, title="New person", cancel_url=reverse("person-list"))


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
    return render_page(request, "portfolio/person_detail.html", context)


@GET_POST
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(Person.objects.visible_to(request.user), pk=pk)
    if not Person.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied("Only a portfolio leader can edit people.")
    form = PersonForm(post_data(request), instance=person)
    updated, status = submit_form(
        request,
        form,
        lambda f: services.person_update(actor=request.user, person=person, **f.cleaned_data),
    )
    if updated:
        messages.success(request, f"{updated.name} saved.")
        return redirect_after_post(request, updated.get_absolute_url())
    return form_page(
        request, form, status, title=f"Edit {person.name}", cancel_url=person.get_absolute_url()
    )


@require_POST
def person_depart(request: HttpRequest, pk: int) -> HttpResponse:
    require_leader_page(request)
    person = get_object_or_404(Person.objects.visible_to(request.user), pk=pk)
    person = services.person_depart(actor=request.user, person=person)
    orphaned = person.units.filter(is_active=True).count()
    note = f" {orphaned} unit(s) now have no accountable owner." if orphaned else ""
    messages.warning(request, f"{person.name} is marked as departed.{note}")
    return redirect_after_post(request, person.get_absolute_url())


# --- teams -----------------------------------------------------------------------------------


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.visible_to(request.user).annotate(
        member_count=Count("members", distinct=True),
        product_count=Count("products", distinct=True),
    )
    return render_page(request, "portfolio/team_list.html", {"teams": teams.order_by("name")})


@GET_POST
def team_create(request: HttpRequest) -> HttpResponse:
    require_leader_page(request)
    form = TeamForm(post_data(request))
    team, status = submit_form(
        request, form, lambda f: services.team_create(actor=request.user, **f.service_kwargs())
    )
    if team:
        messages.success(request, f"Team {team.name} created.")
        return redirect_after_post(request, team.get_absolute_url())
    return form_page(request, form, status, title="New team", cancel_url=reverse("team-list"))


@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.visible_to(request.user), slug=slug)
    context = {
        "team": team,
        "members": team.members.select_related("user").order_by("name"),
        "products": team.products.with_unit().order_by("name"),
        "can_edit": is_leader(request.user),
    }
    return render_page(request, "portfolio/team_detail.html", context)


@GET_POST
def team_edit(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.visible_to(request.user), slug=slug)
    if not Team.objects.editable_by(request.user).filter(pk=team.pk).exists():
        raise PermissionDenied("Only a portfolio leader can edit teams.")
    form = TeamForm(post_data(request), instance=team)
    updated, status = submit_form(
        request,
        form,
        lambda f: services.team_update(actor=request.user, team=team, **f.service_kwargs()),
    )
    if updated:
        messages.success(request, f"Team {updated.name} saved.")
        return redirect_after_post(request, updated.get_absolute_url())
    return form_page(
        request, form, status, title=f"Edit {team.name}", cancel_url=team.get_absolute_url()
    )


# --- settings and account --------------------------------------------------------------------


@GET_POST
def settings_page(request: HttpRequest) -> HttpResponse:
    """Leaders edit the thresholds every rule reads; everyone else may read them."""
    obj = PortfolioSettings.load()
    if request.method == "POST":
        require_leader_page(request)
    form = PortfolioSettingsForm(post_data(request), instance=obj)
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
    return render_page(request, "portfolio/settings.html", context, partial="form", status=status)


@GET_POST
def api_token(request: HttpRequest) -> HttpResponse:
    """The signed-in user's token for /api/v1/; POST replaces it (the old one stops working)."""
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
        messages.success(request, "A new API token was made; the old one no longer works.")
        return redirect("api-token")
    token = Token.objects.filter(user=request.user).first()
    return render_page(request, "portfolio/api_token.html", {"token": token})
