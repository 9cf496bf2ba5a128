"""The pages on a phone (390 x 844) and the dashboard on a wide screen (1,400 px), in Debian's
chromium: no page is wider than the screen for any role, the navigation collapses behind
"Menu" and "Log out" is reachable, and no dashboard panel cuts off a column.

The portfolio is the demo's (demo.builder.build, about ten seconds, as in test_csp): it has
every kind of page with real content (analytics snapshot, backlogs, metrics with readings, a
review cycle with packets, funding). One browser for the module; one context per role, signed
in once.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backlog.models import BacklogItem
from demo.builder import build
from demo.catalogue import demo_password
from tests.browser.test_csp import Watch, main_pages, visit
from tests.browser.wait import open_page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1400, "height": 1000}

# The elements whose right edge is past the window's, outermost first, leaving out those inside
# a container that scrolls or clips them (a .table-scroll wrapper): they do not widen the page.
OFFENDERS = """
() => {
  const limit = window.innerWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      parts.unshift(name(e));
    }
    return parts.join(" > ");
  };
  const wide = [...document.body.querySelectorAll("*")].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > limit + 1 && el.checkVisibility({visibilityProperty: true});
  });
  const outside = wide.filter((el) => !scrolls(el));
  const shown = (outside.length ? outside : wide).filter((el) => !wide.includes(el.parentElement));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: limit,
    widest: shown.slice(0, 5).map(
      (el) => `${path(el)} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`),
  };
}
"""

# For each dashboard panel: its own width and that of every table (and table wrapper) in it.
PANELS = """
() => [...document.querySelectorAll(".dash-panel")].flatMap((panel) =>
  [panel, ...panel.querySelectorAll("table, .table-scroll")].map((el) => ({
    panel: panel.id,
    element: el === panel ? "the panel" : [el.tagName.toLowerCase(), ...el.classList].join("."),
    scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
  })))
"""


def every_page() -> tuple[list[str], list[str]]:
    """The main pages every login reads (test_csp's list, with the pages that list leaves out),
    and the leader's with the leader-only pages added."""
    item = BacklogItem.objects.order_by("unit_id", "rank").first()
    assert item, "the demo portfolio has backlog items"
    pages = [*main_pages(), "/landscape/", f"/backlog/items/{item.pk}/"]
    leader = [
        *pages,
        "/products/new/",
        "/people/new/",
        "/settings/lockouts/",
        "/settings/webhooks/",
        "/import/",
    ]
    return pages, leader


def sign_in(page: Page, username: str) -> None:
    """Sign in on the sign-in page; each role lands on its own home page."""
    open_page(page, "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def signed_in(browser: Browser, base: str, username: str | None, viewport: dict) -> Page:
    context: BrowserContext = browser.new_context(base_url=base, viewport=viewport)
    page = context.new_page()
    if username:
        sign_in(page, username)
    return page


def too_wide(page: Page, path: str) -> str | None:
    """None if the page fits the window, else what sticks out."""
    open_page(page, path)
    found = page.evaluate(OFFENDERS)
    if found["scrollWidth"] <= found["innerWidth"]:
        return None
    widest = "; ".join(found["widest"]) or "no element found"
    return (
        f"{path} is {found['scrollWidth']} px wide in a {found['innerWidth']} px window: {widest}"
    )


def test_every_main_page_fits_a_phone_for_every_role(
    browser: Browser, live_server, transactional_db
):
    # given the demo portfolio
    build(pdfs=False)
    pages, leader_pages = every_page()

    # when each role reads its pages on a 390 px wide phone (anonymous visitors: sign-in pages)
    problems = []
    for username, paths in [
        (None, ["/accounts/login/", "/accounts/password/reset/"]),
        ("viewer", pages),
        ("owner", pages),
        ("leader", leader_pages),
    ]:
        page = signed_in(browser, live_server.url, username, PHONE)
        for path in paths:
            problem = too_wide(page, path)
            if problem:
                problems.append(f"{username or 'anonymous'}: {problem}")
        page.context.close()

    # then no page is wider than the screen
    assert not problems, "\n".join(problems)


def test_navigation_collapses_on_a_phone_and_the_dashboard_clips_nothing_when_wide(
    browser: Browser, live_server, transactional_db
):
    # given the demo portfolio and the leader on a phone
    build(pdfs=False)
    page = signed_in(browser, live_server.url, "leader", PHONE)
    log_out = page.get_by_role("button", name="Log out")
    products = page.get_by_role("navigation", name="Main").get_by_role("link", name="Products")

    # then the links are behind "Menu"
    menu = page.locator("summary.nav-toggle")
    expect(menu).to_be_visible()
    expect(products).to_be_hidden()
    expect(log_out).to_be_hidden()

    # when she opens the menu, the links and "Log out" are on the screen and can be used
    menu.click()
    expect(products).to_be_visible()
    log_out.scroll_into_view_if_needed()
    expect(log_out).to_be_visible()
    box = log_out.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 44, "the log-out button is a touch target"
    products.click()
    expect(page.get_by_role("heading", name="Products", level=1)).to_be_visible()

    # when she reads the dashboard on a 1,400 px screen
    wide = signed_in(browser, live_server.url, "leader", WIDE)
    visit(wide, Watch(), "/dashboard/")

    # then the navigation is one row with no "Menu", and the links show without a click
    expect(wide.locator("summary.nav-toggle")).to_be_hidden()
    expect(
        wide.get_by_role("navigation", name="Main").get_by_role("link", name="Funding")
    ).to_be_visible()

    # and no panel, nor any table in it, is wider than the room it has
    measured = wide.evaluate(PANELS)
    assert {m["panel"] for m in measured} >= {"panel-load", "panel-funding"}
    clipped = [m for m in measured if m["scrollWidth"] > m["clientWidth"]]
    assert not clipped, "\n".join(
        f"{m['panel']}: {m['element']} needs {m['scrollWidth']} px, has {m['clientWidth']}"
        for m in clipped
    )
    assert wide.locator("#panel-load table").count() == 1, "the demo has owners over the ceiling"


def test_skip_link_is_the_first_stop_and_the_icon_is_served(
    browser: Browser, live_server, transactional_db
):
    # given a visitor on a page with no field focused at load
    page = signed_in(browser, live_server.url, None, WIDE)
    visit(page, Watch(), "/accounts/password/reset/")
    page.evaluate("document.activeElement && document.activeElement.blur()")

    # when she presses Tab once, the skip link has the focus and shows
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    # and following it moves to the main content
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # and /favicon.ico ends at the SVG icon the pages link
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert page.locator('link[rel="icon"]').get_attribute("href").endswith("favicon.svg")


def test_a_page_too_wide_is_named_with_what_sticks_out(
    browser: Browser, live_server, transactional_db
):
    # given the sign-in page on a phone, with a wide block added and a wide table in a wrapper
    page = signed_in(browser, live_server.url, None, PHONE)
    open_page(page, "/accounts/login/")
    # (styles set from script: the policy refuses style attributes in markup)
    page.evaluate(
        """() => {
          const main = document.querySelector("main");
          main.insertAdjacentHTML("beforeend", '<div class="table-scroll"><table><tr>'
            + '<td id="wide-cell">x</td></tr></table></div><div id="too-wide">wide</div>');
          document.getElementById("wide-cell").style.minWidth = "900px";
          document.getElementById("too-wide").style.width = "700px";
        }"""
    )

    # when the width check reads it
    found = page.evaluate(OFFENDERS)

    # then the page is too wide, because of the block and not the table that scrolls in its box
    assert found["scrollWidth"] > found["innerWidth"]
    assert found["widest"] and "div#too-wide" in found["widest"][0]
    assert not any("table" in line for line in found["widest"])
