"""Opening a page for a check that reads the whole of it, without networkidle's half second."""

from __future__ import annotations

from playwright.sync_api import Page

# Parts a page loads after itself (hx-trigger="load": the dashboard's funding panel, a unit's
# funding panel) replace their placeholder when they arrive.
PLACEHOLDERS_GONE = "() => !document.querySelector('[hx-trigger=\"load\"]')"


def open_page(page: Page, path: str) -> None:
    """Go to `path` (200 expected) and wait until the parts htmx loads on "load" are in."""
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response}"
    page.wait_for_function(PLACEHOLDERS_GONE)
