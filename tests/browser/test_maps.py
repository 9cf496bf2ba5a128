"""The portfolio maps in Debian's chromium: the dependency map's nodes are reached with the
keyboard and name their product, nothing breaks the Content-Security-Policy, and the
landscape prints on one A3 landscape sheet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from products.models import Stage
from tests.browser.test_csp import open_browser, visit
from tests.portfolio.factories import UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser

A3_LANDSCAPE = (1190.55, 841.89)  # points


def test_map_is_keyboard_reachable_and_landscape_prints_on_one_a3_sheet(
    browser: Browser, live_server, transactional_db
):
    # given a product between a dependant and a dependency, each serving a capability
    UserFactory(username="vera")  # a viewer; password: pass-word-123
    payroll = ProductFactory(
        name="Payroll", slug="payroll", business_capabilities="Pay staff", lifecycle_stage="growth"
    )
    ledger = ProductFactory(name="General ledger", business_capabilities="Pay staff\nBook")
    portal = ProductFactory(name="Staff portal", lifecycle_stage=Stage.INTRODUCTION)
    payroll.dependencies.add(ledger)
    portal.dependencies.add(payroll)

    # when a viewer signs in and opens the product page
    page, watch = open_browser(browser, live_server.url)
    visit(page, watch, "/accounts/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/products/$"))  # a viewer's home
    visit(page, watch, "/products/payroll/")

    # then Tab reaches the map's nodes left to right, each a link naming its product, stage
    # and health
    labels = []
    for _ in range(80):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => document.activeElement.closest('svg.dependency-map')"
            " ? document.activeElement.getAttribute('aria-label') : null"
        )
        if label:
            labels.append(label)
        elif labels:
            break
    assert labels == [
        "Staff portal: stage Introduction, health No metrics",
        "Payroll: stage Growth, health No metrics",
        "General ledger: stage Maturity, health No metrics",
    ]
    # and Enter on a node follows its link
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/product-\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("General ledger")

    # when the landscape is opened and printed
    visit(page, watch, "/landscape/")
    expect(page.get_by_role("link", name=re.compile(r"^Payroll: owner"))).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)

    # then it is one A3 landscape sheet, and the browser blocked nothing on either page
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1
    width, height = (float(n) for n in boxes[0])
    assert (round(width), round(height)) == tuple(round(n) for n in A3_LANDSCAPE)
    assert not watch.problems, "\n".join(watch.problems)
    page.context.close()
