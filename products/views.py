"""Product pages: the filtered list, detail, create/edit, lifecycle moves and the model guide."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portfolio.errors import DomainError
from portfolio.htmx import redirect_after_post, render_page
from portfolio.permissions import can_edit_unit, is_leader
from portfolio.views import (
    GET_POST,
    change_history,
    post_data,
    require_leader_page,
    submit_form,
)
from products import selectors, services
from products.forms import ModelQuestionsForm, ProductFilterForm, ProductForm, TransitionForm
from products.models import STAGE_FOCUS, STAGE_ORDER, Product, Stage

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
def product_list(request: HttpRequest) -> HttpResponse:
    filterset, products = selectors.product_list(user=request.user, params=request.GET)
    page = Paginator(selectors.product_rows(products), PAGE_SIZE).get_page(request.GET.get("page"))
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
    context = {
        "product": product,
        "plan": plan,
        "plan_targets": list(plan.targets.order_by("name")) if plan else [],
        "stages": [(s, Stage(s).label, STAGE_FOCUS[s]) for s in STAGE_ORDER],
        "moves": services.allowed_moves(product.lifecycle_stage),
        "can_edit": can_edit,
        "history": change_history(product),
    }
    return render_page(request, "products/product_detail.html", context)


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
    form = ProductForm(post_data(request), instance=product, user=request.user)
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
    try:
        services.migration_plan_mark_done(actor=request.user, product=product)
    except DomainError as exc:
        context = {"error": exc, "back_url": product.get_absolute_url()}
        return render_page(
            request, "htmx/domain_error.html", context, partial="error", status=exc.status_code
        )
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
