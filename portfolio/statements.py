"""Statements written once per process from a model's own fields.

Building a simple read through the ORM costs more Python on every call than the indexed
SELECT costs the database. The hot reads (a token call's token, a session's login, a chart's
metric) are written once, from the model's fields, so a renamed column or a new field changes
the statement with the model, and their rows become instances with `Model.from_db`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Model


def columns(
    model: type[Model], names: Iterable[str] | None = None
) -> tuple[str, list[str], list[str]]:
    """A model's quoted table, its concrete fields' attribute names and their columns, in the
    model's field order (the order `from_db` reads). With `names`, only those fields and the
    primary key: what `.only(*names)` reads."""
    meta = model._meta
    fields = list(meta.concrete_fields)
    if names is not None:
        wanted = set(names)
        unknown = wanted.difference(*({f.name, f.attname} for f in fields))
        if unknown:
            raise FieldDoesNotExist(f"{meta.label} has no column {', '.join(sorted(unknown))}")
        fields = [f for f in fields if f.primary_key or wanted & {f.name, f.attname}]
    table = connection.ops.quote_name(meta.db_table)
    return (
        table,
        [f.attname for f in fields],
        [f"{table}.{connection.ops.quote_name(f.column)}" for f in fields],
    )
