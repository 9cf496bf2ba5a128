"""The funding chart, drawn on the server as SVG (no script): one stacked bar per row."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

TEXT = "#444"
GRID = "#d9dde3"
# Operations, improvement already committed, improvement still free.
SEGMENT_COLOURS = ("#7b8aa0", "#2f6fb0", "#9cc3e8")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[Decimal]]],
    *,
    segments: Sequence[str],
    currency: str,
    title: str,
    width: int = 560,
    bar: int = 22,
) -> str:
    """Horizontal bars, one per (label, [segment amounts]), on one shared scale.

    The amounts are exact decimals; only the geometry is rounded. Each segment carries a
    <title> with its exact amount, so a pointer (or a screen reader) reads the number.
    """
    if not rows:
        return ""
    label_w, pad, legend_h = 110, 8, 22
    inner_w = width - label_w - pad * 2 - 90
    top = max((sum(values, Decimal(0)) for _, values in rows), default=Decimal(0))
    scale = float(top) if top > 0 else 1.0
    height = legend_h + len(rows) * (bar + pad) + pad
    parts = [
        f'<svg class="funding-chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    x: float = label_w
    for name, colour in zip(segments, SEGMENT_COLOURS, strict=False):
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="13" font-size="11" fill="{TEXT}">{escape(name)}</text>'
        )
        x += 14 + 7 * len(name) + 18
    for i, (label, values) in enumerate(rows):
        y = legend_h + i * (bar + pad)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}">{escape(label)}</text>'
            f'<line x1="{label_w}" y1="{y}" x2="{label_w}" y2="{y + bar}" stroke="{GRID}"/>'
        )
        x = float(label_w)
        for name, value, colour in zip(segments, values, SEGMENT_COLOURS, strict=False):
            w = inner_w * float(value) / scale
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                    f"<title>{escape(label)}, {escape(name)}: {_money(value)} "
                    f"{escape(currency)}</title></rect>"
                )
            x += w
        total = sum(values, Decimal(0))
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + bar * 0.7:.1f}" font-size="11" fill="{TEXT}">'
            f"{_money(total)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
