"""Helpers every all-or-nothing bulk write shares: the per-row error shapes, string checks,
and one COPY ... FROM STDIN for many rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
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
    model, columns: list[str], rows: list[dict[str, Any]], constants: dict[str, Any] | None = None
) -> None:
    """Insert `rows` (dicts keyed by column) into `model`'s table with one COPY ... FROM STDIN.

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
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows(tuples)
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, buffer)
