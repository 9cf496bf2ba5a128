"""Metric fragments: the health badge every page shows the same way, sparklines, the product
page's metrics panel, and the one-sentence reason for a status."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from metrics import charts
from metrics.models import INTERVAL_CHOICES, Better, Status
from metrics.panels import panel_context
from metrics.status import is_worse, status_from_severity

register = template.Library()

# Text and a symbol carry the status; the colour only repeats it.
_BADGE = {
    Status.GREEN: ("✓", "The latest reading meets its target or stays inside the warning line."),
    Status.AMBER: ("!", "The latest reading is past the warning line."),
    Status.RED: ("✕", "The latest reading is past the critical line."),
    Status.STALE: ("⏱", "No reading came in for too long; the last value is old news."),
    Status.NO_DATA: ("–", "No reading has come in yet."),
}
_NONE = ("·", "No metrics are defined.")


def as_status(value) -> Status | None:
    """A Status from a status value, a severity rank (from SQL) or None."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return status_from_severity(value)
    return Status(value)


@register.filter
def status_badge(value, none_label: str = "No metrics") -> str:
    """`{{ status|status_badge }}`: a coloured pill with a symbol and the status in words."""
    status = as_status(value)
    if status is None:
        icon, hint = _NONE
        return format_html(
            '<span class="badge health health-none" title="{}"><span aria-hidden="true">{}'
            "</span> {}</span>",
            hint,
            icon,
            none_label,
        )
    icon, hint = _BADGE[status]
    return format_html(
        '<span class="badge health health-{}" title="{}"><span aria-hidden="true">{}</span> {}'
        "</span>",
        status.value,
        hint,
        icon,
        status.label,
    )


def number(value: float | None) -> str:
    """A reading as people write it: 99.95, 350, 0.004 (no exponent, no trailing zeros)."""
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.6g}"
    return f"{value:,.2f}" if "e" in text else text


@register.filter
def with_unit(value: float | None, unit: str = "") -> str:
    text = number(value)
    return f"{text} {unit}" if unit and value is not None else text


@register.filter
def and_join(words) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    words = [str(w) for w in words]
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


_INTERVALS = {td: label.lower() for td, label in INTERVAL_CHOICES}


@register.filter
def interval(value: dt.timedelta) -> str:
    return _INTERVALS.get(value, f"every {value}")


def explain(metric, status: Status | None, stale_multiple: int | None = None) -> str:
    """Why the metric has its status, in one sentence."""
    value = with_unit(metric.last_value, metric.unit)
    worse = "below" if metric.better == Better.HIGHER else "above"
    if status == Status.NO_DATA or status is None:
        return "No reading has come in yet, so there is nothing to judge."
    if status == Status.STALE:
        times = f"{stale_multiple} times " if stale_multiple else ""
        return (
            f"The latest reading ({value}) is from {metric.last_read_at:%-d %b %Y %H:%M}, older "
            f"than {times}the expected interval ({interval(metric.expected_interval)}); "
            f"send a new one."
        )
    if status == Status.RED:
        return f"{value} is {worse} the critical threshold {number(metric.critical)}."
    if status == Status.AMBER:
        if metric.warning is not None:
            return f"{value} is {worse} the warning threshold {number(metric.warning)}."
        return f"{value} misses the target {number(metric.target)}."
    if not is_worse(metric.last_value, metric.target, metric.better):
        return f"{value} meets the target {number(metric.target)}."
    return (
        f"{value} misses the target {number(metric.target)} but stays inside the warning "
        f"threshold {number(metric.warning)}."
    )


@register.simple_tag
def sparkline(points, status=None, label: str = "") -> str:
    status = as_status(status)
    return mark_safe(  # noqa: S308 - charts escape every text they draw
        charts.sparkline(points, status=status.value if status else "no_data", label=label)
    )


@register.inclusion_tag("metrics/_product_metrics.html", takes_context=True)
def product_metrics(context, product, can_edit: bool) -> dict:
    """The metrics panel of a product page (three queries: metrics, settings, sparklines)."""
    panel = panel_context(product, can_edit=can_edit)
    panel["csrf_token"] = context.get("csrf_token")
    panel["request"] = context.get("request")
    return panel
