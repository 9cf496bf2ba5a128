import re

import pytest
from playwright.sync_api import Page, expect

from products.models import Product
from tests.portfolio.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.browser


def test_a_leader_sees_the_bad_row_fixes_the_file_and_imports(
    page: Page, live_server, transactional_db, tmp_path
):
    # given a leader and a file whose second product names an owner nobody knows
    UserFactory(username="lena", leader=True)  # password: pass-word-123
    PersonFactory(name="Ana Alvarez", email="ana@example.org")
    bad = tmp_path / "catalogue.csv"
    bad.write_text(
        "Name,Slug,Owner.Email\r\n"
        "Payroll,payroll,ana@example.org\r\n"
        "Wiki,wiki,nobody@example.org\r\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/import/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Import the catalogue")).to_be_visible()

    # when she uploads it
    page.get_by_label("CSV or XLSX file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and preview").click()

    # then the preview names the bad row, offers no confirm, and nothing is stored
    expect(page).to_have_url(re.compile(r"/import/\d+/$"))
    expect(page.locator('[data-count="error"]')).to_have_text("1")
    row = page.locator("#line-3")
    expect(row).to_contain_text("owner")
    expect(row).to_contain_text("nobody@example.org")
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    assert not Product.objects.exists()

    # when she fixes the file and uploads it again
    good = tmp_path / "catalogue-fixed.csv"
    good.write_text(
        "Name,Slug,Owner.Email\r\nPayroll,payroll,ana@example.org\r\nWiki,wiki,\r\n",
        encoding="utf-8",
    )
    page.get_by_role("link", name="upload it again").click()
    page.get_by_label("CSV or XLSX file").set_input_files(str(good))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator('[data-count="create"]')).to_have_text("2")
    expect(page.locator('[data-count="error"]')).to_have_text("0")

    # and confirms it
    page.get_by_role("button", name=re.compile("^Confirm")).click()

    # then both products are stored and the result says so
    expect(page.locator(".message-success").first).to_contain_text("2 created")
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["payroll", "wiki"]
    assert Product.objects.get(slug="payroll").owner.email == "ana@example.org"
