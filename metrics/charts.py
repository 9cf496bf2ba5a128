"""Trend charts drawn on the server as SVG strings.

The same markup goes into the browser, into HTML review packets and into PDFs, so colours
are presentation attributes (no stylesheet needed) and every text is escaped. Input is the
bucketed series from metrics.selectors; a chart never sees raw readings.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from metrics.selectors import Bucket

COLOURS = {
    "green": "#2e7d32",
    "amber": "#b26a00",
    "red": "#c62828",
    "stale": "#6d6d6d",
    "no_data": "#9e9e9e",
    "line": "#1f5fa8",
    "band": "#1f5fa8",
    "grid": "#d9dde3",
    "text": "#444",
}


def _fmt(value: float) -> str:
    """A compact label: 99.95, 1.2k, 3.4M."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.4g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while value <= high + step * 0.5 and len(ticks) < 20:
        ticks.append(round(value, 10))
        value += step
    return ticks


def sparkline(
    points: Sequence[tuple[dt.datetime, float]],
    *,
    status: str = "no_data",
    width: int = 120,
    height: int = 28,
    label: str = "",
) -> str:
    """A small line of recent values, coloured by status; a dash when there is nothing."""
    colour = COLOURS.get(status, COLOURS["line"])
    title = escape(label or "Trend")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
    )
    if not points:
        mid = height / 2
        return (
            f'{head}<line x1="4" y1="{mid}" x2="{width - 4}" y2="{mid}" '
            f'stroke="{COLOURS["grid"]}" stroke-dasharray="3 3"/></svg>'
        )
    values = [v for _t, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    t0 = points[0][0].timestamp()
    t_span = (points[-1][0].timestamp() - t0) or 1.0
    pad = 2
    coords = [
        (
            pad + (t.timestamp() - t0) / t_span * (width - 2 * pad),
            height - pad - (v - low) / span * (height - 2 * pad),
        )
        for t, v in points
    ]
    if len(coords) == 1:
        coords = [(pad, coords[0][1]), (width - pad, coords[0][1])]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    last_x, last_y = coords[-1]
    return (
        f'{head}<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5" '
        f'stroke-linejoin="round"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" '
        f'fill="{colour}"/></svg>'
    )


def trend_chart(
    buckets: Sequence[Bucket],
    *,
    start: dt.datetime,
    end: dt.datetime,
    width_step: dt.timedelta,
    unit: str,
    target: float | None,
    expected_interval: dt.timedelta | None = None,
    warning: float | None = None,
    critical: float | None = None,
    title: str = "",
    width: int = 720,
    height: int = 280,
    compact: bool = False,
) -> str:
    """The full chart: bucket averages as a line, the min-max of each bucket as a band, and
    the target and thresholds as labelled dashed lines. A gap longer than twice the bucket
    width or the metric's expected interval breaks the line.

    `compact` (printed packets, many charts to a page) drops the band and keeps three value
    ticks and three dates: less to draw, the same reading."""
    left, right, top, bottom = 56, 92, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    label = escape(title or "Trend")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" width="100%" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{label}</title>",
    ]
    lines = [
        (name, value)
        for name, value in (("target", target), ("warning", warning), ("critical", critical))
        if value is not None
    ]
    values = [b.low for b in buckets] + [b.high for b in buckets] + [v for _n, v in lines]
    if not values:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}">No readings in this range.</text></svg>'
        )
        return "".join(parts)
    ticks = nice_ticks(min(values), max(values), 3 if compact else 5)
    y_low, y_high = ticks[0], ticks[-1]
    y_span = (y_high - y_low) or 1.0
    t0, t1 = start.timestamp(), end.timestamp()
    t_span = (t1 - t0) or 1.0

    def x(moment: dt.datetime) -> float:
        return left + (moment.timestamp() - t0) / t_span * plot_w

    def y(value: float) -> float:
        return top + plot_h - (value - y_low) / y_span * plot_h

    for tick in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'fill="{COLOURS["text"]}">{escape(_fmt(tick))}</text>'
        )
    parts.append(_time_axis(start, end, x, top + plot_h, labels=3 if compact else None))
    half = width_step / 2
    max_gap = max(width_step, expected_interval or width_step) * 2
    segments: list[list[Bucket]] = []
    for bucket in buckets:
        if segments and bucket.start - segments[-1][-1].start <= max_gap:
            segments[-1].append(bucket)
        else:
            segments.append([bucket])
    for segment in segments:
        # Each bucket's x once (its middle), written as x() writes it; y() inlined, same
        # arithmetic: a year's chart draws a few hundred points three times each.
        xs = [f"{x(b.start + half):.1f}" for b in segment]
        base = top + plot_h
        if not compact and len(segment) > 1 and any(b.high != b.low for b in segment):
            highs = [f"{base - (b.high - y_low) / y_span * plot_h:.1f}" for b in segment]
            lows = [f"{base - (b.low - y_low) / y_span * plot_h:.1f}" for b in segment]
            upper = " ".join(f"{px},{py}" for px, py in zip(xs, highs, strict=True))
            lower = " ".join(f"{px},{py}" for px, py in zip(xs[::-1], lows[::-1], strict=True))
            parts.append(
                f'<polygon points="{upper} {lower}" fill="{COLOURS["band"]}" '
                f'fill-opacity="0.12" stroke="none"/>'
            )
        avgs = [f"{base - (b.avg - y_low) / y_span * plot_h:.1f}" for b in segment]
        coords = " ".join(f"{px},{py}" for px, py in zip(xs, avgs, strict=True))
        if len(segment) == 1:
            parts.append(f'<circle cx="{xs[0]}" cy="{avgs[0]}" r="2.5" fill="{COLOURS["line"]}"/>')
        else:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{COLOURS["line"]}" '
                f'stroke-width="1.8" stroke-linejoin="round"/>'
            )
    colours = {"target": COLOURS["green"], "warning": COLOURS["amber"], "critical": COLOURS["red"]}
    for name, value in lines:
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" '
            f'stroke="{colours[name]}" stroke-width="1.2" stroke-dasharray="6 4"/>'
            f'<text x="{left + plot_w + 6}" y="{y(value) + 4:.1f}" fill="{colours[name]}">'
            f"{name} {escape(_fmt(value))}</text>"
        )
    if not buckets:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}">No readings in this range.</text>'
        )
    parts.append(
        f'<text x="{left}" y="{top - 2}" fill="{COLOURS["text"]}">{escape(unit)}</text></svg>'
    )
    return "".join(parts)


def _time_axis(
    start: dt.datetime, end: dt.datetime, x, baseline: float, labels: int | None = None
) -> str:
    span = end - start
    if labels:
        fmt = "%d %b" if span <= dt.timedelta(days=200) else "%b %Y"
        moments = [start + span * i / (labels - 1) for i in range(labels)]
        anchors = ["start"] + ["middle"] * (labels - 2) + ["end"]
        return "".join(
            f'<text x="{x(m):.1f}" y="{baseline + 16:.1f}" text-anchor="{a}" '
            f'fill="{COLOURS["text"]}">{m.strftime(fmt)}</text>'
            for m, a in zip(moments, anchors, strict=True)
        )
    if span <= dt.timedelta(days=2):
        step, fmt = dt.timedelta(hours=6), "%H:%M"
    elif span <= dt.timedelta(days=45):
        step, fmt = dt.timedelta(days=7), "%d %b"
    elif span <= dt.timedelta(days=120):
        step, fmt = dt.timedelta(days=14), "%d %b"
    else:
        step, fmt = dt.timedelta(days=61), "%b %Y"
    parts = []
    tick = start
    while tick <= end:
        parts.append(
            f'<text x="{x(tick):.1f}" y="{baseline + 16:.1f}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}">{tick.strftime(fmt)}</text>'
        )
        tick += step
    return "".join(parts)
