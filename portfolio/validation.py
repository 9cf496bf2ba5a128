"""Turn Django's model validation into the domain's ValidationFailed."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

from portfolio.errors import ValidationFailed


def full_clean_or_fail(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_constraints=True)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        ) from exc


# Primary keys are PostgreSQL bigints: a larger number never names a row, and a query given one
# fails in the database instead of finding nothing.
MAX_ID = 2**63 - 1


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
