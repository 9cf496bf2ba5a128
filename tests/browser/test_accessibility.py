"""axe-core on the main pages of every role, in Debian's chromium: no violation of impact
"serious" or "critical" (colour contrast, labels, landmarks, link and button names, ...).

axe-core is pinned and vendored by scripts/vendor.sh into tests/browser/vendor/axe.min.js; the
pages never load it. Playwright injects it as an inline script, which the Content-Security-
Policy would refuse, so these browser contexts bypass the policy (test_csp.py checks it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from demo.builder import build
from tests.browser.test_csp import Watch, visit
from tests.browser.test_layout import every_page, sign_in
from tests.browser.wait import open_page

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SERIOUS = ("serious", "critical")

RUN_AXE = """
async (impacts) => {
  const results = await axe.run(document, {
    resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
  });
  return results.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map((node) => node.target.join(" ")),
  }));
}
"""


def violations(page: Page, path: str) -> list[str]:
    """The serious and critical violations axe finds on `path`, one line each."""
    open_page(page, path)
    page.add_script_tag(path=AXE)
    found = page.evaluate(RUN_AXE, list(SERIOUS))
    return [
        f"{path}: {v['id']} ({v['impact']}) {v['help']} at {', '.join(v['targets'][:5])}"
        f"{' and more' if len(v['targets']) > 5 else ''} - {v['helpUrl']}"
        for v in found
    ]


def reader(browser: Browser, base: str, username: str | None, width: int = 1280) -> Page:
    context = browser.new_context(
        base_url=base, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    if username:
        sign_in(page, username)
    return page


def test_axe_finds_nothing_serious_on_the_main_pages_of_any_role(
    browser: Browser, live_server, transactional_db
):
    # given the demo portfolio; the API docs are Swagger UI's own markup, left out (its
    # contrast and nested controls are upstream's)
    build(pdfs=False)
    pages, leader_pages = (
        [path for path in paths if path != "/api/v1/docs/"] for paths in every_page()
    )
    # a viewer sees the owner's pages less their forms: the lists and the dashboard suffice
    viewer_pages = [p for p in pages if p.count("/") == 2 and not p.startswith("/metrics/upload")]

    # when axe checks the sign-in pages, then every main page as a viewer, an owner and a leader
    problems = []
    for username, paths in [
        (None, ["/accounts/login/", "/accounts/password/reset/"]),
        ("viewer", viewer_pages),
        ("owner", pages),
        ("leader", leader_pages),
    ]:
        page = reader(browser, live_server.url, username)
        for path in paths:
            problems.extend(f"{username or 'anonymous'}: {line}" for line in violations(page, path))
        page.context.close()

    # and on a phone, with the menu open
    phone = reader(browser, live_server.url, "owner", width=390)
    visit(phone, Watch(), "/dashboard/")
    phone.locator("summary.nav-toggle").click()
    phone.add_script_tag(path=AXE)
    problems.extend(
        f"owner on a phone, menu open: /dashboard/: {v['id']} ({v['impact']}) {v['help']} "
        f"at {', '.join(v['targets'][:5])}"
        for v in phone.evaluate(RUN_AXE, list(SERIOUS))
    )

    # then there is nothing serious or critical
    assert not problems, "\n".join(problems)


def test_axe_reports_what_it_finds(browser: Browser, live_server, transactional_db):
    # given a page made worse on purpose: an image without a text alternative, an empty button
    page = reader(browser, live_server.url, None)
    visit(page, Watch(), "/accounts/login/")
    page.evaluate(
        """() => {
          document.querySelector("main").insertAdjacentHTML(
            "beforeend", '<img src="/static/favicon.svg"><button id="empty"></button>');
        }"""
    )

    # when axe checks it
    page.add_script_tag(path=AXE)
    found = page.evaluate(RUN_AXE, list(SERIOUS))

    # then both problems are named, with the element they are on
    by_rule = {v["id"]: v for v in found}
    assert "image-alt" in by_rule and "button-name" in by_rule, found
    assert by_rule["button-name"]["targets"] == ["#empty"]
