"""The Content-Security-Policy allows no inline script and no inline style, so none may be
written: this scans every template and our JavaScript for what the browser would block.

A new behaviour belongs in a static file (static/js/), loaded with <script src=... defer>, and
hooked to the markup by a data- attribute; a new look belongs in static/css/app.css. A width
or a colour that depends on the data is an SVG attribute (the dashboard's bars) or a class.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
OUR_JS = ROOT / "static" / "js"

# The one exception: a frozen review packet is a self-contained document (also printed to PDF)
# served under its own policy (reviews.views.packet_detail), which allows its inline <style>.
STYLE_ALLOWED = {"reviews/packet.html"}

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
HX_ON = re.compile(r"\bhx-on(?::|-|\b)", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
EVAL = re.compile(
    r"\beval\s*\(|\bnew\s+Function\s*\(|\bsetTimeout\s*\(\s*[\"']|\.innerHTML\s*=\s*[^\"';]*<script"
)


TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def _name(path: Path) -> str:
    return path.relative_to(TEMPLATES).as_posix()


def _hits(pattern: re.Pattern[str], text: str) -> list[str]:
    return [text[max(0, m.start() - 20) : m.end() + 40] for m in pattern.finditer(text)]


def test_the_scan_finds_templates_and_scripts():
    assert len(_templates()) > 30
    assert (OUR_JS / "app.js").exists() and (OUR_JS / "backlog.js").exists()


@pytest.mark.parametrize("path", _templates(), ids=_name)
def test_a_template_comment_fits_on_one_line(path: Path):
    # Django's {# #} comment ends at the line's end: one spread over two lines is shown on the
    # page as text. Longer notes go in {% comment %}.
    lines = path.read_text().splitlines()
    unclosed = [n for n, line in enumerate(lines, 1) if line.count("{#") > line.count("#}")]
    assert not unclosed, f"{_name(path)}: a {{# comment runs past the end of line {unclosed}"


@pytest.mark.parametrize("path", _templates(), ids=_name)
def test_a_template_has_no_inline_script_handler_or_style(path: Path):
    text = TEMPLATE_COMMENT.sub("", path.read_text())  # what a comment says is not served
    found = {
        "inline <script>": _hits(INLINE_SCRIPT, text),
        "on...= handler": _hits(EVENT_HANDLER, text),
        "hx-on attribute (needs eval)": _hits(HX_ON, text),
        "javascript: URL": _hits(JS_URL, text),
    }
    if _name(path) not in STYLE_ALLOWED:
        found["<style> element"] = _hits(STYLE_ELEMENT, text)
        found["style= attribute"] = _hits(STYLE_ATTRIBUTE, text)
    found = {what: hits for what, hits in found.items() if hits}
    assert not found, f"{_name(path)}: the CSP would block {found}"


@pytest.mark.parametrize("path", sorted(OUR_JS.rglob("*.js")), ids=lambda p: p.name)
def test_our_javascript_evaluates_no_strings(path: Path):
    text = path.read_text()

    assert not _hits(EVAL, text), f"{path.name} evaluates a string; the CSP forbids it"
    assert not _hits(JS_URL, text)
    assert not _hits(re.compile(r"setAttribute\(\s*[\"']on|setAttribute\(\s*[\"']style"), text)


def test_htmx_is_told_not_to_need_eval_or_inline_styles():
    for name in ("base.html", "reviews/meeting.html"):
        text = (TEMPLATES / name).read_text()
        assert '"includeIndicatorStyles": false' in text, name
        assert '"allowEval": false' in text, name
        assert '"allowScriptTags": false' in text, name


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<a href="#" onclick="go()">',
        '<button hx-on:click="x()">',
        '<a href="javascript:void(0)">',
        '<span style="width: 3%">',
        "<style>p{}</style>",
    ],
)
def test_the_scan_catches_what_it_should(snippet: str):
    patterns = (INLINE_SCRIPT, EVENT_HANDLER, HX_ON, JS_URL, STYLE_ELEMENT, STYLE_ATTRIBUTE)
    assert any(p.search(snippet) for p in patterns)


def test_the_scan_leaves_a_script_file_alone():
    assert not INLINE_SCRIPT.search('<script src="/static/js/app.js" defer></script>')
    assert not EVENT_HANDLER.search('<a href="/x" data-close-modal hx-confirm="Sure?">')
