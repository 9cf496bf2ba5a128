"""Validation every app shares: Django's model validation as the domain's ValidationFailed,
and the one range every date and time must lie in."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

from portfolio.errors import ValidationFailed

# The largest id a bigint primary key holds: a larger "id" names nothing and must be a 400
# before it reaches a query (psycopg refuses to send it and the request would end in a 500).
MAX_ID = 2**63 - 1
# The largest value of an integer column (counts, versions, positions).
MAX_INT = 2**31 - 1


def full_clean_or_fail(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_constraints=True)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        ) from exc


def parse_id(value: object) -> int | None:
    """The row id `value` spells (an int, or a string of ASCII digits), or None if it is none.

    Strict on purpose, so every surface agrees on what an id is: `str.isdigit()` alone lets
    through '²' and '١٢' (which int() rejects or reads as 12), whitespace is not stripped here,
    and 0, negatives and anything past bigint are not ids.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        # The length check first: int() of a long digit string is slow or refused outright.
        if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))):
            return None
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_ID:
        return value
    return None


def validate_id(value: object) -> None:
    """A form or filter validator: the value must be a row id (see parse_id)."""
    if parse_id(value) is None:
        raise DjangoValidationError("An id (a whole number).", code="invalid")


# --- Dates and times ----------------------------------------------------------------------------
# Every date and time the portfolio stores lies in these years. Python and PostgreSQL both
# accept far more (year 1; PostgreSQL even years BC, which psycopg cannot read back), and a
# date typed as 0001-01-01 or 9999-12-31 is a slip, not a plan: it overflows date arithmetic
# and, stored, breaks every page and list that reads the row.
EARLIEST_YEAR = 1900
LATEST_YEAR = 9999
EARLIEST_DATE = dt.date(EARLIEST_YEAR, 1, 1)
LATEST_DATE = dt.date(LATEST_YEAR, 12, 31)


def date_range_error(
    value: dt.date | dt.datetime,
    *,
    earliest: dt.date = EARLIEST_DATE,
    latest: dt.date = LATEST_DATE,
) -> str | None:
    """Why `value` lies outside the dates the portfolio keeps, or None if it is inside.

    A time with an offset is judged by its UTC day, the day PostgreSQL stores: year 1 at
    +14:00 is still year 1 BC in UTC.
    """
    day: dt.date
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError:
                return _range_message(earliest, latest)
        day = value.date()
    else:
        day = value
    if earliest <= day <= latest:
        return None
    return _range_message(earliest, latest)


def _range_message(earliest: dt.date, latest: dt.date) -> str:
    return f"Give a date between {earliest.isoformat()} and {latest.isoformat()}."


def validate_date_range(value: dt.date | dt.datetime | None) -> None:
    """The range as a validator for form fields, serializer fields and filters alike (DRF
    turns Django's ValidationError into its own)."""
    if value is None:
        return
    problem = date_range_error(value)
    if problem:
        raise DjangoValidationError(problem, code="date_range")


def date_range_or_fail(value: dt.date | dt.datetime | None, *, field: str) -> None:
    """The range inside a service: a ValidationFailed naming `field`."""
    if value is None:
        return
    problem = date_range_error(value)
    if problem:
        raise ValidationFailed({field: [problem]})
