"""Long pickers: a search box narrows a select as you type; the funding request's metric list
follows the chosen component."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser


def sign_in(page: Page, url: str, username: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()


def shown(page: Page, select: str) -> list[str]:
    return page.eval_on_selector(
        select,
        "s => Array.from(s.options).filter(o => !o.hidden && o.value).map(o => o.text.trim())",
    )


def test_the_owner_picker_narrows_as_you_type(page: Page, live_server, transactional_db):
    # given a leader, a product and a few people who could own it
    UserFactory(username="lena", leader=True)
    for name in ("Ada Lovelace", "Adam Smith", "Grace Hopper", "Linus Torvalds"):
        PersonFactory(name=name)
    product = ProductFactory(name="Payroll", slug="payroll", owner=None)

    # when the leader edits the product and types into the owner's search box
    sign_in(page, f"{live_server.url}/products/{product.slug}/edit/", "lena")
    search = page.get_by_label("Search owner")
    expect(search).to_be_visible()
    search.fill("ada")

    # then only the matching people are offered, and choosing one still works
    assert shown(page, "select[name=owner]") == ["Ada Lovelace", "Adam Smith"]
    expect(page.locator(".select-search-status").first).to_have_text("2 of 4 shown")
    search.fill("")
    assert len(shown(page, "select[name=owner]")) == 4


def test_the_metric_list_follows_the_component(page: Page, live_server, transactional_db):
    # given Olivia's cluster of Payroll and Payslips, each with a metric
    olivia = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    cluster = ClusterFactory(name="HR", slug="hr", owner=olivia)
    payroll = ProductFactory(name="Payroll", slug="payroll", cluster=cluster)
    payslips = ProductFactory(name="Payslips", slug="payslips", cluster=cluster)
    MetricFactory(product=payroll, key="uptime", name="Payroll uptime")
    MetricFactory(product=payslips, key="errors", name="Payslip errors")

    # when she opens the funding panel's request form and picks Payslips
    sign_in(
        page,
        f"{live_server.url}/funding/units/{cluster.unit.pk}/?year={dt.date.today().year}",
        "olivia",
    )
    page.get_by_text("Request investment").click()
    page.locator("#request_product").select_option(label="Payslips")

    # then the metric list offers Payslips' metric only
    assert shown(page, "#request_metric") == ["Payslip errors (Payslips)"]
    page.locator("#request_product").select_option(label="Payroll")
    assert shown(page, "#request_metric") == ["Payroll uptime (Payroll)"]


def test_a_big_clusters_component_is_found_by_the_lookup(page: Page, live_server, transactional_db):
    # given Olivia's cluster of 62 components, more than the page lists
    olivia = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    cluster = ClusterFactory(name="HR", slug="hr", owner=olivia)
    for i in range(62):
        ProductFactory(name=f"Part {i:02d}", slug=f"part-{i:02d}", cluster=cluster, owner=olivia)

    # when she opens its backlog on a phone and types into the create form's search box
    sign_in(page, f"{live_server.url}/units/{cluster.unit.pk}/backlog/", "olivia")
    page.set_viewport_size({"width": 390, "height": 844})
    assert len(shown(page, "#new_product")) == 50
    search = page.locator("#new_product-search")
    expect(search).to_be_visible()
    search.press_sequentially("part 6")

    # then the select holds the matches the page did not list, and the keyboard chooses one
    # (the option chosen before the search stays, first)
    expect(page.locator("#new_product option")).to_have_count(3)
    assert shown(page, "#new_product") == ["Part 00", "Part 60", "Part 61"]
    expect(page.locator(".select-search-status").first).to_have_text("2 of 62 shown")
    page.locator("#new_product").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#new_product")).to_have_js_property("selectedIndex", 2)
    page.locator("#new_title").fill("Found it")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("#backlog-list")).to_contain_text("Found it")
    expect(page.locator("#backlog-list")).to_contain_text("Part 61")
    # the filter's search box did not reload the list while typing; the filter still has "Any"
    assert page.locator("#filter_product option").first.inner_text() == "Any"
