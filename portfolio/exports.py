"""Lists written out as CSV or XLSX: one mechanism for every list page and API list.

A `Listing` says what an export of one list writes: its file name, its columns and how its
bodies are made from a queryset. Its columns come from the resource's one definition, the
API's `Output` (portfolio/api/rows.py) or its serializer, flattened: a nested object becomes
`owner.id`, `owner.name`, ...; a list becomes one cell. Each column is typed by its schema
field, so a date is a date cell, an amount a number (even when the API answers it as a
string) and only text is neutralised against formula injection.

The caller passes the same filtered, visible queryset its page or API list shows; the export
reads it in chunks (`.iterator(chunk_size=CHUNK)`, a server-side cursor on PostgreSQL) and
makes the bodies chunk by chunk, so memory stays flat whatever the row count and the number
of queries does not grow with it (one per chunk at most for what a chunk attaches).

- CSV is streamed as it is written (`StreamingHttpResponse` over a generator), UTF-8 with a
  byte order mark so that Excel reads the accents right.
- XLSX is written by openpyxl's write-only workbook, which keeps one row in memory at a time,
  into a temporary file that is then streamed back (`FileResponse`).

Formula injection (OWASP "CSV injection"): a spreadsheet runs a cell that starts with `=`,
`+`, `-` or `@` (and tab or carriage return can smuggle one in) as a formula, so such a text
cell gets a leading apostrophe: the spreadsheet shows it as text and the apostrophe says why.
Numbers stay numbers: a negative amount is a number, not text.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

# openpyxl ships no type hints (and types-openpyxl is not a dependency).
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from rest_framework import serializers

from portfolio.api.rows import Output
from portfolio.errors import ValidationFailed

CSV = "csv"
XLSX = "xlsx"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {CSV: "text/csv", XLSX: XLSX_MEDIA_TYPE}
FORMATS = tuple(MEDIA_TYPES)

# Rows read from the database at a time: large enough that a chunk's fetch and its attached
# queries are cheap per row, small enough that a chunk of bodies stays a few megabytes.
CHUNK = 2000

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

TEXT, INTEGER, DECIMAL, FLOAT, BOOLEAN, DATE, DATETIME, LIST, JSON = (
    "text",
    "integer",
    "decimal",
    "float",
    "boolean",
    "date",
    "datetime",
    "list",
    "json",
)

Body = Mapping[str, Any]


def neutralise(text: str) -> str:
    """`text` as a spreadsheet will show it and never run it: a leading apostrophe if it
    starts like a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def requested_format(request: HttpRequest) -> str | None:
    """`csv` or `xlsx` when a page is asked for as a file (`?format=csv`), else None."""
    wanted = request.GET.get("format")
    return wanted if wanted in MEDIA_TYPES else None


def page_export(
    request: HttpRequest,
    listing: Listing,
    queryset: QuerySet,
    *,
    filterset: Any = None,
    order: Sequence[str] = (),
    **context: Any,
) -> StreamingHttpResponse | FileResponse | None:
    """The list page's rows as a file when the page is asked for as one (`?format=csv` or
    `xlsx`), else None: the page renders as usual.

    `queryset` is what the page lists (visible to the user, filtered, ordered), before paging.
    A page leaves out a filter value it cannot read and says so beside the list; a file cannot
    say so, so a bad filter answers 400 naming it instead of exporting more than was asked.
    """
    fmt = requested_format(request)
    if fmt is None:
        return None
    if filterset is not None and filterset.is_bound and not filterset.is_valid():
        raise ValidationFailed(
            {
                name: [f"The filter “{name}” cannot be read: {message}" for message in messages]
                for name, messages in filterset.errors.items()
            }
        )
    return listing.response(fmt, queryset, order=order, **context)


# --- Columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    """One column: its header (`owner.name` for a nested field), where its value sits in a
    body (the keys, outermost first) and its kind (TEXT, INTEGER, ... LIST)."""

    header: str
    path: tuple[str, ...]
    kind: str

    def value(self, body: Body) -> Any:
        """The typed value of this column in `body` (None for a missing or null one)."""
        value: Any = body
        for key in self.path:
            if not isinstance(value, dict):  # a body is a dict (a nested one may be null)
                return None
            value = value.get(key)
        if value is None or type(value) in _AS_IS[self.kind]:
            return value
        return _typed(self.kind, value)


def _kind(schema: serializers.Field) -> str:
    declared = getattr(schema, "export_kind", None)  # a field may say how it is written
    if declared is not None:
        return declared
    # BooleanField before IntegerField (no relation), DateTimeField before DateField (a
    # DateTimeField is not a DateField in DRF, but keep the specific first anyway).
    for cls, kind in (
        (serializers.BooleanField, BOOLEAN),
        (serializers.IntegerField, INTEGER),
        (serializers.DecimalField, DECIMAL),
        (serializers.FloatField, FLOAT),
        (serializers.DateTimeField, DATETIME),
        (serializers.DateField, DATE),
        (serializers.DictField, JSON),
        (serializers.JSONField, JSON),
        (serializers.ListField, LIST),
        (serializers.ListSerializer, LIST),
        (serializers.ManyRelatedField, LIST),
    ):
        if isinstance(schema, cls):
            return kind
    return TEXT


def _annotated(schema: serializers.Field) -> serializers.Field:
    """A method field's documented type (drf-spectacular's `extend_schema_field`), if any."""
    if not isinstance(schema, serializers.SerializerMethodField) or schema.parent is None:
        return schema
    method = getattr(schema.parent, schema.method_name or "", None)
    annotation = getattr(method, "_spectacular_annotation", None) or {}
    found = annotation.get("field") if isinstance(annotation, dict) else annotation
    return found if isinstance(found, serializers.Field) else schema


def columns_of(
    fields: Mapping[str, serializers.Field], prefix: tuple[str, ...] = ()
) -> tuple[ExportColumn, ...]:
    """The columns of a body described by `fields` (a serializer's fields, in order); a
    nested object's fields become columns of their own, named `outer.inner`."""
    columns: list[ExportColumn] = []
    for name, schema in fields.items():
        schema = _annotated(schema)
        path = (*prefix, name)
        if isinstance(schema, serializers.Serializer):
            columns.extend(columns_of(schema.fields, path))
        else:
            columns.append(ExportColumn(".".join(path), path, _kind(schema)))
    return tuple(columns)


def output_columns(output: Output) -> tuple[ExportColumn, ...]:
    """The columns of an `Output`'s bodies."""
    return columns_of(output.serializer().fields)


# The types a value of each kind already has when nothing needs converting (the common case,
# checked first: an export converts millions of cells).
_AS_IS: dict[str, frozenset[type]] = {
    TEXT: frozenset({str, int, float, bool, Decimal}),
    INTEGER: frozenset({int}),
    DECIMAL: frozenset({Decimal}),
    FLOAT: frozenset({float, int}),
    BOOLEAN: frozenset({bool}),
    DATE: frozenset({dt.date}),
    DATETIME: frozenset({dt.datetime}),
    LIST: frozenset(),
    JSON: frozenset(),
}


def _typed(kind: str, value: Any) -> Any:
    """A body's value (as the API answers it) as the Python value of its kind."""
    try:
        if kind == DATETIME and isinstance(value, str):
            return parse_datetime(value) or value
        if kind == DATE and isinstance(value, str):
            return parse_date(value) or value
        if kind == DECIMAL and not isinstance(value, Decimal):
            return Decimal(str(value))
        if kind == FLOAT and isinstance(value, str):
            return float(value)
        if kind == INTEGER and isinstance(value, str):
            return int(value)
    except (ValueError, InvalidOperation):
        return value
    if kind == JSON:
        return json.dumps(value, default=str, sort_keys=True)
    if kind == LIST or isinstance(value, list | tuple):
        return "; ".join(_item(v) for v in value) if isinstance(value, list | tuple) else value
    if isinstance(value, Mapping):
        return _item(value)
    return value


def _item(value: Any) -> str:
    """One entry of a list cell: an object by its name, else its values (`cmdb:CI-1042`)."""
    if isinstance(value, Mapping):
        if "name" in value:
            return str(value["name"])
        return ":".join("" if v is None else _item(v) for v in value.values())
    if isinstance(value, list | tuple):
        return ", ".join(_item(v) for v in value)
    return str(value)


# --- Listings -------------------------------------------------------------------------------


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """`items` in lists of `size` (the last one shorter)."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


Bodies = Callable[..., Iterator[Body]]


@dataclass(frozen=True)
class Listing:
    """What an export of one list writes: `name` (the file's), `columns` and `bodies`, a
    function of the queryset (and the context a contextual output needs) answering the
    bodies one by one. Build one with `of_output` or `of_serializer`, next to the resource's
    declaration, and answer with `response()`."""

    name: str
    columns: tuple[ExportColumn, ...]
    bodies: Bodies = field(repr=False)

    @classmethod
    def of_output(
        cls,
        name: str,
        output: Output,
        *,
        rows: Callable[[QuerySet], QuerySet] | None = None,
        attach: Callable[[list[dict]], list[dict]] | None = None,
        context: Callable[[], Mapping[str, Any]] | None = None,
    ) -> Listing:
        """A list answered from values() rows: `rows(queryset)` selects them (by default the
        output's columns), `attach(chunk)` adds what the output reads after the query (one
        query per chunk), `context()` what its contextual fields need when the caller gives
        none."""

        def bodies(queryset: QuerySet, order: Sequence[str] = (), **given: Any) -> Iterator[Body]:
            selected = rows(queryset) if rows else queryset.values(*output.columns)
            if order:  # after rows(): an order may name what rows() annotates
                selected = selected.order_by(*order)
            extra = given or (context() if context else {})
            for chunk in chunks(selected.iterator(chunk_size=CHUNK)):
                yield from output.values(attach(chunk) if attach else chunk, **extra)

        return cls(name, output_columns(output), bodies)

    @classmethod
    def of_serializer(
        cls,
        name: str,
        serializer_class: type[serializers.Serializer],
        *,
        prepare: Callable[[QuerySet], QuerySet] | None = None,
    ) -> Listing:
        """A list answered by a model serializer: `prepare(queryset)` selects and prefetches
        what it reads (prefetches run once per chunk)."""

        def bodies(queryset: QuerySet, order: Sequence[str] = (), **context: Any) -> Iterator[Body]:
            queryset = prepare(queryset) if prepare else queryset
            if order:
                queryset = queryset.order_by(*order)
            for chunk in chunks(queryset.iterator(chunk_size=CHUNK)):
                yield from serializer_class(chunk, many=True, context=context).data

        return cls(name, columns_of(serializer_class().fields), bodies)

    def response(
        self, fmt: str, queryset: QuerySet, *, order: Sequence[str] = (), **context: Any
    ) -> StreamingHttpResponse | FileResponse:
        """The export of `queryset` as a `fmt` (CSV or XLSX) file answer, in `order` if given
        (else the queryset's own)."""
        bodies = self.bodies(queryset, order=order, **context)
        if fmt == CSV:
            return csv_response(self.name, self.columns, bodies)
        return xlsx_response(self.name, self.columns, bodies)


# --- Writers --------------------------------------------------------------------------------


def filename(name: str, fmt: str) -> str:
    """`products-2026-12-06.csv`: the list's name and today's date."""
    return f"{name}-{timezone.localdate().isoformat()}.{fmt}"


def csv_cell(value: Any, tz: dt.tzinfo | None = None) -> Any:
    """A typed value as the CSV writes it (`tz`: the time zone times are shown in)."""
    kind = type(value)
    if kind is str:
        return neutralise(value)
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is dt.datetime:
        if value.tzinfo is not None:  # as the pages show it, with its offset
            value = value.astimezone(tz or timezone.get_current_timezone())
        return value.isoformat()
    if kind is dt.date:
        return value.isoformat()
    return value


class _Line:
    """A file-like object that hands back what csv.writer writes (one line at a time)."""

    def write(self, text: str) -> str:
        return text


def csv_lines(columns: Sequence[ExportColumn], bodies: Iterable[Body]) -> Iterator[str]:
    """The CSV file, a line at a time: the byte order mark, the header, then one line per
    body."""
    writer = csv.writer(_Line())
    tz = timezone.get_current_timezone()
    yield "\ufeff"
    yield writer.writerow([c.header for c in columns])
    for body in bodies:
        yield writer.writerow([csv_cell(c.value(body), tz) for c in columns])


def csv_response(
    name: str, columns: Sequence[ExportColumn], bodies: Iterable[Body]
) -> StreamingHttpResponse:
    lines = (line.encode("utf-8") for line in csv_lines(columns, bodies))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(name, CSV)}"'
    return response


def xlsx_cell(value: Any, tz: dt.tzinfo | None = None) -> Any:
    """A typed value as the workbook holds it (`tz`: the time zone times are shown in)."""
    kind = type(value)
    if kind is str:
        # A character XML cannot hold (a control character) would fail the whole file.
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    if kind is dt.datetime and value.tzinfo is not None:
        # Excel has no time zones: the local wall time, as the pages show it.
        return value.astimezone(tz or timezone.get_current_timezone()).replace(tzinfo=None)
    return value


def write_xlsx(
    target: Any, name: str, columns: Sequence[ExportColumn], bodies: Iterable[Body]
) -> None:
    """Write the workbook into `target` (a binary file): one sheet, a bold frozen header."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=name[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    tz = timezone.get_current_timezone()
    for body in bodies:
        sheet.append([xlsx_cell(c.value(body), tz) for c in columns])
    workbook.save(target)


def xlsx_response(
    name: str, columns: Sequence[ExportColumn], bodies: Iterable[Body]
) -> FileResponse:
    # The file lives on disk, not in memory; the answer closes it when sent, which deletes it.
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    try:
        write_xlsx(target, name, columns, bodies)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return FileResponse(
        target,
        as_attachment=True,
        filename=filename(name, XLSX),
        content_type=XLSX_MEDIA_TYPE,
    )
