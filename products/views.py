"""Product pages: the filtered list, detail, create/edit, lifecycle moves and the model guide."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from portfolio.errors import ValidationFailed
from portfolio.exports import page_export
from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import (
    GET_POST,
    carry_version,
    change_history,
    form_page,
    post_data,
    require_leader_page,
    submit_form,
)
from portfolio.permissions import is_leader
from portfolio.text import counted
from products import selectors, services
from products.api.serializers import CLUSTER_EXPORT, PERSON_EXPORT, PRODUCT_EXPORT
from products.extensions import unit_health
from products.filters import ClusterFilterSet, PersonFilterSet, TeamFilterSet
from products.forms import (
    ClusterForm,
    ClusterMembersForm,
    ModelQuestionsForm,
    PersonForm,
    ProductFilterForm,
    ProductForm,
    TeamForm,
    TransitionForm,
)
from products.landscape import COLUMN_CHOICES, landscape
from products.maps import HEALTH, STAGE_FILL, dependency_map, render_svg
from products.models import STAGE_FOCUS, STAGE_ORDER, Cluster, Person, Product, Stage, Team
from products.permissions import can_edit_unit
from products.services import product_set_cluster

PAGE_SIZE = 50


def _editable_product(request: HttpRequest, slug: str) -> Product:
    """The product, 404 if hidden, 403 unless the user owns its unit or leads the portfolio."""
    product = get_object_or_404(Product.objects.visible_to(request.user).with_unit(), slug=slug)
    if product.unit is None or not can_edit_unit(request.user, product.unit):
        raise PermissionDenied(
            f"Only the owner of {product.name} or a portfolio leader can change it."
        )
    return product


@require_GET
def product_list(request: HttpRequest) -> HttpResponseBase:
    filterset, products = selectors.product_list(user=request.user, params=request.GET)
    if export := page_export(request, PRODUCT_EXPORT, products, filterset=filterset):
        return export
    paginator = Paginator(selectors.product_rows(products), PAGE_SIZE)
    # Counted without the row's joins and badge (PostgreSQL drops the joins, after planning them).
    paginator.count = products.order_by().count()
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.present_rows(page.object_list)
    context = {
        "page": page,
        "filter_form": ProductFilterForm(request.GET),
        "filter_errors": filterset.errors,
    }
    return render_page(request, "products/product_list.html", context, partial="table")


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_detail(user=request.user, slug=slug)
    can_edit = product.unit is not None and can_edit_unit(request.user, product.unit)
    plan = getattr(product, "migration_plan", None)
    graph = dependency_map(product=product, user=request.user)
    context = {
        "dependency_map": graph,
        # ElementTree escaped every name and attribute in it.
        "dependency_map_svg": "" if graph.is_empty else mark_safe(render_svg(graph)),  # noqa: S308
        "map_legend": map_legend(),
        "product": product,
        "plan": plan,
        "plan_targets": list(plan.targets.order_by("name")) if plan else [],
        "stages": [(s, Stage(s).label, STAGE_FOCUS[s]) for s in STAGE_ORDER],
        "moves": services.allowed_moves(product.lifecycle_stage),
        "can_edit": can_edit,
        "history": change_history(product),
    }
    return render_page(request, "products/product_detail.html", context)


@require_GET
def landscape_page(request: HttpRequest) -> HttpResponse:
    """Capabilities against stages or clusters, one tile per product, the list's filters."""
    by = request.GET.get("columns", "")
    by = by if by in COLUMN_CHOICES else next(iter(COLUMN_CHOICES))
    filterset, grid = landscape(user=request.user, params=request.GET, by=by)
    switch = []
    for value, label in COLUMN_CHOICES.items():
        query = request.GET.copy()
        query["columns"] = value
        switch.append((value, label, f"?{query.urlencode()}"))
    context = {
        "landscape": grid,
        "switch": switch,
        "columns_label": COLUMN_CHOICES[by],
        "filter_form": ProductFilterForm(request.GET),
        "filter_errors": filterset.errors,
        "map_legend": map_legend(),
    }
    return render_page(request, "products/landscape.html", context)


# Health in the legend: from good to bad, then the two kinds of "nothing to go by".
LEGEND_ORDER = (0, 3, 4, 2, 1, None)


def map_legend() -> dict[str, list[tuple[str, str, str]]]:
    """What the colours of the dependency map and the landscape mean."""
    return {
        "stages": [(s, Stage(s).label, STAGE_FILL[s]) for s in STAGE_ORDER],
        "health": [HEALTH[rank][:3] for rank in LEGEND_ORDER],
    }


def _form_context(form: ProductForm, **extra) -> dict:
    return {"form": form, "questions": ModelQuestionsForm(), **extra}


@GET_POST
def product_create(request: HttpRequest) -> HttpResponse:
    require_leader_page(request)
    form = ProductForm(post_data(request), user=request.user)
    product, status = submit_form(
        request, form, lambda f: services.product_create(actor=request.user, **f.service_kwargs())
    )
    if product:
        messages.success(request, f"{product.name} is now in the portfolio.")
        return redirect_after_post(request, product.get_absolute_url())
    context = _form_context(form, title="New product", cancel_url=reverse("product-list"))
    return render_page(
        request, "products/product_form.html", context, partial="form", status=status
    )


@GET_POST
def product_edit(request: HttpRequest, slug: str) -> HttpResponse:
    product = _editable_product(request, slug)
    form = carry_version(
        ProductForm(post_data(request), instance=product, user=request.user), product
    )
    updated, status = submit_form(
        request,
        form,
        lambda f: services.product_update(
            actor=request.user, product=product, **f.service_kwargs()
        ),
    )
    if updated:
        messages.success(request, f"{updated.name} saved.")
        return redirect_after_post(request, updated.get_absolute_url())
    context = _form_context(
        form, product=product, title=f"Edit {product.name}", cancel_url=product.get_absolute_url()
    )
    return render_page(
        request, "products/product_form.html", context, partial="form", status=status
    )


@GET_POST
def product_transition(request: HttpRequest, slug: str) -> HttpResponse:
    """The lifecycle move dialog: a modal fragment for htmx, a page of its own without it."""
    product = _editable_product(request, slug)
    form = TransitionForm(post_data(request), product=product, user=request.user)
    transition, status = submit_form(
        request,
        form,
        lambda f: services.product_transition(
            actor=request.user, product=product, **f.service_kwargs()
        ),
    )
    if transition:
        messages.success(
            request, f"{product.name} moved to {Stage(transition.to_stage).label.lower()}."
        )
        return redirect_after_post(request, product.get_absolute_url())
    allowed = services.allowed_moves(product.lifecycle_stage)
    context = {
        "product": product,
        "form": form,
        "moves": [(s, Stage(s).label, STAGE_FOCUS[s]) for s in allowed],
        "retirement_allowed": Stage.RETIREMENT in allowed,
        "override_offered": Stage.RETIRED in allowed and is_leader(request.user),
    }
    return render_page(
        request, "products/product_transition.html", context, partial="dialog", status=status
    )


@require_POST
def product_plan_done(request: HttpRequest, slug: str) -> HttpResponse:
    """Mark the migration plan done, which opens the way to 'retired'."""
    product = _editable_product(request, slug)
    services.migration_plan_mark_done(actor=request.user, product=product)
    messages.success(request, f"The migration plan of {product.name} is marked done.")
    return redirect_after_post(request, product.get_absolute_url())


@require_POST
def product_model_suggest(request: HttpRequest) -> HttpResponse:
    """Suggest product or project management from the guided answers; nothing is saved."""
    questions = ModelQuestionsForm(request.POST)
    questions.is_valid()  # yes/no boxes: always valid
    suggestion = services.management_model_suggest(questions.answers())
    context = {"suggestion": suggestion, "questions": questions}
    return render_page(request, "products/model_suggestion.html", context, partial="suggestion")


def _clusters(user):
    return Cluster.objects.visible_to(user).select_related("unit__owner__user")


@require_GET
def cluster_list(request: HttpRequest) -> HttpResponseBase:
    clusters = _clusters(request.user).annotate(member_count=Count("unit__products"))
    # The API's filterset, applied after the counts so a filter cannot narrow what they count.
    filterset = ClusterFilterSet(request.GET, queryset=clusters)
    clusters = filterset.qs.order_by("name")
    if export := page_export(request, CLUSTER_EXPORT, clusters, filterset=filterset):
        return export
    context = {"clusters": clusters}
    return render_page(request, "products/cluster_list.html", context)


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
    clusters = _clusters(request.user).annotate(health=unit_health("unit__pk"))
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
    return render_page(request, "products/cluster_detail.html", context)


@GET_POST
def cluster_edit(request: HttpRequest, slug: str) -> HttpResponse:
    cluster = get_object_or_404(_clusters(request.user), slug=slug)
    if not can_edit_unit(request.user, cluster.unit):
        raise PermissionDenied("Only the cluster's owner or a portfolio leader can edit it.")
    form = carry_version(
        ClusterForm(post_data(request), instance=cluster, user=request.user), cluster
    )
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


@require_GET
def person_list(request: HttpRequest) -> HttpResponseBase:
    people = (
        Person.objects.visible_to(request.user)
        .select_related("user")
        .annotate(units_owned=Count("units", filter=Q(units__is_active=True)))
        .order_by("name")
    )
    filterset = PersonFilterSet(request.GET, queryset=people)  # the API's filters
    people = filterset.qs
    if export := page_export(request, PERSON_EXPORT, people, filterset=filterset):
        return export
    return render_page(request, "products/person_list.html", {"people": people})


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


@GET_POST
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(Person.objects.visible_to(request.user), pk=pk)
    if not Person.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied("Only a portfolio leader can edit people.")
    form = carry_version(PersonForm(post_data(request), instance=person), person)
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
    note = (
        f" {counted(orphaned, 'unit now has', 'units now have')} no accountable owner."
        if orphaned
        else ""
    )
    messages.warning(request, f"{person.name} is marked as departed.{note}")
    return redirect_after_post(request, person.get_absolute_url())


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.visible_to(request.user).annotate(
        member_count=Count("members", distinct=True),
        product_count=Count("products", distinct=True),
    )
    teams = TeamFilterSet(request.GET, queryset=teams).qs  # the API's filters
    return render_page(request, "products/team_list.html", {"teams": teams.order_by("name")})


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
    return render_page(request, "products/team_detail.html", context)


@GET_POST
def team_edit(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.visible_to(request.user), slug=slug)
    if not Team.objects.editable_by(request.user).filter(pk=team.pk).exists():
        raise PermissionDenied("Only a portfolio leader can edit teams.")
    form = carry_version(TeamForm(post_data(request), instance=team), team)
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
