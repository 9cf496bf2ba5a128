"""Small fragments rendered in Python: they appear on every row of the long lists, where an
{% include %} per cell cost more than the database did."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from portfolio import text

register = template.Library()

_NO_OWNER_TITLE = "Nobody is accountable for this unit until a leader names an owner."


@register.simple_tag
def stage_badge(stage: str, label: str) -> str:
    return format_html('<span class="badge stage stage-{}">{}</span>', stage, label)


@register.simple_tag
def owner_cell(unit) -> str:
    """The unit's owner, linked, and a warning when nobody is accountable for it."""
    owner = unit.owner if unit is not None else None
    link = format_html('<a href="{}">{}</a>', owner.get_absolute_url(), owner.name) if owner else ""
    if owner is not None and owner.is_accountable:
        return link
    if owner is None:
        why = "No accountable owner"
    elif not owner.active:
        why = "No accountable owner: left"
    else:
        why = "No accountable owner: login disabled"
    return format_html(
        '{} <span class="warning-tag" title="{}">{}</span>', link, _NO_OWNER_TITLE, why
    )


@register.filter(name="number")
def number_filter(value, places=None) -> str:
    """{{ n|number }} -> "5,100"; {{ x|number:1 }} -> "5,100.5"."""
    return text.number(value, None if places in (None, "") else int(places))


@register.filter(name="money")
def money_filter(value) -> str:
    """{{ amount|money }} -> "100,000.00"."""
    return text.money(value)


@register.filter(name="counted")
def counted_filter(value, words: str) -> str:
    """{{ n|counted:"unit,units" }} -> "1 unit" / "2 units" (also "unit has,units have")."""
    singular, _, plural = words.partition(",")
    try:
        n = int(value)
    except (TypeError, ValueError):
        return f"{value} {plural or singular}"
    return text.counted(n, singular, plural or None)
