"""Domain errors on pages are answered here, once, instead of by a try/except in each view.

A page view calls its service and lets a refusal rise. What it should show for a form (the
error beside its field, the form again) is `portfolio.pages.submit_form`'s job; anything that
gets past it (an action without a form, a rule met while reading a page) arrives here and is
answered with the error's own status: the error fragment for an htmx swap, a page with a way
back otherwise. The API is not ours: DRF's exception handler (portfolio/api/errors.py) answers
there in JSON, so an error under /api/ is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from portfolio.errors import DomainError, ValidationFailed
from portfolio.htmx import NON_FIELD_KEYS, wants_partial

ERROR_TEMPLATE = "htmx/domain_error.html"
API_PREFIX = "/api/"


def rule_words(rule: str | None) -> str:
    """A rule's code as a person reads it: "retired_is_final" -> "Retired is final"."""
    if not rule:
        return ""
    return rule.replace("_", " ").strip().capitalize()


def error_details(exc: DomainError) -> list[str]:
    """Every message of a refused input, each naming its field, when there is more than one."""
    if not isinstance(exc, ValidationFailed):
        return []
    details = [
        message if key in NON_FIELD_KEYS else f"{rule_words(key.rsplit('.', 1)[-1])}: {message}"
        for key, messages in exc.errors.items()
        for message in messages
    ]
    return details if len(details) > 1 else []


def back_url(request: HttpRequest) -> str:
    """Where the person came from (the page with the button), if it is one of ours."""
    referer = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if referer and safe else "/"


def domain_error_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """The error as a page: the fragment for an htmx swap, the whole page otherwise."""
    context = {
        "error": exc,
        "rule_words": rule_words(exc.rule),
        "details": error_details(exc),
        "back_url": back_url(request),
    }
    name = f"{ERROR_TEMPLATE}#error" if wants_partial(request) else ERROR_TEMPLATE
    response = render(request, name, context, status=exc.status_code)
    patch_vary_headers(response, ["HX-Request"])
    return response


class DomainErrorMiddleware:
    """Turn a DomainError that escaped a page view into the error's own 4xx answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None  # a bug, not a refusal: let it surface as a 500
        if request.path_info.startswith(API_PREFIX):
            return None  # the API answers its own errors in JSON
        return domain_error_response(request, exception)
