"""Backlog pages: a unit's one ordered backlog, with inline create/edit, moves and bulk changes.

Every write answers htmx with the refreshed fragment (the list, or one row) and a plain form
post with a redirect back to the list, so the page works without JavaScript and converges to
the stored order either way.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from backlog import selectors, services
from backlog.api.serializers import BACKLOG_ITEM_EXPORT
from backlog.filters import BacklogItemFilterSet
from backlog.forms import (
    BacklogBulkForm,
    BacklogFilterForm,
    BacklogItemCommentForm,
    BacklogItemCreateForm,
    BacklogItemEditForm,
    BacklogMoveForm,
    ComponentLookupForm,
)
from backlog.models import BacklogItem, BacklogItemComment
from metrics.selectors import unit_health_subquery
from portfolio.errors import StaleVersion
from portfolio.exports import page_export
from portfolio.htmx import render_page, wants_partial
from portfolio.pages import GET_POST, last_change, post_data, submit_form
from portfolio.permissions import is_leader
from products.models import OwnershipUnit
from products.permissions import can_edit_unit

PAGE_SIZE = 100
PAGE = "backlog/backlog_detail.html"


# --- lookups ---------------------------------------------------------------------------------


def _unit(request: HttpRequest, unit_id: int) -> OwnershipUnit:
    units = OwnershipUnit.objects.visible_to(request.user).select_related(
        "owner__user", "cluster", "product"
    )
    # `health`: the metric roll-up for the page header's badge, in the same query.
    return get_object_or_404(units.annotate(health=unit_health_subquery()), pk=unit_id)


def _require_editor(request: HttpRequest, unit: OwnershipUnit) -> None:
    if not can_edit_unit(request.user, unit):
        raise PermissionDenied(
            f"Only the owner of {unit.name} or a portfolio leader can change its backlog."
        )


def _editable_item(request: HttpRequest, item_id: int) -> BacklogItem:
    items = BacklogItem.objects.visible_to(request.user).select_related(
        "product", "unit__owner__user", "unit__cluster", "unit__product"
    )
    item = get_object_or_404(items, pk=item_id)
    _require_editor(request, item.unit)
    return item


def _components(unit: OwnershipUnit) -> selectors.Components:
    return selectors.unit_components(unit)


def _choice(unit: OwnershipUnit, components: selectors.Components) -> dict:
    """What every component select of the page needs: the unit (to check a choice), the first
    few components (its options) and the lookup that finds the others."""
    lookup_url = reverse("backlog-components", args=[unit.pk])
    return {"unit": unit, "components": components, "lookup_url": lookup_url}


@require_GET
def backlog_components(request: HttpRequest, unit_id: int) -> HttpResponse:
    """The unit's components whose name holds the typed text (`q`), as the `<option>`s of a
    component select: what the page's search box swaps in when the unit has more components
    than the page lists. Everyone who reads the backlog may ask; a bad parameter is a 400."""
    unit = get_object_or_404(OwnershipUnit.objects.visible_to(request.user), pk=unit_id)
    form = ComponentLookupForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    found = selectors.unit_components(unit, text=form.cleaned_data["q"])
    selected = form.cleaned_data["selected"]
    chosen = selectors.unit_component(unit, selected) if selected else None
    context = {
        "found": found,
        "chosen": chosen if chosen not in found.first else None,
        "selected": selected,
        "empty_label": form.empty_label(),
        "q": form.cleaned_data["q"].strip(),
    }
    # No request context: the options need none (and the context processors' queries).
    return HttpResponse(render_to_string("backlog/_component_options.html", context))


# --- the list --------------------------------------------------------------------------------


def _position():
    """0-based place in the whole backlog (not the filtered list): one indexed count a row."""
    before = (
        BacklogItem.objects.filter(unit_id=OuterRef("unit_id"), rank__lt=OuterRef("rank"))
        .order_by()
        .values("unit_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(before, output_field=IntegerField())


def _filtered(unit: OwnershipUnit, params):
    """The API's filterset on the unit's items: the same parameters give the same rows.

    A value it cannot read is left out (the form shows it), so a bad link still lists.
    """
    return BacklogItemFilterSet(params, queryset=BacklogItem.objects.filter(unit=unit)).qs


def _present(items: list[BacklogItem]) -> list[BacklogItem]:
    today = timezone.now()
    for item in items:
        # Display values hung on the item for the template (position is annotated).
        item.position = (item.position or 0) + 1  # type: ignore[attr-defined]  # NULL: none before
        item.age_days = (today - item.created_at).days  # type: ignore[attr-defined]
        item.idle_days = (today - item.updated_at).days  # type: ignore[attr-defined]
    return items


def _list_context(request: HttpRequest, unit: OwnershipUnit, components, params) -> dict:
    filter_form = BacklogFilterForm(params, **_choice(unit, components), auto_id="filter_%s")
    items = (
        _filtered(unit, params)
        .select_related("product")
        .annotate(position=_position())
        .order_by("rank")
    )
    page = Paginator(items, PAGE_SIZE).get_page(params.get("page"))
    page.object_list = _present(list(page.object_list))
    can_edit = can_edit_unit(request.user, unit)
    return {
        "unit": unit,
        "components": components,
        "filter_form": filter_form,
        "page": page,
        "can_edit": can_edit,
        "bulk_form": BacklogBulkForm(**_choice(unit, components), auto_id="bulk_%s")
        if can_edit
        else None,
        "list_query": params.urlencode(),
        "filters_active": bool(filter_form.filters()),
    }


def _render_list(request: HttpRequest, unit: OwnershipUnit, components=None, *, status=200):
    components = components if components is not None else _components(unit)
    context = _list_context(request, unit, components, request.GET)
    response = render(request, f"{PAGE}#list", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _back_to_list(request: HttpRequest, unit_id: int) -> HttpResponse:
    url = reverse("backlog-detail", args=[unit_id])
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


@require_GET
def backlog_detail(request: HttpRequest, unit_id: int) -> HttpResponseBase:
    """The unit's backlog in order: filters, list, and (for editors) create and bulk forms."""
    unit = _unit(request, unit_id)
    filterset = BacklogItemFilterSet(request.GET, queryset=BacklogItem.objects.filter(unit=unit))
    items = filterset.qs.order_by("rank", "id")
    if export := page_export(request, BACKLOG_ITEM_EXPORT, items, filterset=filterset):
        return export
    return _detail_page(request, unit)


def _detail_page(request, unit, *, create_form=None, status=200) -> HttpResponse:
    components = _components(unit)
    context = _list_context(request, unit, components, request.GET)
    if context["can_edit"]:
        context["create_form"] = create_form or _create_form(None, unit, components)
    return render_page(request, PAGE, context, partial="list", status=status)


# --- writes ----------------------------------------------------------------------------------


def _create_form(data, unit, components) -> BacklogItemCreateForm:
    return BacklogItemCreateForm(data, **_choice(unit, components), auto_id="new_%s")


def _edit_form(data, item, components) -> BacklogItemEditForm:
    return BacklogItemEditForm(
        data, instance=item, **_choice(item.unit, components), auto_id=f"item{item.pk}_%s"
    )


def _shown(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if name == "product":
        return value.name
    # get_field() may answer a relation or a generic key; the form's fields are plain fields.
    field = BacklogItem._meta.get_field(name)
    return str(dict(field.flatchoices).get(value, value)) if field.choices else str(value)  # type: ignore[union-attr]


def _conflict(exc: StaleVersion, mine: dict, stored: BacklogItem) -> dict:
    """What they entered beside what is stored now, field by field."""
    rows = []
    for name in BacklogItemEditForm.Meta.fields:
        label = "Component" if name == "product" else BacklogItem._meta.get_field(name).verbose_name  # type: ignore[union-attr]
        ours, theirs = _shown(name, mine.get(name)), _shown(name, getattr(stored, name))
        rows.append((label.capitalize(), ours, theirs, ours != theirs))
    who, when = last_change(stored)
    return {"message": exc.message, "stored": stored, "rows": rows, "who": who, "when": when}


@require_POST
def backlog_item_create(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = _unit(request, unit_id)
    _require_editor(request, unit)
    components = _components(unit)
    form = _create_form(request.POST, unit, components)
    _, status = submit_form(
        request,
        form,
        lambda f: services.backlog_item_create(actor=request.user, **f.service_kwargs()),
    )
    if status == 200:
        if not wants_partial(request):
            return _back_to_list(request, unit.pk)
        form = _create_form(None, unit, components)
    if not wants_partial(request):
        return _detail_page(request, unit, create_form=form, status=status)
    # The form (fresh, or with its errors) plus the list, swapped out of band.
    context = _list_context(request, unit, components, request.GET)
    context.update(create_form=form, oob=True)
    html = render_to_string(f"{PAGE}#create", context, request=request)
    if status == 200:
        html += render_to_string(f"{PAGE}#list", context, request=request)
    return HttpResponse(html, status=status)


def _row(request: HttpRequest, item: BacklogItem, *, can_edit: bool = True) -> HttpResponse:
    item = (
        BacklogItem.objects.select_related("product").annotate(position=_position()).get(pk=item.pk)
    )
    context = {
        "item": _present([item])[0],
        "can_edit": can_edit,
        "list_query": request.GET.urlencode(),
    }
    return render(request, f"{PAGE}#item-row", context)


def _edit_page(request, item, form, *, status=200, conflict=None) -> HttpResponse:
    context = {
        "item": item,
        "unit": item.unit,
        "form": form,
        "conflict": conflict,
        "list_query": request.GET.urlencode(),
    }
    return render_page(
        request, "backlog/item_edit.html", context, partial="edit-row", status=status
    )


@GET_POST
def backlog_item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    """Edit one row in place. The form carries the version it was read at: an edit made on an
    older version is shown beside the stored one, to re-apply or discard; never overwritten."""
    item = _editable_item(request, item_id)
    components = _components(item.unit)
    form = _edit_form(post_data(request), item, components)
    if request.method == "GET":
        return _edit_page(request, item, form)

    def write(f):
        kwargs = f.service_kwargs()
        services.backlog_item_update(
            actor=request.user, item=item, version=kwargs["version"], **kwargs["changes"]
        )

    try:
        _, status = submit_form(request, form, write, passes=(StaleVersion,))
    except StaleVersion as exc:
        stored = BacklogItem.objects.select_related(
            "product", "unit__cluster", "unit__product"
        ).get(pk=item.pk)
        data = request.POST.copy()
        data["version"] = str(stored.version)  # re-applying means: mine over what is stored now
        retry = _edit_form(data, stored, components)
        retry.is_valid()
        conflict = _conflict(exc, form.service_kwargs()["changes"], stored)
        # 409, not 412: htmx swaps 409 answers into the row, so the person sees both versions.
        return _edit_page(request, stored, retry, status=409, conflict=conflict)
    if status != 200:
        return _edit_page(request, item, form, status=status)
    if wants_partial(request):
        return _row(request, item)
    return _back_to_list(request, item.unit_id)


@require_GET
def backlog_item_row(request: HttpRequest, item_id: int) -> HttpResponse:
    """The item's own page (fields, history, comments); to htmx, its row as the list shows it
    (what "Cancel" and "Discard mine" swap back in)."""
    item = get_object_or_404(selectors.backlog_items_for_page(request.user), pk=item_id)
    can_edit = can_edit_unit(request.user, item.unit)
    if wants_partial(request):
        response = _row(request, item, can_edit=can_edit)
    else:
        response = render(request, ITEM_PAGE, _item_context(request, item))
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the item page: history and comments ------------------------------------------------------

ITEM_PAGE = "backlog/item_detail.html"


def _comment_form(data=None) -> BacklogItemCommentForm:
    return BacklogItemCommentForm(data, auto_id="comment_%s")


def _item_context(request: HttpRequest, item: BacklogItem, *, form=None) -> dict:
    can_comment = can_edit_unit(request.user, item.unit)
    history = selectors.backlog_item_history(item)
    return {
        "item": item,
        "unit": item.unit,
        "history": history,
        "created_by": next((e.who for e in history if e.what == selectors.CREATED), None),
        "comments": list(selectors.backlog_item_comments(item)),
        "can_edit": can_comment,
        "can_moderate": is_leader(request.user),
        "comment_form": (form or _comment_form()) if can_comment else None,
        "age_days": (timezone.now() - item.created_at).days,
    }


def _comments_answer(request, item, *, form=None, status=200) -> HttpResponse:
    """After a comment write: htmx gets the comments (and the history, out of band); a plain
    post goes back to the page, or shows it again with the form's errors."""
    if status == 200 and not wants_partial(request):
        return redirect(reverse("backlog-item", args=[item.pk]) + "#comments")
    context = _item_context(request, item, form=form if status != 200 else None)
    if not wants_partial(request):
        return render(request, ITEM_PAGE, context, status=status)
    html = render_to_string(f"{ITEM_PAGE}#comments", context, request=request)
    if status == 200:
        context["oob"] = True
        html += render_to_string(f"{ITEM_PAGE}#history", context, request=request)
    return HttpResponse(html, status=status)


@require_POST
def backlog_item_comment_add(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(selectors.backlog_items_for_page(request.user), pk=item_id)
    _require_editor(request, item.unit)
    form = _comment_form(request.POST)
    _, status = submit_form(
        request,
        form,
        lambda f: services.backlog_item_comment_add(
            actor=request.user, item=item, body=f.cleaned_data["body"]
        ),
    )
    return _comments_answer(request, item, form=form, status=status)


@require_POST
def backlog_item_comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    comments = BacklogItemComment.objects.visible_to(request.user)
    comment = get_object_or_404(comments, pk=comment_id)
    item = get_object_or_404(selectors.backlog_items_for_page(request.user), pk=comment.item_id)
    services.backlog_item_comment_delete(actor=request.user, comment=comment)
    return _comments_answer(request, item)


@require_POST
def backlog_item_move(request: HttpRequest, item_id: int) -> HttpResponse:
    """Move one item: before=<id>, after=<id> or position=<n|top|bottom>."""
    item = _editable_item(request, item_id)
    form = BacklogMoveForm(request.POST)

    def write(f):
        data = f.cleaned_data
        # The service loads the anchor itself (and says so if it is not in this backlog).
        anchors = {k: BacklogItem(pk=data[k]) for k in ("before", "after") if data.get(k)}
        services.backlog_item_move(
            actor=request.user, item=item, position=data.get("position"), **anchors
        )

    _, status = submit_form(request, form, write)
    if status != 200:
        return _form_errors(request, form, status)
    if wants_partial(request):
        return _render_list(request, item.unit)
    return _back_to_list(request, item.unit_id)


def _form_errors(request: HttpRequest, form, status: int) -> HttpResponse:
    return render_page(
        request, "htmx/form_errors.html", {"form": form}, partial="errors", status=status
    )


@require_POST
def backlog_bulk(request: HttpRequest, unit_id: int) -> HttpResponse:
    """One change to the selected rows: set status, set component, or move them to the top."""
    unit = _unit(request, unit_id)
    _require_editor(request, unit)
    components = _components(unit)
    form = BacklogBulkForm(request.POST, **_choice(unit, components))

    def write(f):
        # The service loads the selection and refuses ids outside this backlog.
        items = [BacklogItem(pk=i) for i in dict.fromkeys(f.cleaned_data["items"])]
        services.backlog_items_bulk_update(
            actor=request.user, unit=unit, items=items, **f.service_kwargs()
        )

    _, status = submit_form(request, form, write)
    if status != 200:
        return _form_errors(request, form, status)
    if wants_partial(request):
        return _render_list(request, unit, components)
    return _back_to_list(request, unit.pk)
