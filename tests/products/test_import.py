"""The catalogue import (products/imports.py): files in, a preview, a confirm."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from portfolio.events import Event
from products.bulk import products_bulk_upsert
from products.imports import COLUMNS, import_confirm, import_preview
from products.models import Cluster, ExternalId, ImportUpload, Person, Product, Team
from products.services import product_update
from tests.api.conftest import client_for
from tests.conftest import api_as
from tests.portfolio.factories import PersonFactory, TeamFactory
from tests.products.factories import ExternalIdFactory, ProductFactory
from tests.world import small_portfolio

HEADER = "name,slug,kind,criticality,lifecycle_stage,team,owner.email,external_ids,dependencies"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list], title: str = "products") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preview(leader, data: bytes, name: str = "catalogue.csv") -> ImportUpload:
    return import_preview(actor=leader, filename=name, data=data)


def confirm(leader, upload: ImportUpload) -> ImportUpload:
    return import_confirm(actor=leader, upload=upload, fingerprint=upload.fingerprint)


def actions(upload: ImportUpload) -> dict[str, str]:
    return {r["slug"]: r["action"] for r in upload.preview["rows"]}


@pytest.fixture
def people(db):
    TeamFactory(name="Finance apps", slug="finance-apps")
    return PersonFactory(name="Ana Alvarez", email="ana@example.org")


class TestPreviewAndConfirm:
    def test_a_csv_previews_then_creates_updates_and_leaves_alone(self, leader, people):
        ProductFactory(name="Payroll", slug="payroll", kind="system", criticality="medium")
        ProductFactory(name="Wiki", slug="wiki", kind="service", criticality="low")
        data = csv_bytes(
            HEADER,
            "Payroll,payroll,system,high,,finance-apps,ana@example.org,,",
            "Wiki,wiki,service,low,,,,,",
            "Expense claims,expenses,system,medium,growth,Finance apps,,cmdb:CI-1,payroll",
        )
        upload = preview(leader, data)
        assert upload.preview["counts"] == {"error": 0, "create": 1, "update": 1, "unchanged": 1}
        payroll = next(r for r in upload.preview["rows"] if r["slug"] == "payroll")
        assert payroll["changes"]["criticality"] == ["medium", "high"]
        assert payroll["changes"]["team"] == [None, "finance-apps"]
        assert payroll["changes"]["owner.email"] == [None, "ana@example.org"]
        assert Product.objects.count() == 2  # a preview stores nothing in the catalogue

        done = confirm(leader, upload)
        assert done.state == "confirmed"
        assert done.result["created"] == 1 and done.result["updated"] == 1
        expenses = Product.objects.get(slug="expenses")
        assert expenses.lifecycle_stage == "growth" and expenses.team.slug == "finance-apps"
        assert [d.slug for d in expenses.dependencies.all()] == ["payroll"]
        assert ExternalId.objects.get(product=expenses).external_id == "CI-1"
        assert Product.objects.get(slug="payroll").criticality == "high"
        created = Event.objects.get(type="product.created", object_id=expenses.pk)
        # The body as the product's endpoint answered it when the event was recorded: the
        # team named by its name is its slug, the external id is there, the dependencies were
        # written after it.
        body = api_as(leader).get(f"/api/v1/products/{expenses.pk}/").json()
        assert created.data == {**body, "dependencies": [], "version": created.data["version"]}
        assert created.data["team"] == "finance-apps"
        assert created.data["external_ids"] == [{"source": "cmdb", "id": "CI-1"}]

    def test_an_xlsx_works_the_same_and_headers_ignore_case(self, leader, people):
        data = xlsx_bytes(
            [
                ["NAME", "Slug", "Kind", "Strategic", "User_Count"],
                ["Wiki", "wiki", "service", True, 40],
            ]
        )
        upload = preview(leader, data, "catalogue.xlsx")
        assert upload.preview["counts"]["create"] == 1
        confirm(leader, upload)
        wiki = Product.objects.get(slug="wiki")
        assert wiki.strategic is True and wiki.user_count == 40 and wiki.kind == "service"

    @pytest.mark.parametrize(
        "encoding", ["utf-8", "utf-8-sig", "cp1252"], ids=["utf8", "bom", "windows-1252"]
    )
    def test_encodings(self, leader, people, encoding):
        data = csv_bytes("name,slug", "Crème brûlée café,creme", encoding=encoding)
        confirm(leader, preview(leader, data))
        assert Product.objects.get(slug="creme").name == "Crème brûlée café"

    def test_dependencies_resolve_within_the_file_by_slug_or_external_id(self, leader, people):
        data = csv_bytes(
            "name,slug,external_ids,dependencies",
            "Front,front,,back; cmdb:CI-9",
            "Back,back,,",
            "Store,store,cmdb:CI-9,back",
        )
        confirm(leader, preview(leader, data))
        front = Product.objects.get(slug="front")
        assert sorted(d.slug for d in front.dependencies.all()) == ["back", "store"]

    def test_a_stage_change_of_an_existing_product_is_refused(self, leader, people):
        ProductFactory(name="Payroll", slug="payroll", lifecycle_stage="maturity")
        upload = preview(leader, csv_bytes("slug,lifecycle_stage", "payroll,growth"))
        (row,) = upload.preview["rows"]
        assert row["action"] == "error" and "lifecycle_stage" in row["errors"]


class TestBadInput:
    """Each bad file or row stores nothing in the catalogue."""

    @pytest.mark.parametrize(
        ("name", "data", "words"),
        [
            ("a.csv", b"", "empty"),
            ("a.csv", b"name,slug\r\n", "no product rows"),
            ("a.pdf", b"%PDF-1.4", ".csv or .xlsx"),
            ("a.xlsx", b"PK\x03\x04 not really a zip", "not a readable XLSX"),
            ("a.csv", b"name,colour\r\nWiki,blue\r\n", "'colour'"),
            ("a.csv", b"name,Name\r\nWiki,Wiki\r\n", "more than once"),
        ],
        ids=["empty", "header-only", "wrong-type", "corrupt-xlsx", "unknown-column", "twice"],
    )
    def test_files_that_cannot_be_read(self, leader, name, data, words):
        with pytest.raises(ValidationFailed) as caught:
            preview(leader, data, name)
        assert words in caught.value.errors["file"][0]
        assert not ImportUpload.objects.exists() and not Product.objects.exists()

    def test_too_many_rows(self, leader, settings):
        settings.IMPORT_MAX_ROWS = 2
        with pytest.raises(ValidationFailed, match="more than 2"):
            preview(leader, csv_bytes("name", "a", "b", "c"))

    @pytest.mark.parametrize(
        ("lines", "field", "rule"),
        [
            (["name,slug", "A,same", "B,same"], "slug", None),
            (["name,external_ids", "A,cmdb:1", "B,cmdb:1"], "external_id", None),
            (["name,slug,dependencies", "A,a,b", "B,b,a"], "dependencies", "dependency_cycle"),
            (["name,slug,dependencies", "A,a,a"], "dependencies", None),
            (["name,owner.email", "A,nobody@example.org"], "owner", None),
            (["name,dependencies", "A,ghost"], "dependencies", None),
            (["name,user_count", "A,many"], "user_count", None),
        ],
        ids=["dup-slug", "dup-external-id", "cycle", "self", "unknown-owner", "unknown-dep", "nan"],
    )
    def test_bad_rows_are_named_and_cannot_be_confirmed(self, leader, lines, field, rule):
        upload = preview(leader, csv_bytes(*lines))
        bad = [r for r in upload.preview["rows"] if r["action"] == "error"]
        assert bad and field in bad[-1]["errors"]
        assert bad[-1]["line"] >= 2
        if rule:
            assert bad[-1]["rule"] == rule
        with pytest.raises(ValidationFailed):
            confirm(leader, upload)
        assert not Product.objects.exists()

    def test_a_cycle_through_the_catalogue_is_refused(self, leader):
        a = ProductFactory(slug="a")
        b = ProductFactory(slug="b")
        a.dependencies.add(b)
        upload = preview(leader, csv_bytes("slug,dependencies", "b,a"))
        (row,) = upload.preview["rows"]
        assert row["rule"] == "dependency_cycle"
        assert "b -> a -> b" in row["errors"]["dependencies"][0]

    def test_only_leaders_import(self, viewer):
        with pytest.raises(Forbidden):
            preview(viewer, csv_bytes("name", "Wiki"))


class TestRoundTrip:
    def test_an_export_imports_as_all_unchanged(self, leader):
        world = small_portfolio(purpose="round trip")
        world.payroll.dependencies.add(world.intranet)
        ExternalIdFactory(product=world.payroll, source="cmdb", external_id="CI-1")
        ExternalIdFactory(product=world.payroll, source="jira", external_id="PAY")
        client = Client()
        client.force_login(leader)
        for fmt in ("csv", "xlsx"):
            response = client.get(reverse("product-list"), {"format": fmt})
            body = b"".join(response.streaming_content)
            upload = preview(leader, body, f"products.{fmt}")
            counts = upload.preview["counts"]
            assert counts == {"error": 0, "create": 0, "update": 0, "unchanged": 4}, (
                fmt,
                [r for r in upload.preview["rows"] if r["action"] != "unchanged"],
            )

    def test_two_thousand_products_from_xlsx_round_trip(self, leader):
        ana = PersonFactory(email="ana@example.org")
        TeamFactory(slug="ops")
        rows = [
            {
                "external_id": {"source": "cmdb", "id": f"CI-{n}"},
                "name": f"Product {n}",
                "team": "ops",
                "owner": ana.email,
                "user_count": n,
            }
            for n in range(2000)
        ]
        products_bulk_upsert(actor=leader, rows=rows)
        before = list(Product.objects.order_by("id").values())
        client = Client()
        client.force_login(leader)
        response = client.get(reverse("product-list"), {"format": "xlsx"})
        body = b"".join(response.streaming_content)
        upload = preview(leader, body, "products.xlsx")
        assert upload.preview["counts"]["unchanged"] == 2000
        confirm(leader, upload)
        assert list(Product.objects.order_by("id").values()) == before


class TestConfirm:
    def test_a_catalogue_changed_since_the_preview_is_a_409(self, leader, people):
        payroll = ProductFactory(name="Payroll", slug="payroll")
        upload = preview(leader, csv_bytes("slug,criticality", "payroll,high"))
        product_update(actor=leader, product=payroll, description="Changed meanwhile")
        with pytest.raises(RuleViolation) as caught:
            confirm(leader, upload)
        assert caught.value.rule == "import_plan_changed"
        assert Product.objects.get(slug="payroll").criticality != "high"

    def test_a_confirmed_import_is_not_written_twice(self, leader, people):
        upload = confirm(leader, preview(leader, csv_bytes("name", "Wiki")))
        with pytest.raises(RuleViolation) as caught:
            confirm(leader, upload)
        assert caught.value.rule == "import_done"
        assert Product.objects.count() == 1


class TestApi:
    def test_upload_read_and_confirm(self, leader, people):
        api = client_for(leader)
        file = io.BytesIO(csv_bytes("name,slug", "Wiki,wiki", "Blog,blog"))
        file.name = "catalogue.csv"
        created = api.post(reverse("api-import-list"), {"file": file}, format="multipart")
        assert created.status_code == 201, created.content
        body = created.json()
        assert body["counts"]["create"] == 2 and body["rows_total"] == 2
        read = api.get(reverse("api-import-detail", args=[body["id"]]))
        assert read.json()["fingerprint"] == body["fingerprint"]
        url = reverse("api-import-confirm", args=[body["id"]])
        assert api.post(url, {"fingerprint": "stale"}, format="json").status_code == 409
        done = api.post(url, {"fingerprint": body["fingerprint"]}, format="json")
        assert done.status_code == 200 and done.json()["result"]["created"] == 2
        assert Product.objects.count() == 2

    def test_an_unknown_column_is_a_400_naming_it(self, leader):
        file = io.BytesIO(b"name,colour\r\nWiki,blue\r\n")
        file.name = "catalogue.csv"
        answer = client_for(leader).post(
            reverse("api-import-list"), {"file": file}, format="multipart"
        )
        assert answer.status_code == 400
        assert "colour" in answer.json()["errors"]["file"][0]


def test_the_columns_are_the_exports():
    assert COLUMNS[:3] == ("id", "name", "slug")
    assert "owner.email" in COLUMNS and "dependencies" in COLUMNS


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class TestPeopleTeamsAndClusters:
    """XLSX sheets `people`, `teams` and `clusters`, written before the products."""

    FILE = {
        "products": [
            ["name", "slug", "team", "owner.email"],
            ["Wiki", "wiki", "Knowledge", "kim@example.org"],
        ],
        "people": [["Name", "Email", "Title"], ["Kim Kent", "kim@example.org", "Editor"]],
        "teams": [["name", "slug"], ["Knowledge", "knowledge"]],
        "clusters": [
            ["name", "slug", "reasons", "reason_note", "owner.email"],
            ["Publishing", "publishing", "same_users; same_domain", "Editors", "kim@example.org"],
        ],
    }

    def test_a_preview_names_them_and_stores_nothing_then_confirm_writes_all(self, leader):
        upload = preview(leader, workbook(self.FILE), "catalogue.xlsx")
        assert upload.preview["counts"] == {"error": 0, "create": 4, "update": 0, "unchanged": 0}
        sheets = [r["sheet"] for r in upload.preview["rows"]]
        assert sheets == ["people", "teams", "clusters", "products"]
        assert not Person.objects.exists() and not Team.objects.exists()
        assert not Cluster.objects.exists() and not Product.objects.exists()

        done = confirm(leader, upload)
        assert done.result["sheets"]["people"]["create"] == 1
        wiki = Product.objects.get(slug="wiki")
        assert wiki.owner.email == "kim@example.org" and wiki.team.slug == "knowledge"
        publishing = Cluster.objects.select_related("unit__owner").get(slug="publishing")
        assert publishing.reasons == ["same_users", "same_domain"]
        assert publishing.unit.owner.email == "kim@example.org"

        again = preview(leader, workbook(self.FILE), "catalogue.xlsx")
        assert again.preview["counts"]["unchanged"] == 4

    def test_a_bad_person_row_is_named_in_its_sheet(self, leader):
        file = {**self.FILE, "people": [["name", "email"], ["No Mail", ""]]}
        upload = preview(leader, workbook(file), "catalogue.xlsx")
        bad = [r for r in upload.preview["rows"] if r["action"] == "error"]
        assert [(r["sheet"], r["line"]) for r in bad][0] == ("people", 2)
        assert "email" in bad[0]["errors"]
        with pytest.raises(ValidationFailed):
            confirm(leader, upload)

    def test_an_unknown_column_names_its_sheet(self, leader):
        file = {**self.FILE, "teams": [["name", "colour"], ["Knowledge", "red"]]}
        with pytest.raises(ValidationFailed, match="teams sheet: 'colour'"):
            preview(leader, workbook(file), "catalogue.xlsx")

    def test_the_people_export_imports_unchanged(self, leader):
        small_portfolio(purpose="people")
        client = Client()
        client.force_login(leader)
        response = client.get(reverse("person-list"), {"format": "xlsx"})
        upload = preview(leader, b"".join(response.streaming_content), "people.xlsx")
        counts = upload.preview["counts"]
        assert counts["unchanged"] >= 3 and counts["error"] == 0, upload.preview["rows"]


def test_product_update_refuses_a_cycle_with_the_same_rule(leader):
    a = ProductFactory(slug="a")
    b = ProductFactory(slug="b")
    c = ProductFactory(slug="c")
    product_update(actor=leader, product=a, dependencies=[b])
    product_update(actor=leader, product=b, dependencies=[c])
    with pytest.raises(RuleViolation) as caught:
        product_update(actor=leader, product=c, dependencies=[a])
    assert caught.value.rule == "dependency_cycle"
    assert "c -> a -> b -> c" in caught.value.message
    assert not c.dependencies.exists()
