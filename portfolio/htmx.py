"""How HTML views answer htmx: one "partial or full page" decision, and domain errors as forms.

A URL that can answer with a fragment or with the whole page renders the same template either
way (the fragment is a named partial inside it) and always sends `Vary: HX-Request`, so no
cache hands a fragment to a plain page load or the other way round.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from portfolio.errors import DomainError, StaleVersion, ValidationFailed

NON_FIELD_KEYS = {"__all__", "non_field_errors"}


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps a fragment (not a boosted link, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or only its partial `partial` when htmx asks for a fragment."""
    name = f"{template}#{partial}" if partial and wants_partial(request) else template
    response = render(request, name, context, status=status)
    if partial:
        patch_vary_headers(response, ["HX-Request"])
    return response


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful write: HX-Redirect for htmx (a full navigation), else a 302."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class RuleError(ValidationError):
    """A form error that came from a domain rule; templates show the rule beside the message."""

    def __init__(self, message: str, *, rule: str | None):
        super().__init__(message, code="rule")
        self.rule = rule


def form_field_for(form: forms.BaseForm, key: str | None) -> str | None:
    """The form field a service's error key belongs to ("migration_plan.targets" -> "targets")."""
    if not key or key in NON_FIELD_KEYS:
        return None
    if key in form.fields:
        return key
    last = key.rsplit(".", 1)[-1]
    return last if last in form.fields else None


def _label(key: str) -> str:
    return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> int:
    """Put a service's error on the form where the person will look; return the HTTP status.

    ValidationFailed -> 400, RuleViolation -> 409, Forbidden -> 403 (from the error itself).
    Errors for fields the form does not show become form-wide errors that name the field.
    """
    if not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    if isinstance(exc, ValidationFailed):
        for key, messages in exc.errors.items():
            field = form_field_for(form, key)
            for message in messages:
                if field is None and key not in NON_FIELD_KEYS:
                    message = f"{_label(key)}: {message}"
                form.add_error(field, message)
    elif isinstance(exc, StaleVersion):
        # In words, without the rule name or version numbers (the API keeps those).
        form.add_error(
            None, "Not saved: someone else changed this since you opened it. Reload to see it."
        )
    else:
        field = form_field_for(form, exc.field)
        form.add_error(field, RuleError(exc.message, rule=exc.rule))
    return exc.status_code
