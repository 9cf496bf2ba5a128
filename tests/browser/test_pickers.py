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
