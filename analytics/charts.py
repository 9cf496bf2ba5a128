"""Small server-drawn SVG charts for the analytics pages (no script, no stylesheet needed)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

LINE = "#b3261e"
GRID = "#d9dde3"
TEXT = "#444"


def count_line(
    points: Sequence[tuple[str, int]], *, width: int = 320, height: int = 90, title: str = ""
) -> str:
    """A line of whole counts over time (oldest first), each point titled with its label."""
    if not points:
        return ""
    pad_left, pad_right, pad_top, pad_bottom = 24, 8, 8, 18
    top = max(max(n for _, n in points), 1)
    inner_w = width - pad_left - pad_right
    inner_h = height - pad_top - pad_bottom
    step = inner_w / (len(points) - 1) if len(points) > 1 else 0

    def x(i: int) -> float:
        return pad_left + (i * step if len(points) > 1 else inner_w / 2)

    def y(n: int) -> float:
        return pad_top + inner_h - inner_h * n / top

    coords = [(x(i), y(n)) for i, (_, n) in enumerate(points)]
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}" for i, (cx, cy) in enumerate(coords)
    )
    dots = "".join(
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{LINE}">'
        f"<title>{escape(label)}: {n}</title></circle>"
        for (cx, cy), (label, n) in zip(coords, points, strict=True)
    )
    base = pad_top + inner_h
    return (
        f'<svg class="count-line" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{pad_left}" y1="{base}" x2="{width - pad_right}" y2="{base}" '
        f'stroke="{GRID}"/>'
        f'<line x1="{pad_left}" y1="{pad_top}" x2="{width - pad_right}" y2="{pad_top}" '
        f'stroke="{GRID}" stroke-dasharray="3 3"/>'
        f'<text x="{pad_left - 4}" y="{pad_top + 4}" text-anchor="end" font-size="10" '
        f'fill="{TEXT}">{top}</text>'
        f'<text x="{pad_left - 4}" y="{base + 3}" text-anchor="end" font-size="10" '
        f'fill="{TEXT}">0</text>'
        f'<text x="{pad_left}" y="{height - 4}" font-size="10" fill="{TEXT}">'
        f"{escape(points[0][0])}</text>"
        f'<text x="{width - pad_right}" y="{height - 4}" text-anchor="end" font-size="10" '
        f'fill="{TEXT}">{escape(points[-1][0])}</text>'
        f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>{dots}</svg>'
    )
