"""Helpers every all-or-nothing bulk write shares: the per-row error shapes, string checks,
and one COPY ... FROM STDIN for many rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any

from django.db import connection

from portfolio.errors import ValidationFailed

SURROGATE_RE = re.compile("[\ud800-\udfff]")


@dataclass
class RowError:
    index: int
    errors: dict[str, list[str]]
    rule: str | None = None

    def as_dict(self) -> dict:
        body: dict = {"index": self.index, "errors": self.errors}
        if self.rule:
            body["rule"] = self.rule
        return body


class BulkValidationFailed(ValidationFailed):
    """One or more rows are bad: the batch is refused whole, with the errors of each row."""

    def __init__(self, rows: list[RowError], *, field: str = "rows"):
        self.rows = rows
        super().__init__(
            {f"{field}[{r.index}].{name}": msgs for r in rows for name, msgs in r.errors.items()}
        )
        noun = "row is" if len(rows) == 1 else "rows are"
        self.message = f"{len(rows)} {noun} invalid; nothing was stored."

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "detail": self.message,
            "errors": self.errors,
            "rows": [r.as_dict() for r in self.rows],
        }


class RowErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.rule: str | None = None

    def add(self, name: str, message: str, rule: str | None = None) -> None:
        self.errors.setdefault(name, []).append(message)
        if rule and self.rule is None:
            self.rule = rule

    def __bool__(self) -> bool:
        return bool(self.errors)


def printable(text: str) -> str:
    """Client text echoed in an error, with lone surrogates escaped so the answer encodes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean_string(value: Any, name: str, errs: RowErrors, max_length: int | None) -> str | None:
    if not isinstance(value, str):
        errs.add(name, "Not a valid string.")
        return None
    if "\x00" in value:
        errs.add(name, "Null characters are not allowed.")
        return None
    if SURROGATE_RE.search(value):
        errs.add(name, "Surrogate characters are not allowed.")
        return None
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        errs.add(name, f"Ensure this field has no more than {max_length} characters.")
        return None
    return value


def copy_rows(
    model,
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert `rows` (dicts keyed by column; a generator is read as the COPY goes) into
    `model`'s table with one COPY ... FROM STDIN.

    CSV written by the csv module (C code): every string quoted, so an empty string stays an
    empty string, and FORCE_NULL turns the quoted empties of nullable columns back into NULL.
    """
    qn = connection.ops.quote_name
    fields = {f.attname: f for f in model._meta.concrete_fields}
    constants = constants or {}
    getter = itemgetter(*columns)
    tuples: Iterable[tuple[Any, ...]] = map(getter, rows)
    if constants:
        same = tuple(constants.values())
        tuples = (values + same for values in tuples)
    columns = [*columns, *constants]
    options = "FORMAT csv"
    nullable = [qn(c) for c in columns if fields[c].null]
    if nullable:
        options += f", FORCE_NULL ({', '.join(nullable)})"
    sql = (
        f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"FROM STDIN WITH ({options})"
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, _CsvChunks(tuples))


# Rows per piece of a COPY's data: formatted while PostgreSQL reads the piece before.
COPY_CHUNK_ROWS = 1000


class _CsvChunks:
    """A COPY's data as a file whose `read()` formats the next COPY_CHUNK_ROWS rows.

    psycopg2 sends each piece as soon as it is read, so the server parses and inserts one
    piece while this process formats the next: on two cores, the formatting no longer adds
    to the statement's time (a bulk write's rows, 10,000 event bodies above all)."""

    def __init__(self, tuples: Iterable[tuple[Any, ...]]):
        self._rows = iter(tuples)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")

    def read(self, size: int = -1) -> str:
        # psycopg2 sends whatever one read answers, whatever `size` it asked for; "" ends.
        rows = list(islice(self._rows, COPY_CHUNK_ROWS))
        if not rows:
            return ""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(rows)
        return self._buffer.getvalue()
