"""Counts, numbers and amounts in words, the same way on every page and in every message.

`counted(2, "unit now has", "units now have")` -> "2 units now have"; `number(5100)` ->
"5,100"; `money(100000)` -> "100,000.00". The template filters of the same names
(portfolio/templatetags/portfolio_tags.py) call these, so a page and a flash message agree.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def number(value: object, places: int | None = None) -> str:
    """`value` with thousands separated by commas; `places` decimals when given, else as many
    as it has (a whole number shows none). Anything that is not a number is shown as is."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return "" if value is None else str(value)
    if places is None:
        if amount == amount.to_integral_value():
            return f"{int(amount):,}"
        return f"{amount.normalize():,f}"
    return f"{amount:,.{places}f}"


def money(value: object) -> str:
    """An amount as the app shows money: thousands separated, always two decimals."""
    return number(value, places=2)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 item" / "2 items": the count (with separators) and the words that agree with it.
    `plural` defaults to `singular` + "s"; pass both for a verb ("unit now has", "units now
    have")."""
    words = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{number(n)} {words}"
