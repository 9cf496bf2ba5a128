"""Helpers every app's pages share: change history, form submission through a service, the
leader-only guard and the plain form page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from portfolio.errors import DomainError
from portfolio.htmx import add_domain_error, render_page
from portfolio.permissions import is_leader

HISTORY_LIMIT = 20


HISTORY_IGNORED = {"updated_at", "created_at", "stage_changed_at"}


HISTORY_LABELS = {"unit": "ownership unit (owner or cluster)"}


GET_POST = require_http_methods(["GET", "POST"])


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


def submit_form(
    request: HttpRequest,
    form,
    write,
    *,
    validate: bool = True,
    passes: tuple[type[DomainError], ...] = (),
) -> tuple[Any, int]:
    """Validate a bound form and run `write(form)` (a service call).

    Returns (result, 200) on success, or (None, status) with the errors on the form:
    400 for invalid input, or the domain error's own status (400/403/409/412).

    This is the one place a page maps a service's refusal onto a form; a refusal with no form
    to show it on is left to portfolio.middleware.DomainErrorMiddleware. `validate=False` is
    for a button without input of its own (remove, mark done): `form` is the unbound form shown
    beside the list, and a refusal lands there. `passes` are errors the caller answers itself
    (a stale edit is shown beside the stored version, not as a form error).
    """
    if request.method != "POST":
        return None, 200
    if validate and not form.is_valid():
        return None, 400
    try:
        return write(form), 200
    except passes:
        raise
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
