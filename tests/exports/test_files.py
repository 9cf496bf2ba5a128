"""What an export file holds: neutralised formulas, typed cells, the header, the name, errors."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import serializers

from portfolio.api.rows import Column, Nested, Output
from portfolio.exports import LIST, XLSX_MEDIA_TYPE, ExportColumn, columns_of, neutralise
from tests.conftest import api_as
from tests.exports.conftest import HYPERLINK
from tests.exports.helpers import content, csv_rows, xlsx_rows, xlsx_sheet

pytestmark = pytest.mark.django_db


# --- Formula injection ---------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_starts_like_a_formula_gets_a_leading_apostrophe(start):
    assert neutralise(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


@pytest.mark.parametrize("text", ["Payroll", "", "a=b", " =1", "'quoted"])
def test_other_text_is_left_alone(text):
    assert neutralise(text) == text


def _reading_exports(world, viewer, client_as):
    """The metric's readings as CSV and XLSX from the page and from the API."""
    page = reverse("metric-detail", args=[world.availability.pk])
    client, api = client_as(viewer), api_as(viewer)
    api_url = f"/api/v1/metric-readings/?metric={world.availability.pk}"
    return {
        "page csv": csv_rows(client.get(page, {"format": "csv"})),
        "page xlsx": xlsx_rows(client.get(page, {"format": "xlsx"})),
        "api csv": csv_rows(api.get(api_url, HTTP_ACCEPT="text/csv")),
        "api xlsx": xlsx_rows(api.get(api_url + "&format=xlsx")),
    }


def test_a_hyperlink_formula_in_a_reading_source_is_neutralised_in_csv_and_xlsx(
    world, viewer, client_as
):
    for name, rows in _reading_exports(world, viewer, client_as).items():
        sources = [row["source"] for row in rows]
        assert "'" + HYPERLINK in sources, name
        assert HYPERLINK not in sources, name


def test_the_xlsx_cell_of_the_formula_is_text_not_a_formula(world, viewer, client_as):
    page = reverse("metric-detail", args=[world.availability.pk])
    for response in (
        client_as(viewer).get(page, {"format": "xlsx"}),
        api_as(viewer).get(f"/api/v1/metric-readings/?metric={world.availability.pk}&format=xlsx"),
    ):
        sheet = xlsx_sheet(response)
        header = [cell.value for cell in sheet[1]]
        cells = [row[header.index("source")] for row in sheet.iter_rows(min_row=2)]
        formula = next(c for c in cells if "HYPERLINK" in str(c.value))
        assert formula.data_type == "s"  # a string cell; a formula would be "f"
        assert formula.value == "'" + HYPERLINK


def test_a_negative_number_stays_a_number(world, viewer, client_as):
    exports = _reading_exports(world, viewer, client_as)
    assert -5.5 in [row["value"] for row in exports["page xlsx"]]
    assert "-5.5" in [row["value"] for row in exports["page csv"]]  # not "'-5.5"
    assert -5.5 in [row["value"] for row in exports["api xlsx"]]


def test_text_fields_other_than_the_source_are_neutralised_too(world, viewer, client_as):
    url = f"/api/v1/decisions/?cycle={world.cycle.pk}"
    rationales = [r["rationale"] for r in csv_rows(api_as(viewer).get(url + "&format=csv"))]
    assert "'=1+1 grows" in rationales
    titles = [
        r["title"]
        for r in xlsx_rows(
            api_as(viewer).get(url.replace("decisions", "action-items") + "&format=xlsx")
        )
    ]
    assert "'-Tell the users" in titles


# --- Typed cells, header, file -------------------------------------------------------------


def test_xlsx_cells_have_real_types_and_a_bold_frozen_header(world, viewer, client_as):
    response = api_as(viewer).get("/api/v1/funding-allocations/?format=xlsx")
    workbook = load_workbook(io.BytesIO(content(response)))
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    header = [cell.value for cell in sheet[1]]
    first = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert isinstance(first["fiscal_year"], int)
    assert isinstance(first["created_at"], dt.datetime)
    # Money, a string in the JSON ("500.00"), is a number in the workbook.
    amounts = {
        row["operations_amount"]
        for row in xlsx_rows(api_as(viewer).get("/api/v1/funding-allocations/?format=xlsx"))
    }
    assert amounts == {500, 900, 800}
    assert all(isinstance(a, int | float) for a in amounts)


def test_xlsx_dates_are_date_cells(world, viewer):
    rows = xlsx_rows(api_as(viewer).get("/api/v1/people/?format=xlsx&active=false"))
    assert [row["departed_on"] for row in rows] == [dt.datetime(2026, 1, 5)]
    readings = xlsx_rows(api_as(viewer).get("/api/v1/metric-readings/?format=xlsx"))
    assert all(isinstance(row["time"], dt.datetime) for row in readings)


def test_csv_writes_what_the_api_answers_for_dates_and_money(world, viewer):
    rows = csv_rows(api_as(viewer).get("/api/v1/funding-allocations/?format=csv&mode=capacity"))
    assert [row["operations_amount"] for row in rows] == ["900.00"]
    assert dt.datetime.fromisoformat(rows[0]["created_at"]).tzinfo is not None
    assert rows[0]["currency"]


def test_nested_objects_become_dotted_columns_and_lists_one_cell(world, viewer):
    rows = csv_rows(api_as(viewer).get("/api/v1/products/?format=csv&cluster=hr-services"))
    assert {row["owner.name"] for row in rows} == {"Bo Berg"}
    clusters = csv_rows(api_as(viewer).get("/api/v1/clusters/?format=csv&q=hr"))
    assert clusters[0]["owner.name"] == "Bo Berg"
    assert clusters[0]["members"] == "badges; leave"


def test_columns_come_from_the_output_declaration():
    inner = Output("ExportInnerSerializer", Column("name", serializers.CharField()))
    output = Output(
        "ExportOuterSerializer",
        Column("id", serializers.IntegerField()),
        Column("amount", serializers.DecimalField(max_digits=9, decimal_places=2)),
        Nested("owner", inner, when="owner_id", allow_null=True),
        Column("tags", serializers.ListField(child=serializers.CharField())),
    )
    columns = columns_of(output.serializer().fields)
    assert [(c.header, c.kind) for c in columns] == [
        ("id", "integer"),
        ("amount", "decimal"),
        ("owner.name", "text"),
        ("tags", "list"),
    ]
    assert columns[1].value({"amount": "-12.50"}) == Decimal("-12.50")
    assert columns[2].value({"owner": None}) is None
    assert ExportColumn("tags", ("tags",), LIST).value({"tags": ["a", "b"]}) == "a; b"


def test_the_file_is_named_after_the_list_and_the_day(world, viewer, client_as):
    response = client_as(viewer).get(reverse("product-list"), {"format": "xlsx"})
    assert response["Content-Type"] == XLSX_MEDIA_TYPE
    assert 'filename="products-' in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.xlsx"')
    csv = api_as(viewer).get("/api/v1/metric-readings/", HTTP_ACCEPT="text/csv")
    assert 'attachment; filename="readings-' in csv["Content-Disposition"]
    assert csv.streaming


def test_an_api_export_is_not_paged(viewer, product):
    from metrics.models import Reading
    from tests.metrics.factories import MetricFactory

    metric = MetricFactory(product=product)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=start + dt.timedelta(hours=i), value=i, source="t")
        for i in range(130)
    )
    rows = csv_rows(api_as(viewer).get("/api/v1/metric-readings/?format=csv&page_size=10"))
    assert len(rows) == 130


# --- Errors ---------------------------------------------------------------------------------


def test_a_bad_filter_on_an_api_export_answers_400_in_json(viewer):
    response = api_as(viewer).get(
        "/api/v1/products/?updated_since=yesterday", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "updated_since" in response.json()["errors"]


def test_a_bad_filter_on_a_page_export_answers_400_naming_it(viewer, client_as):
    response = client_as(viewer).get(reverse("metric-list"), {"status": "purple", "format": "csv"})
    assert response.status_code == 400
    assert "The filter “status” cannot be read" in response.content.decode()


def test_an_anonymous_api_export_answers_401_in_json(db):
    response = api_as(None).get("/api/v1/metric-readings/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_an_anonymous_page_export_goes_to_the_login(client_as, db):
    response = client_as(None).get(reverse("product-list"), {"format": "csv"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_one_object_is_not_offered_as_a_file(viewer, product):
    response = api_as(viewer).get(f"/api/v1/products/{product.pk}/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 406


# --- The links on the pages -----------------------------------------------------------------

LINKED = [
    ("product-list", lambda w: [], {"stage": "growth", "page": "1"}),
    ("cluster-list", lambda w: [], {"q": "hr"}),
    ("person-list", lambda w: [], {"active": "false"}),
    ("backlog-detail", lambda w: [w.hr.unit.pk], {"status": "open"}),
    ("metric-list", lambda w: [], {"status": "red"}),
    ("metric-detail", lambda w: [w.availability.pk], {"range": "year"}),
    ("owner-load-list", lambda w: [], {"status": "over"}),
    ("split-signal-list", lambda w: [], {"kind": "strategic"}),
    ("funding-requests", lambda w: [], {"status": "all"}),
    ("funding-portfolio", lambda w: [], {"year": "2026"}),
]


@pytest.mark.parametrize("name,args,params", LINKED, ids=[n for n, _, _ in LINKED])
def test_every_list_page_links_its_export_with_the_filters_on_screen(
    name, args, params, world, viewer, client_as
):
    response = client_as(viewer).get(reverse(name, args=args(world)), params)
    html = response.content.decode()
    kept = "&amp;".join(f"{k}={v}" for k, v in params.items() if k != "page")
    for fmt in ("csv", "xlsx"):
        assert f'href="?{kept}&amp;format={fmt}" download>' in html


def test_a_cycle_page_links_its_decisions_and_its_action_items(world, viewer, client_as):
    html = client_as(viewer).get(reverse("review-cycle", args=[world.cycle.pk])).content.decode()
    for which in ("decisions", "actions"):
        for fmt in ("csv", "xlsx"):
            assert f'href="?format={fmt}&amp;list={which}" download>' in html


def test_the_dashboard_links_the_candidates_and_readiness_exports(world, viewer, client_as):
    html = client_as(viewer).get(reverse("dashboard")).content.decode()
    assert 'href="/api/v1/candidates/?format=csv" download>' in html
    assert 'href="/api/v1/readiness/?format=xlsx" download>' in html
