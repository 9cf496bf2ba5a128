"""An owner's journey from My work, on a phone (390 px) and on a desktop (1,400 px): open a red
metric, move a backlog item, ask for money, and find the request on My work.

Every page of the journey must fit the screen (no sideways scrolling of the page itself) and
every control the owner uses must be visible and inside the viewport when it is used.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from backlog import services as backlog
from backlog.models import BacklogItem
from funding import services as funding
from funding.models import InvestmentRequest, RequestStatus
from metrics import services as metrics
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
PURPOSE = "Automate the payslip reconciliation"


def stored_order(unit_id) -> list[str]:
    return list(
        BacklogItem.objects.filter(unit_id=unit_id).order_by("rank").values_list("title", flat=True)
    )


def assert_fits(page: Page, where: str) -> None:
    """The page itself never scrolls sideways (wide tables scroll inside their wrapper)."""
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{where}: the page is {scroll} px wide on a {inner} px screen"


def reachable(page: Page, control: Locator) -> Locator:
    """The control is visible and wholly inside the viewport's width, as the page opens (not
    only after a table scrolled sideways to it), and still once scrolled to."""
    expect(control).to_be_visible()
    inner = page.evaluate("() => window.innerWidth")
    for moment in ("as shown", "scrolled to"):
        if moment == "scrolled to":
            control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= inner, (
            f"{control} ({moment}) is at x={box['x']:.0f}..{box['x'] + box['width']:.0f}, "
            f"outside the {inner} px viewport"
        )
    return control


def use(page: Page, control: Locator) -> None:
    reachable(page, control).click()


def go_by_menu(page: Page, name: str, *, collapsed: bool) -> None:
    """Follow a link of the main navigation; on a phone it hides behind "Menu" until opened."""
    nav = page.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name=name, exact=True)
    if collapsed:
        expect(link).to_be_hidden()
        use(page, nav.locator("summary.nav-toggle"))
    else:
        expect(nav.locator("summary.nav-toggle")).to_be_hidden()
    with page.expect_navigation():
        use(page, link)


def wait_for_panels(page: Page) -> None:
    """Parts htmx loads after the page (the unit's funding panel) have replaced their slot."""
    page.wait_for_function("() => !document.querySelector('[hx-trigger=\"load\"]')")


@pytest.fixture
def owner_with_work(transactional_db):
    """Olivia owns Payroll: a red and a green metric, three backlog items, and an improvement
    allocation for this year under the governance threshold's 100,000."""
    olivia = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    payroll = ProductFactory(name="Payroll", slug="payroll", owner=olivia)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    # higher is better, red below 99
    red = MetricFactory(product=payroll, name="Payslip accuracy", key="payslip-accuracy")
    green = MetricFactory(product=payroll, name="Uptime", key="uptime")
    metrics.reading_record(actor=olivia.user, metric=red, time=now, value="97.5")
    metrics.reading_record(actor=olivia.user, metric=green, time=now, value="99.95")
    for title in ("First", "Second", "Third"):
        backlog.backlog_item_create(actor=olivia.user, product=payroll, title=title)
    funding.allocation_set(
        actor=UserFactory(username="lena", leader=True),
        unit=payroll.unit,
        fiscal_year=funding.current_fiscal_year(),
        operations_amount="200000",
        improvement_amount="50000",
    )
    return olivia, payroll, red


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone-390", "desktop-1400"])
def test_owner_journey_from_my_work(page: Page, live_server, owner_with_work, viewport):
    olivia, payroll, red = owner_with_work
    third = BacklogItem.objects.get(title="Third")
    page.set_viewport_size(viewport)
    phone = viewport == PHONE

    # Olivia signs in from the front door and lands on My work
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert_fits(page, "sign-in")
    reachable(page, page.get_by_label("Username")).fill("olivia")
    reachable(page, page.get_by_label("Password")).fill("pass-word-123")
    use(page, page.get_by_role("button", name="Sign in"))
    expect(page).to_have_url(re.compile(r"/my-work/$"))
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    assert_fits(page, "My work")

    # the red metric is among the metrics needing attention, the green one is not
    attention = page.locator("#my-metrics")
    expect(attention.locator("tbody tr")).to_have_count(1)
    expect(attention.locator("tbody tr")).to_contain_text("Payslip accuracy")
    expect(attention.locator("tbody tr .badge")).to_contain_text("Red")

    # she opens it: the metric page shows its red status and the latest value
    use(page, attention.get_by_role("link", name="Payslip accuracy"))
    expect(page.get_by_role("heading", name="Payslip accuracy", level=1)).to_be_visible()
    status = page.locator(".metric-status")
    expect(status.locator(".badge")).to_contain_text("Red")
    expect(status).to_contain_text("97.5")
    assert_fits(page, "metric page")

    # back to My work through the main menu, then to the unit's backlog
    go_by_menu(page, "My work", collapsed=phone)
    expect(page).to_have_url(re.compile(r"/my-work/$"))
    assert_fits(page, "My work (again)")
    use(
        page, page.locator("#my-units").get_by_role("link", name=re.compile(r"^Backlog \(3 open\)"))
    )
    expect(page.get_by_role("heading", name="Backlog", level=1)).to_be_visible()
    assert_fits(page, "backlog")
    rows = page.locator("#backlog-list tbody tr[data-item]")
    expect(rows.locator("td.title")).to_contain_text(["First", "Second", "Third"])

    # she moves Third to the top with its order button
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST") as moved:
        use(page, page.get_by_role("button", name="Move Third to the top"))
    assert moved.value.status == 200
    expect(rows.locator("td.title")).to_contain_text(["Third", "First", "Second"])
    expect(rows.locator("td.pos")).to_have_text(["1", "2", "3"])
    assert stored_order(payroll.unit_id) == ["Third", "First", "Second"]
    # the keyboard focus stayed on an order button of the moved item, now the first row
    focused = page.locator(":focus")
    expect(focused).to_have_id(re.compile(rf"^move-{third.pk}-(top|up|down|bottom)$"))
    expect(rows.first.locator(":focus")).to_have_count(1)
    assert_fits(page, "backlog after the move")

    # she asks for money: My work, the unit's page, its funding panel
    go_by_menu(page, "My work", collapsed=phone)
    use(page, page.locator("#my-units").get_by_role("link", name="Payroll", exact=True))
    expect(page.get_by_role("heading", name="Payroll", level=1)).to_be_visible()
    wait_for_panels(page)
    panel = page.locator(f"#funding-panel-{payroll.unit_id}")
    use(page, panel.get_by_text("Request investment", exact=True))
    form = panel.locator("form").filter(has=page.get_by_role("button", name="Submit"))
    expect(form.get_by_role("combobox", name=re.compile(r"^Component"))).to_have_value(
        str(payroll.pk)
    )
    reachable(page, form.get_by_label("Amount")).fill("12,500")
    reachable(page, form.get_by_label("Purpose")).fill(PURPOSE)
    reachable(page, form.get_by_label("Metric it should move")).select_option(
        label="Payslip accuracy (Payroll)"
    )
    assert_fits(page, "product page with the request form")
    with page.expect_response(lambda r: r.url.endswith("/request/") and r.status == 200):
        use(page, form.get_by_role("button", name="Submit"))
    outcome = panel.locator(".notice")
    expect(outcome).to_contain_text("Approved by the rules: 12,500.00 EUR.")
    assert_fits(page, "funding panel after the request")

    # the request is stored as she typed it, approved by the rules
    asked = InvestmentRequest.objects.get(unit=payroll.unit)
    assert asked.amount == Decimal("12500.00")
    assert asked.purpose == PURPOSE
    assert asked.metric_id == red.pk
    assert asked.status == RequestStatus.APPROVED and asked.auto_approved
    assert asked.requested_by == olivia.user

    # and My work lists it with its state
    go_by_menu(page, "My work", collapsed=phone)
    requests = page.locator("#my-requests tbody tr")
    expect(requests).to_have_count(1)
    expect(requests).to_contain_text(f"Payroll: {PURPOSE}")
    expect(requests.locator("td.num")).to_have_text("12,500.00")
    expect(requests).to_contain_text("Approved")
    assert_fits(page, "My work with the request")
