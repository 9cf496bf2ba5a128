"""The webhook settings pages (leaders only): the list and a new endpoint, one endpoint with
its edit form, its actions and its delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import carry_version, post_data, require_leader_page, submit_form
from webhooks import selectors, services
from webhooks.forms import EndpointCreateForm, EndpointForm, RotateForm
from webhooks.models import Endpoint

LOG_LENGTH = 50


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    """Every endpoint; a POST registers one and shows its secret, this once."""
    require_leader_page(request)
    form = EndpointCreateForm(post_data(request), initial={"active": True})
    made, status = submit_form(
        request, form, lambda f: services.endpoint_create(actor=request.user, **f.cleaned_data)
    )
    new_endpoint, new_secret = made if made else (None, None)
    if made:
        form = EndpointCreateForm(initial={"active": True})
    context = {
        "endpoints": selectors.endpoints_for(user=request.user),
        "form": form,
        "new_endpoint": new_endpoint,
        "new_secret": new_secret,
    }
    return render_page(request, "webhooks/webhook_list.html", context, status=status)


def _endpoint(request: HttpRequest, pk: int) -> Endpoint:
    require_leader_page(request)
    return get_object_or_404(Endpoint.objects.editable_by(request.user), pk=pk)


def _initial(endpoint: Endpoint) -> dict[str, object]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }


def _detail(
    request, endpoint, form, *, status=200, new_secret=None, rotate_form=None
) -> HttpResponse:
    context = {
        "endpoint": endpoint,
        "form": form,
        "rotate_form": rotate_form or RotateForm(),
        "deliveries": selectors.deliveries_of(endpoint=endpoint)[:LOG_LENGTH],
        "log_length": LOG_LENGTH,
        "new_secret": new_secret,
    }
    return render_page(request, "webhooks/webhook_detail.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An endpoint: its edit form (with the version it was read at) and its delivery log."""
    endpoint = _endpoint(request, pk)
    initial = _initial(endpoint)
    form = carry_version(EndpointForm(post_data(request), initial=initial), endpoint)
    saved, status = submit_form(
        request,
        form,
        lambda f: services.endpoint_update(actor=request.user, endpoint_id=pk, **f.cleaned_data),
    )
    if saved:
        messages.success(request, "Webhook endpoint saved.")
        return redirect_after_post(request, reverse("webhook-detail", args=[pk]))
    return _detail(request, endpoint, form, status=status)


@require_POST
def webhook_pause(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_update(actor=request.user, endpoint_id=endpoint.pk, active=False)
    messages.success(request, "Paused: nothing is sent until you resume it.")
    return redirect_after_post(request, reverse("webhook-detail", args=[pk]))


@require_POST
def webhook_resume(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_update(actor=request.user, endpoint_id=endpoint.pk, active=True)
    messages.success(request, "Resumed: what waited is sent now, in order.")
    return redirect_after_post(request, reverse("webhook-detail", args=[pk]))


@require_POST
def webhook_ping(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_ping(actor=request.user, endpoint_id=endpoint.pk)
    messages.success(request, "A ping is on its way; its outcome shows in the log below.")
    return redirect_after_post(request, reverse("webhook-detail", args=[pk]))


@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret, shown this once; the old one stops signing at once."""
    endpoint = _endpoint(request, pk)
    form = RotateForm(request.POST)
    made, status = submit_form(
        request,
        form,
        lambda f: services.endpoint_rotate_secret(
            actor=request.user, endpoint_id=endpoint.pk, secret=f.cleaned_data["secret"]
        ),
    )
    if made:
        endpoint, secret = made
    initial = _initial(endpoint)
    edit = carry_version(EndpointForm(initial=initial), endpoint)
    if not made:
        return _detail(request, endpoint, edit, status=status, rotate_form=form)
    return _detail(request, endpoint, edit, new_secret=secret)


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask first; the POST deletes the endpoint and its delivery log."""
    endpoint = _endpoint(request, pk)
    if request.method == "POST":
        services.endpoint_delete(actor=request.user, endpoint_id=endpoint.pk)
        messages.success(request, f"The webhook endpoint {endpoint.url} was deleted.")
        return redirect_after_post(request, reverse("webhook-list"))
    return render_page(request, "webhooks/webhook_delete.html", {"endpoint": endpoint})


@require_POST
def webhook_redeliver(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.delivery_redeliver(
        actor=request.user, endpoint_id=endpoint.pk, delivery_id=delivery_pk
    )
    messages.success(request, "Sent again as a new delivery; it shows at the top of the log.")
    return redirect_after_post(request, reverse("webhook-detail", args=[pk]))
