"""A resource's output, written once: the row bodies and the OpenAPI schema come from it.

The API answers lists and single objects from values() rows (one query for a page, no model
instances). A resource declares its output as an `Output`: its fields in answer order, each
with its output name, where its value comes from in the row, how the value is converted and
its schema field (with its help text). From that one declaration come:

- `Output.columns`: the columns to pass to `.values(...)`;
- `Output.one(row)` and `Output.many(rows)`: the JSON bodies;
- `Output.values(rows)`: the same bodies with Python values where a converter only spells a
  value for JSON (`FORMATTERS`: dates, times, money), for the CSV and XLSX exports;
- `Output.serializer`: the schema-only Serializer class drf-spectacular documents, named as
  the declaration says, so the OpenAPI component keeps its name.

    DECISION = Output(
        "DecisionSerializer",
        Column("id", serializers.IntegerField()),
        Column("unit", serializers.IntegerField(help_text="The unit's id."), "review__unit_id"),
        Computed("label", serializers.CharField(), lambda row: ..., reads=("kind",)),
        Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    )
    DECISION.many(queryset.values(*DECISION.columns))

Where a value comes from:

- `Column`: a values() column, as it is or converted (`convert`);
- `Computed`: a function of the whole row (`reads` names the columns it needs);
- `Contextual`: a function of the row and of what the call passes (`many(rows, now=...)`:
  the clock, the currency, the request for absolute links);
- `Nested`: an object of its own (another `Output`) made from the same row;
- `Attached`: a key the code adds to each row after the query (relations read for a whole
  page in one more query); it is not a column.

Bodies are built by one dict comprehension over a (name, key, convert) list made once per
declaration: about a microsecond a row more than a hand-written dict literal (the converters,
DRF's datetime formatting above all, cost the same either way).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

Row = Mapping[str, Any]
# (output name, row key or None, function or None): row[key], function(row[key]), or
# function(row) when the key is None. Loosely typed: the body's one comprehension reads it.
Entry = tuple[str, Any, Any]

_DATETIME = serializers.DateTimeField()

# Converters that only spell a value for JSON (a datetime as ISO 8601, an amount as a string):
# `Output.values()` leaves them out, so an export gets the datetime or the Decimal itself.
FORMATTERS: set[Callable[[Any], Any]] = set()


def formatter(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Mark a converter as spelling only (see FORMATTERS)."""
    FORMATTERS.add(function)
    return function


@formatter
def iso_datetime(value: dt.datetime | None) -> str | None:
    """A datetime as DRF writes one (ISO 8601 in the current time zone); None stays None."""
    return _DATETIME.to_representation(value) if value is not None else None


def _iso_in(zone: dt.tzinfo) -> Callable[[Any], Any]:
    """`iso_datetime` with the time zone looked up once (for one call of `Output.many`): DRF's
    field looks it up for every value, through asgiref's context-local storage, and that took
    most of the time of a page of 100 readings (300 datetimes: about 15 microseconds each
    against 3). An aware datetime is written here, the same string; anything else (None
    aside) goes to DRF as before."""

    def iso(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime) and value.utcoffset() is not None:
            try:
                out = value.astimezone(zone).isoformat()
            except OverflowError:
                return iso_datetime(value)
            return out[:-6] + "Z" if out.endswith("+00:00") else out
        return iso_datetime(value)

    return iso


@formatter
def iso_date(value: dt.date | None) -> str | None:
    """A date as ISO 8601 ("2026-07-01"), as DRF writes one; None stays None."""
    return value.isoformat() if value is not None else None


class OutField:
    """One field of an output: its name in the body and its schema field."""

    def __init__(self, name: str, schema: serializers.Field):
        self.name = name
        self.schema = schema

    def selects(self) -> tuple[str, ...]:
        """The values() columns the field reads."""
        return ()

    def entry(self) -> Entry:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Column(OutField):
    """The value of a values() column (`source`, by default the field's name), converted by
    `convert` if one is given (a converter gets None for a NULL)."""

    def __init__(
        self,
        name: str,
        schema: serializers.Field,
        source: str | None = None,
        *,
        convert: Callable[[Any], Any] | None = None,
    ):
        super().__init__(name, schema)
        self.source = source or name
        self.convert = convert

    def selects(self) -> tuple[str, ...]:
        return (self.source,)

    def entry(self) -> Entry:
        return (self.name, self.source, self.convert)


class Attached(Column):
    """A key added to each row after the query (for a page at once); not selected."""

    def selects(self) -> tuple[str, ...]:
        return ()


class Computed(OutField):
    """`function(row)`: a value made from several columns; `reads` names them."""

    def __init__(
        self,
        name: str,
        schema: serializers.Field,
        function: Callable[[Row], Any],
        *,
        reads: Iterable[str] = (),
    ):
        super().__init__(name, schema)
        self.function: Callable[..., Any] = function
        self.reads = tuple(reads)

    def selects(self) -> tuple[str, ...]:
        return self.reads

    def entry(self) -> Entry:
        return (self.name, None, self.function)


class Contextual(Computed):
    """`function(row, context)`: a value that also needs what the call passes (the clock, the
    currency, the request), as keywords of `Output.one` / `Output.many`. The function takes
    the mapping of those keywords as its parameter named `context`."""

    def __init__(
        self,
        name: str,
        schema: serializers.Field,
        function: Callable[..., Any],
        *,
        reads: Iterable[str] = (),
    ):
        super().__init__(name, schema, function, reads=reads)

    def bound(self, context: Mapping[str, Any]) -> Entry:
        return (self.name, None, partial(self.function, context=context))


class Nested(OutField):
    """An object of its own, made by `output` from the same row; null when the column `when`
    is NULL. Keywords go to its schema serializer (`allow_null`, `help_text`)."""

    def __init__(self, name: str, output: Output, *, when: str | None = None, **schema: Any):
        if output.contextual:
            raise ValueError(f"{name}: a nested output cannot need a context")
        super().__init__(name, output.serializer(**schema))
        self.output = output
        self.when = when

    def selects(self) -> tuple[str, ...]:
        return (*self.output.columns, *((self.when,) if self.when else ()))

    def entry(self) -> Entry:
        one, when = self.output.one, self.when
        if when is None:
            return (self.name, None, one)
        return (self.name, None, lambda row: one(row) if row[when] is not None else None)


class Output:
    """A resource's output fields, in answer order; see the module docstring."""

    def __init__(self, serializer_name: str, *fields: OutField, doc: str | None = None):
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{serializer_name}: a field name is used twice: {names}")
        self.fields = fields
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(c for f in fields for c in f.selects()))
        self.contextual = any(isinstance(f, Contextual) for f in fields)
        self._spec: list[Entry] = [
            (f.name, None, None) if isinstance(f, Contextual) else f.entry() for f in fields
        ]
        # The same without the formatters: the values an export writes.
        self._values_spec: list[Entry] = [
            (name, key, None) if key is not None and convert in FORMATTERS else (name, key, convert)
            for name, key, convert in self._spec
        ]
        self.serializer: type[serializers.Serializer] = _schema(
            serializer_name, fields, doc, _caller_module(), self.one
        )

    def _bound(self, context: Mapping[str, Any], spec: list[Entry] | None = None) -> list[Entry]:
        spec = self._spec if spec is None else spec
        if not self.contextual:
            return spec
        return [
            f.bound(context) if isinstance(f, Contextual) else entry
            for f, entry in zip(self.fields, spec, strict=True)
        ]

    def one(self, row: Row, **context: Any) -> dict[str, Any]:
        """The body of one row."""
        spec = self._bound(context)
        return {
            name: row[key] if convert is None else convert(row[key]) if key else convert(row)
            for name, key, convert in spec
        }

    def many(self, rows: Iterable[Row], **context: Any) -> list[dict[str, Any]]:
        """The bodies of rows, in their order.

        A formatter's answer is computed once per value in the call: its result depends only
        on the value and on settings that hold for the call (the time zone), and the rows of a
        bulk write share their timestamps (10,000 event bodies: 30,000 datetimes, one value)."""
        zoned = _iso_in(timezone.get_current_timezone()) if settings.USE_TZ else iso_datetime
        spec = [
            (name, key, _memo(zoned if convert is iso_datetime else convert))
            if key is not None and convert in FORMATTERS
            else entry
            for entry in self._bound(context)
            for name, key, convert in (entry,)
        ]
        return [
            {
                name: row[key] if convert is None else convert(row[key]) if key else convert(row)
                for name, key, convert in spec
            }
            for row in rows
        ]

    def values(self, rows: Iterable[Row], **context: Any) -> list[dict[str, Any]]:
        """Like `many`, but a column whose converter only spells it for JSON (FORMATTERS)
        keeps its Python value: what an export writes (a date cell, a number)."""
        spec = self._bound(context, self._values_spec)
        return [
            {
                name: row[key] if convert is None else convert(row[key]) if key else convert(row)
                for name, key, convert in spec
            }
            for row in rows
        ]

    def __repr__(self) -> str:
        return f"Output({self.serializer.__name__!r}, {', '.join(map(repr, self.fields))})"


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert` with its answers kept by value, for one call of `Output.many`."""
    seen: dict[Any, Any] = {}

    def memo(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = convert(value)
            return out

    return memo


def _schema(
    name: str,
    fields: tuple[OutField, ...],
    doc: str | None,
    module: str,
    one: Callable[..., dict[str, Any]],
) -> type[serializers.Serializer]:
    """The read-only Serializer drf-spectacular documents: the fields in declaration order.

    Given a row as its instance it answers `one(row)` (the serializer's context is the call's
    context), so the browsable API can show a body made from a row.
    """

    def to_representation(self, row: Row) -> dict[str, Any]:
        return one(row, **self.context)

    declared = {f.name: f.schema for f in fields}
    attrs = {"__doc__": doc, "__module__": module, "to_representation": to_representation}
    cls: Any = type(name, (serializers.Serializer,), {**attrs, **declared})
    # DRF orders declared fields by when each field object was made; the answer's order rules.
    cls._declared_fields = declared
    return cls


def _caller_module() -> str:
    """The module declaring the output (as collections.namedtuple finds it), so the schema
    class says where it was written."""
    try:
        return sys._getframe(2).f_globals.get("__name__", __name__)
    except (AttributeError, ValueError):
        return __name__


def version_column() -> Column:
    """The `version` every mutable resource answers with (and as its ETag): send it back with
    an edit, in the body or as If-Match, and a change made meanwhile answers 412."""
    return Column(
        "version",
        serializers.IntegerField(
            help_text="Grows with every change; send it back with an edit (or as If-Match)."
        ),
    )
