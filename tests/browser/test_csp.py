"""The main pages under the Content-Security-Policy, in Debian's chromium: no violation on any
of them, for a leader and an owner, and the behaviour that depends on script still works (an
htmx dialog, a drag-and-drop move with Sortable, the Swagger UI).

The portfolio is the demo's (demo.builder.build, about ten seconds): every page has real data
to show, charts, packets and funding included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from analytics.models import SplitSignal
from backlog.models import BacklogItem
from demo.builder import build
from demo.catalogue import demo_password
from funding.models import InvestmentRequest
from metrics.models import Metric
from products.models import Cluster, Person, Product, Stage, Team
from reviews.models import Packet, PacketStatus
from tests.browser.test_backlog_drag import drag

pytestmark = pytest.mark.browser

# Every frame records what its policy blocked, from before the first script of the page runs.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber} ${e.sample || ""}`);
});
"""


@dataclass
class Watch:
    """What the browser complained about: CSP violations and header errors, page by page."""

    problems: list[str] = field(default_factory=list)
    current: str = ""

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text:
            self.problems.append(f"{self.current}: console: {text}")


def open_browser(browser: Browser, base: str) -> tuple[Page, Watch]:
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 1000})
    context.add_init_script(LISTEN)
    page = context.new_page()
    watch = Watch()
    page.on("console", watch.console)
    return page, watch


def visit(page: Page, watch: Watch, path: str) -> None:
    watch.current = path
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response}"
    page.wait_for_load_state("networkidle")  # htmx panels loaded on "load" are in too
    for frame in page.frames:
        seen = frame.evaluate("window.__csp || []")
        watch.problems.extend(f"{path}: {v}" for v in seen)


def sign_in(page: Page, watch: Watch, username: str) -> None:
    visit(page, watch, "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo_password())
    page.get_by_role("button", name="Sign in").click()
    # Leaders land on the dashboard, owners on My work.
    expect(page).to_have_url(re.compile(r"/(dashboard|my-work)/"))


def main_pages() -> list[str]:
    """The pages every login reads, with a record of each kind from the demo portfolio."""
    metric = Metric.objects.filter(readings__isnull=False).select_related("product").first()
    item = BacklogItem.objects.order_by("unit_id").first()
    packet = Packet.objects.filter(status=PacketStatus.DONE).select_related("review__cycle").first()
    signal = SplitSignal.objects.first()
    request = InvestmentRequest.objects.select_related("product").first()
    assert metric and item and packet and signal and request, "the demo portfolio is incomplete"
    review = packet.review
    return [
        "/dashboard/",
        "/my-work/",
        "/products/",
        metric.product.get_absolute_url(),
        f"/units/{item.unit_id}/backlog/",
        "/metrics/",
        f"/metrics/{metric.pk}/",
        "/clusters/",
        Cluster.objects.first().get_absolute_url(),
        "/people/",
        f"/people/{Person.objects.filter(active=True).first().pk}/",
        "/teams/",
        Team.objects.first().get_absolute_url(),
        "/signals/",
        signal.get_absolute_url(),
        "/analytics/owners/",
        "/reviews/",
        review.cycle.get_absolute_url(),
        review.get_absolute_url(),
        f"/reviews/cycles/{review.cycle_id}/meeting/?review={review.pk}",
        packet.get_absolute_url(),
        "/funding/",
        "/funding/requests/",
        f"/funding/requests/{request.pk}/",
        f"/funding/units/{request.product.unit_id}/",
        "/metrics/upload/",
        "/settings/",
        "/api/v1/docs/",
        "/account/tokens/",
        "/accounts/password/change/",
    ]


def test_no_page_breaks_the_policy_for_a_leader_or_an_owner(
    browser: Browser, live_server, transactional_db
):
    # given the demo portfolio
    build(pdfs=False)
    pages = main_pages()

    # when a leader signs in and reads every main page, the leader's own pages too
    page, watch = open_browser(browser, live_server.url)
    visit(page, watch, "/accounts/password/reset/")  # a page for anyone, before signing in
    sign_in(page, watch, "leader")
    for path in [*pages, "/products/new/", "/people/new/", "/settings/lockouts/"]:
        visit(page, watch, path)

    # and an owner does the same
    owner_page, owner_watch = open_browser(browser, live_server.url)
    sign_in(owner_page, owner_watch, "owner")
    for path in pages:
        visit(owner_page, owner_watch, path)

    # and the superuser opens the admin
    admin_page, admin_watch = open_browser(browser, live_server.url)
    visit(admin_page, admin_watch, "/admin/login/")
    admin_page.get_by_label("Username").fill("admin")
    admin_page.get_by_label("Password").fill(demo_password())
    admin_page.get_by_role("button", name="Log in").click()
    expect(admin_page.locator("#site-name")).to_be_visible()
    for path in ["/admin/", "/admin/products/product/", "/admin/auth/user/"]:
        visit(admin_page, admin_watch, path)

    # then the browser blocked nothing and reported no header error
    problems = watch.problems + owner_watch.problems + admin_watch.problems
    assert not problems, "\n".join(problems)


def test_script_driven_behaviour_works_under_the_policy(
    browser: Browser, live_server, transactional_db
):
    # given the demo portfolio and its owner signed in
    build(pdfs=False)
    page, watch = open_browser(browser, live_server.url)
    sign_in(page, watch, "owner")
    owner = Person.objects.get(user__username="owner")
    product = Product.objects.filter(unit__owner=owner).exclude(lifecycle_stage=Stage.RETIRED)[0]

    # when she opens the lifecycle dialog (htmx) and closes it with Cancel (static/js/app.js)
    visit(page, watch, product.get_absolute_url())
    page.get_by_role("button", name="Move stage").click()
    dialog = page.locator("#modal dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()

    # then the dialog is gone and she is still on the product's page
    expect(dialog).to_have_count(0)
    assert page.url.endswith(product.get_absolute_url())

    # when she drags the last item of a backlog to the top (Sortable, then a fetch)
    unit_id = BacklogItem.objects.filter(unit__owner=owner).values("unit_id").first()["unit_id"]
    visit(page, watch, f"/units/{unit_id}/backlog/")
    rows = page.locator("#backlog-list tbody tr[data-item]")
    last = rows.count() - 1
    assert last >= 1
    moved_title = rows.nth(last).locator("td.title").inner_text()
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST") as moved:
        drag(page, rows.nth(last).locator(".drag-handle"), rows.nth(0).locator(".drag-handle"))

    # then the move is stored and shown
    assert moved.value.status == 200
    expect(rows.nth(0).locator("td.title")).to_have_text(moved_title)

    # when she opens the API docs, Swagger UI lists the operations
    visit(page, watch, "/api/v1/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20

    # and the browser blocked nothing along the way
    assert not watch.problems, "\n".join(watch.problems)
