"""The import pages: template download, upload, preview, confirm (leaders)."""

from __future__ import annotations

import csv
import io

from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from products.imports import COLUMNS
from products.models import ImportUpload, Product
from products.services import product_update
from tests.portfolio.factories import PersonFactory, TeamFactory
from tests.products.factories import ProductFactory


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, text: str, name: str = "catalogue.csv", **headers):
    file = io.BytesIO(text.encode())
    file.name = name
    return client.post(reverse("import-upload"), {"file": file}, headers=headers)


def test_the_templates_have_the_export_columns_and_one_example(leader):
    client = client_for(leader)
    body = b"".join(client.get(reverse("import-template")).streaming_content).decode("utf-8-sig")
    header, example = list(csv.reader(io.StringIO(body)))
    assert tuple(header) == COLUMNS
    assert example[COLUMNS.index("name")] == "Expense claims"
    book = load_workbook(io.BytesIO(b"".join(client.get(reverse("import-template-xlsx")))))
    rows = list(book.active.iter_rows(values_only=True))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 2


def test_the_template_imports_once_its_team_and_people_exist(leader):
    TeamFactory(slug="finance-apps")
    PersonFactory(email="ana@example.org")
    ProductFactory(slug="identity")
    client = client_for(leader)
    body = b"".join(client.get(reverse("import-template")).streaming_content)
    response = upload(client, body.decode("utf-8-sig").replace("cmdb:CI-7", "identity"))
    preview = ImportUpload.objects.get()
    assert response.status_code == 302, response.content
    assert preview.preview["counts"]["create"] == 1, preview.preview["rows"]


def test_upload_shows_the_preview_errors_first_then_confirm_stores(leader):
    ProductFactory(name="Payroll", slug="payroll", criticality="medium")
    client = client_for(leader)
    response = upload(client, "slug,criticality\r\npayroll,high\r\nwiki,urgent\r\n")
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert html.index('id="line-3"') < html.index('id="line-2"')  # the error first
    assert "medium → high" in html
    assert "Confirm" not in html  # an error row: nothing to confirm
    assert Product.objects.get(slug="payroll").criticality == "medium"


def test_a_catalogue_changed_since_the_preview_is_a_409_on_the_page(leader):
    payroll = ProductFactory(name="Payroll", slug="payroll")
    client = client_for(leader)
    response = upload(client, "slug,criticality\r\npayroll,high\r\n", HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Redirect" in response.headers
    saved = ImportUpload.objects.get()
    product_update(actor=leader, product=payroll, description="Changed meanwhile")
    answer = client.post(
        reverse("import-confirm", args=[saved.pk]),
        {"upload": saved.pk, "fingerprint": saved.fingerprint},
    )
    assert answer.status_code == 409
    html = answer.content.decode()
    assert "import_plan_changed" in html and "The catalogue changed since this preview" in html
    assert Product.objects.get(slug="payroll").criticality != "high"


def test_an_unreadable_file_is_a_form_error_and_stores_nothing(leader):
    response = upload(client_for(leader), "name,colour\r\nWiki,blue\r\n")
    assert response.status_code == 400
    assert "colour" in response.content.decode()
    assert not ImportUpload.objects.exists()
