"""Helpers every app's pages share: change history, form submission through a service, the
version an edit form was read at and the conflict it may meet, the leader-only guard and the
plain form page."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import BooleanField, Manager, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from portfolio.errors import DomainError, StaleVersion
from portfolio.htmx import add_domain_error, render_page
from portfolio.models import Event
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
    (a stale edit is shown beside the stored version, not as a form error). An edit made on an
    older version (see `carry_version`) answers 409 with the conflict view on the form.
    """
    if request.method != "POST":
        return None, 200
    if validate and not form.is_valid():
        return None, 400
    try:
        return write(form), 200
    except passes:
        raise
    except StaleVersion as exc:
        if getattr(form, "versioned", None) is None:
            return None, add_domain_error(form, exc)
        return None, show_conflict(form, exc)
    except DomainError as exc:
        return None, add_domain_error(form, exc)


def carry_version(form, obj: Model):
    """Give an edit form the version of `obj` its values were read at, as a hidden field.

    The version reaches the service in `cleaned_data["version"]`, so the service refuses the
    save if someone else changed `obj` since the page was opened (see `show_conflict`).
    """
    form.fields["version"] = forms.IntegerField(
        widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1, required=False
    )
    if not form.is_bound:
        form.initial["version"] = obj.version  # type: ignore[attr-defined]
    form.versioned = obj
    form.conflict = None
    return form


@dataclass
class Conflict:
    """What a stale save met: the stored values beside the ones typed, and who changed it."""

    message: str
    version: int
    rows: list[tuple[str, str, str, bool]]  # label, typed, stored, differs
    who: Any = None
    when: Any = None


def show_conflict(form, exc: StaleVersion) -> int:
    """Put the conflict on `form` and make it re-apply the typed values on the stored version.

    Nothing typed is lost: the form keeps the input, shows it beside the stored values and
    now carries the stored version, so submitting again saves the typed values over the new
    ones ("re-apply"); reloading the page drops them ("discard"). Answers 409, which htmx
    swaps into the page like a form error.
    """
    obj = form.versioned
    stored = type(obj)._default_manager.get(pk=obj.pk)
    rows = []
    for name, form_field in form.fields.items():
        if name == "version" or form_field.widget.is_hidden:
            continue
        typed = _shown(form_field, form.cleaned_data.get(name))
        now = _shown(form_field, _stored_value(stored, name))
        label = str(form_field.label or name.replace("_", " ")).capitalize()
        rows.append((label, typed, now, typed != now))
    form.data = form.data.copy()
    form.data[form.add_prefix("version")] = str(stored.version)
    who, when = last_change(stored)
    form.versioned = stored
    form.conflict = Conflict(exc.message, stored.version, rows, who, when)
    return 409


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def last_change(obj: Model, *, object_type: str | None = None) -> tuple[str | None, Any]:
    """Who last changed `obj` and when, in words for the conflict view: from its audit
    history (django-simple-history) when it keeps one, else from the newest domain event
    about it (`object_type` as the events name it; by default the model's name in
    snake_case). (None, None) when neither knows."""
    history = getattr(obj, "history", None)
    if history is not None:
        last = history.select_related("history_user").order_by("-history_date").first()
        if last is not None:
            return _name(last.history_user), last.history_date
    event = (
        Event.objects.filter(
            object_type=object_type or _snake(type(obj).__name__), object_id=obj.pk
        )
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    if event is None:
        return None, None
    return _name(event.actor) or event.actor_name or event.job or None, event.at


def _name(user: Any) -> str | None:
    if user is None:
        return None
    # The person linked to the login, when there is one: the name the pages show elsewhere.
    person: Any = getattr(user, "person", None)
    name: Any = getattr(person, "name", None) if person is not None else None
    if name:
        return str(name)
    return user.get_full_name() or user.get_username()


_MISSING = object()


def _stored_value(stored: Model, name: str) -> Any:
    """The stored value behind a form field: the model's own, else its ownership unit's (a
    product's or a cluster's owner lives on the unit)."""
    value = getattr(stored, name, _MISSING)
    if value is _MISSING:
        value = getattr(getattr(stored, "unit", None), name, None)
    return value


def _shown(field: forms.Field, value: Any) -> str:
    """A value as a person reads it, the same way for typed and stored values."""
    if isinstance(value, Manager):
        value = list(value.all())
    if isinstance(value, QuerySet):
        value = list(value)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(getattr(field, "choices", None) or [])
    if isinstance(value, list | tuple):
        return ", ".join(sorted(str(choices.get(v, v)) for v in value))
    if isinstance(value, Model):
        return str(value)
    return str(choices.get(value, value)) if choices else str(value)


def post_data(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def require_leader_page(request: HttpRequest) -> None:
    if not is_leader(request.user):
        raise PermissionDenied("Only a portfolio leader can do this.")


def form_page(request, form, status, *, title, cancel_url, submit_label="Save") -> HttpResponse:
    context = {"form": form, "title": title, "cancel_url": cancel_url, "submit_label": submit_label}
    return render_page(request, "portfolio/form.html", context, partial="form", status=status)


# --- keyset pages ------------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of a list read by keyset: its rows, the cursor of the next page (None on the
    last) and whether a cursor was followed (False on the first page, or when the cursor given
    was not one of this list's and the first page was shown instead)."""

    rows: list[Any]
    next_cursor: str | None
    followed: bool
    bad_cursor: bool = False

    def __iter__(self):  # like a Paginator's page: iterating it gives its rows
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _cursor_text(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def keyset_page(
    queryset: QuerySet, *, order: tuple[str, ...], cursor: str | None, size: int
) -> KeysetPage:
    """The `size` rows of `queryset` after `cursor` in `order` (fields of the model's own
    table, all ascending or all descending, the last one unique: `("submitted_at", "id")`;
    none of them NULL in the rows listed, since a row comparison with NULL is never true).

    A page costs the index probe of its first row and its rows, however deep it is and however
    long the list: the cursor becomes a row comparison, plus a bound on the first key that an
    index on it can start from. Nothing is counted. The cursor is opaque (base64 of the last
    row's keys as JSON); one that does not decode to this order's keys shows the first page.
    """
    descending = order[0].startswith("-")
    names = [o.removeprefix("-") for o in order]
    meta = queryset.model._meta
    fields = [meta.get_field(name) for name in names]
    queryset = queryset.order_by(*order)
    values = _decode_cursor(cursor, fields) if cursor else None
    if values is not None:
        table = connection.ops.quote_name(meta.db_table)
        columns = ", ".join(f"{table}.{connection.ops.quote_name(f.column)}" for f in fields)
        marks = ", ".join(["%s"] * len(values))
        after = RawSQL(
            f"({columns}) {'<' if descending else '>'} ({marks})",
            values,
            output_field=BooleanField(),
        )
        bound = {f"{names[0]}__{'lte' if descending else 'gte'}": values[0]}
        queryset = queryset.filter(after, **bound)
    rows = list(queryset[: size + 1])
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        keys = [_cursor_text(getattr(last, f.attname)) for f in fields]
        text = json.dumps(keys)
        next_cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return KeysetPage(
        rows=rows[:size],
        next_cursor=next_cursor,
        followed=values is not None,
        bad_cursor=bool(cursor) and values is None,
    )


def _decode_cursor(cursor: str, fields: list) -> list[Any] | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        keys = json.loads(text)
        if not isinstance(keys, list) or len(keys) != len(fields):
            return None
        values = [f.to_python(key) for f, key in zip(fields, keys, strict=True)]
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, ValidationError):
        return None
    return None if any(v is None for v in values) else values


def count_upto(queryset: QuerySet, cap: int) -> int:
    """How many rows `queryset` has, counting at most `cap + 1` of them: a count that costs
    the same however long the list grows. More than `cap` reads as `cap + 1`."""
    return queryset.order_by().values("pk")[: cap + 1].count()
