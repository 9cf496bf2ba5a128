import re

import pytest
from playwright.sync_api import Page, expect

from backlog import services
from backlog.models import BacklogItem
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser


def stored_order(unit_id) -> list[str]:
    return list(
        BacklogItem.objects.filter(unit_id=unit_id).order_by("rank").values_list("title", flat=True)
    )


def drag(page: Page, source, target) -> None:
    """Drag with real pointer moves: SortableJS ignores synthetic drag events."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] - 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 2, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 1, steps=5)
    page.mouse.up()


def test_owner_drags_the_third_item_to_the_top(page: Page, live_server, transactional_db):
    # given an owner whose product has items First, Second, Third
    owner = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    product = ProductFactory(name="Payroll", slug="payroll", owner=owner)
    for title in ("First", "Second", "Third"):
        services.backlog_item_create(actor=owner.user, product=product, title=title)
    url = f"{live_server.url}/units/{product.unit_id}/backlog/"

    # when she signs in and opens the backlog
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Backlog", level=1)).to_be_visible()
    rows = page.locator("#backlog-list tbody tr[data-item]")
    expect(rows.locator("td.title")).to_contain_text(["First", "Second", "Third"])

    # and drags the third row by its handle above the first
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST") as moved:
        drag(page, rows.nth(2).locator(".drag-handle"), rows.nth(0).locator(".drag-handle"))
    assert moved.value.status == 200

    # then the list shows the stored order, and so does a fresh load
    expect(rows.locator("td.pos")).to_have_text(["1", "2", "3"])
    expect(rows.locator("td.title")).to_contain_text(["Third", "First", "Second"])
    assert stored_order(product.unit_id) == ["Third", "First", "Second"]
    page.reload()
    expect(page.locator("#backlog-list td.title")).to_contain_text(["Third", "First", "Second"])


def test_focus_stays_on_the_order_button_after_a_keyboard_move(
    page: Page, live_server, transactional_db
):
    # given an owner's backlog with First, Second, Third
    owner = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    product = ProductFactory(name="Payroll", slug="payroll", owner=owner)
    for title in ("First", "Second", "Third"):
        services.backlog_item_create(actor=owner.user, product=product, title=title)
    third = BacklogItem.objects.get(title="Third")
    page.goto(f"{live_server.url}/units/{product.unit_id}/backlog/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    rows = page.locator("#backlog-list tbody tr[data-item]")
    expect(rows.locator("td.title")).to_contain_text(["First", "Second", "Third"])
    # The rows are there once the HTML is parsed; htmx wires their forms up a moment later. An
    # Enter before that posts the form without htmx and reloads the page, focus and all (seen
    # once in CI on a loaded machine).
    page.wait_for_load_state("load")

    # when she moves Third up one with the keyboard
    up = page.get_by_role("button", name="Move Third up one")
    up.focus()
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST"):
        page.keyboard.press("Enter")

    # then the list shows the new order and the focus is on the same button of the same item
    expect(rows.locator("td.title")).to_contain_text(["First", "Third", "Second"])
    expect(page.locator(f"#move-{third.pk}-up")).to_be_focused()
    # htmx gives the focus back by id as it swaps, before the new list's forms are wired up
    # (settling): a second Enter then would post the form without htmx and reload the page.
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-request')")

    # and again: to the top, where "up" is disabled, the row's first enabled button has it
    page.keyboard.press("Enter")
    expect(rows.locator("td.title")).to_contain_text(["Third", "First", "Second"])
    expect(page.locator(f"#move-{third.pk}-top")).to_be_focused()
    assert stored_order(product.unit_id) == ["Third", "First", "Second"]
