"""Metric pages: the product page's panel, one metric with its chart and readings, the CSV
upload, the metric list, and the health badges on the product list, cluster and backlog."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics.models import Level, Metric, Reading
from portfolio.models import PortfolioSettings
from products.models import Dimension, ManagementModel
from tests.metrics.factories import MetricFactory, ReadingFactory
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def product_page(product) -> str:
    return reverse("product-detail", args=[product.slug])


def metric_page(metric) -> str:
    return reverse("metric-detail", args=[metric.pk])


def panel(html: str) -> str:
    return html.split('id="metrics"')[1].split("</section>")[0]


def read(metric, value, *, ago=dt.timedelta(hours=1)):
    """A reading `ago` before now, kept as the metric's latest."""
    taken = timezone.now() - ago
    ReadingFactory(metric=metric, value=value, taken_at=taken)
    Metric.objects.filter(pk=metric.pk).update(last_value=value, last_read_at=taken)


# --- product page panel -------------------------------------------------------------------------


def test_panel_with_too_few_metrics_says_how_many_are_missing(viewer_client, product):
    # given one metric on operations, read green
    metric = MetricFactory(product=product, name="Availability", dimension=Dimension.OPERATIONS)
    read(metric, 99.95)
    # when the product page is read
    html = panel(viewer_client.get(product_page(product)).content.decode())
    # then the panel lists it with its badge and says what is missing
    assert "Availability" in html and metric_page(metric) in html
    assert "health-green" in html and "99.95 %" in html
    assert "Add 2 more metrics: 1 of at least 3." in html
    assert "No metric covers improvement." in html
    assert "No metric covers support." in html
    assert "<svg" in html  # the sparkline


def test_panel_names_a_missing_dimension(viewer_client, product):
    for i in range(3):
        MetricFactory(product=product, dimension=Dimension.OPERATIONS if i else Dimension.SUPPORT)
    html = panel(viewer_client.get(product_page(product)).content.decode())
    assert "No metric covers improvement." in html
    assert "No metric covers support." not in html
    assert "Add" not in html.split("coverage")[1].split("</div>")[0]


def test_panel_with_full_coverage_says_so_and_shows_the_worst_status(viewer_client, product):
    # given three metrics covering all dimensions, one of them red
    good = MetricFactory(product=product, dimension=Dimension.IMPROVEMENT)
    MetricFactory(product=product, dimension=Dimension.SUPPORT)
    bad = MetricFactory(product=product, dimension=Dimension.OPERATIONS)
    read(good, 99.95)
    read(bad, 98.0)
    html = panel(viewer_client.get(product_page(product)).content.decode())
    assert "3 metrics, covering improvement, operations and support." in html
    assert "No metric covers" not in html
    # the roll-up badge is the worst one: red
    assert html.split('class="rollup"')[1].split("</span></span>")[0].count("health-red") == 1


def test_project_managed_product_says_metrics_are_not_required(viewer_client, owner_person):
    project = ProductFactory(
        owner=owner_person,
        management_model=ManagementModel.PROJECT,
        project_end_date=timezone.localdate() + dt.timedelta(days=90),
    )
    html = panel(viewer_client.get(product_page(project)).content.decode())
    assert "metrics are not required" in html
    assert "No metric covers" not in html


@pytest.mark.parametrize("count", [2, 6])
def test_product_page_query_count_does_not_grow_with_metrics(
    count, viewer_client, product, django_assert_num_queries
):
    PortfolioSettings.load()
    for i in range(count):
        metric = MetricFactory(product=product)
        read(metric, 99.0 + i / 10)
    # the fixed count of the page (with the dependency map's two) plus one sparklines query
    # for all metrics
    with django_assert_num_queries(16):
        response = viewer_client.get(product_page(product))
    assert response.content.decode().count('class="sparkline"') == count


# --- adding a metric ----------------------------------------------------------------------------


def test_owner_adds_a_metric_from_a_template(owner_client, product):
    url = reverse("metric-create", args=[product.slug])
    response = owner_client.post(url, {"template": "availability"}, headers=HTMX)
    assert response.status_code == 200
    metric = Metric.objects.get(product=product)
    assert (metric.key, metric.unit, metric.target, metric.warning) == (
        "availability",
        "%",
        99.9,
        99.5,
    )
    html = response.content.decode()
    assert 'id="metrics"' in html and "Availability" in html and metric_page(metric) in html
    # the panel of a plain page load shows it too
    assert "Availability" in panel(owner_client.get(product_page(product)).content.decode())


def test_owner_adds_a_custom_metric_and_a_blank_name_is_named(owner_client, product):
    url = reverse("metric-create", args=[product.slug])
    response = owner_client.post(url, {"unit": "ms", "target": "200"}, headers=HTMX)
    assert response.status_code == 400
    assert "has-errors" in response.content.decode()
    assert not Metric.objects.exists()
    data = {
        "name": "Login time",
        "unit": "s",
        "target": "2",
        "warning": "3",
        "better": "lower",
        "level": Level.OPERATIONAL,
        "dimension": Dimension.SUPPORT,
        "expected_interval": "86400",
    }
    response = owner_client.post(url, data)
    assert response.status_code == 302
    metric = Metric.objects.get()
    assert (metric.key, metric.warning, metric.critical) == ("login-time", 3.0, None)


def test_viewer_cannot_add_a_metric_nor_sees_the_form(viewer_client, product):
    url = reverse("metric-create", args=[product.slug])
    response = viewer_client.post(url, {"template": "availability"})
    assert response.status_code == 403
    assert not Metric.objects.exists()
    assert url not in viewer_client.get(product_page(product)).content.decode()


# --- the metric page ----------------------------------------------------------------------------


def test_metric_page_shows_status_explanation_and_chart_with_target(viewer_client, product):
    metric = MetricFactory(product=product, name="Availability")
    read(metric, 99.2)
    html = viewer_client.get(metric_page(metric)).content.decode()
    assert "health-amber" in html
    assert "99.2 % is below the warning threshold 99.5." in html
    chart = html.split('class="chart"')[1].split("</figure>")[0]
    assert "<svg" in chart and "target 99.9" in chart and "warning 99.5" in chart
    assert "critical 99" in chart
    assert 'data-range="quarter"' in html


def test_range_selector_partial_returns_the_chosen_range(viewer_client, product):
    metric = MetricFactory(product=product, name="Availability")
    read(metric, 99.95, ago=dt.timedelta(days=200))
    url = reverse("metric-chart-panel", args=[metric.pk])
    response = viewer_client.get(url, {"range": "year"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="metric-chart"')
    assert 'data-range="year"' in html and "Availability: year" in html
    assert "No readings in the last" not in html  # the reading 200 days ago is in a year
    short = viewer_client.get(url, {"range": "30d"}, headers=HTMX).content.decode()
    assert 'data-range="30d"' in short and "No readings in the last 30 days" in short
    # without htmx the chart's link leads to the page with that range
    plain = viewer_client.get(url, {"range": "year"})
    assert plain.status_code == 302 and plain["Location"].endswith("?range=year")


@pytest.mark.parametrize("name", ["metric-detail", "metric-chart-panel", "metric-chart"])
def test_bad_range_is_400_with_the_choices(viewer_client, product, name):
    metric = MetricFactory(product=product)
    response = viewer_client.get(reverse(name, args=[metric.pk]), {"range": "decade"})
    assert response.status_code == 400
    assert (
        "Unknown chart range 'decade': use one of 30d, quarter, year." in response.content.decode()
    )


def test_chart_svg_is_an_image_in_two_queries(viewer_client, product, django_assert_num_queries):
    metric = MetricFactory(product=product)
    for day in range(40):
        read(metric, 99.5 + day / 100, ago=dt.timedelta(days=day, hours=1))
    url = reverse("metric-chart", args=[metric.pk])
    viewer_client.get(url)  # the session is warm
    # session, user, the metric, the bucketed series
    with django_assert_num_queries(4):
        response = viewer_client.get(url, {"range": "year"})
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith("<svg") and "<polyline" in body and "target 99.9" in body


def test_unknown_metric_is_404(viewer_client):
    assert viewer_client.get(reverse("metric-detail", args=[999])).status_code == 404


# --- readings -----------------------------------------------------------------------------------


def test_owner_records_a_reading_and_the_status_changes(owner_client, product):
    # given a metric with no reading
    metric = MetricFactory(product=product)
    url = reverse("metric-reading-create", args=[metric.pk])
    page = owner_client.get(metric_page(metric)).content.decode()
    assert "health-no_data" in page and url in page
    # when a red value is typed in
    when = timezone.localtime() - dt.timedelta(minutes=10)
    data = {"time": when.strftime("%Y-%m-%dT%H:%M"), "value": "98.5", "source": "manual"}
    response = owner_client.post(url, {**data, "range": "30d"}, headers=HTMX)
    # then it is stored, and the live part shows the new status, reading and chart
    assert response.status_code == 200
    reading = Reading.objects.get(metric=metric)
    assert (reading.value, reading.source) == (98.5, "manual")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="metric-live"')
    assert "health-red" in html and "98.5 % is below the critical threshold 99." in html
    assert "1 reading," in html and 'data-range="30d"' in html


def test_a_value_that_is_not_a_number_is_named_and_nothing_is_stored(owner_client, product):
    metric = MetricFactory(product=product)
    url = reverse("metric-reading-create", args=[metric.pk])
    data = {"time": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "value": "abc"}
    response = owner_client.post(url, {**data, "source": "manual"}, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    value_field = html.split('id="reading_value"')[1].split("</div>")[0]
    assert "Not a number." in value_field
    assert 'name="value" value="abc"' in html  # what they typed is kept to correct
    assert not Reading.objects.exists()


def test_a_reading_in_the_future_is_refused_on_the_time_field(owner_client, product):
    metric = MetricFactory(product=product)
    url = reverse("metric-reading-create", args=[metric.pk])
    later = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(url, {"time": later, "value": "1", "source": "manual"})
    assert response.status_code == 400
    assert "is in the future" in response.content.decode().split('id="reading_time"')[1]
    assert not Reading.objects.exists()


def test_viewer_may_not_record_or_remove_readings(viewer_client, product):
    metric = MetricFactory(product=product)
    reading = ReadingFactory(metric=metric)
    url = reverse("metric-reading-create", args=[metric.pk])
    data = {"time": "2026-01-01T10:00", "value": "1", "source": "manual"}
    assert viewer_client.post(url, data).status_code == 403
    assert viewer_client.post(reverse("reading-delete", args=[reading.pk])).status_code == 403
    assert Reading.objects.count() == 1
    assert url not in viewer_client.get(metric_page(metric)).content.decode()


def test_owner_removes_a_reading_and_the_latest_value_follows(owner_client, product):
    metric = MetricFactory(product=product)
    read(metric, 99.95, ago=dt.timedelta(hours=3))
    read(metric, 98.0)
    last = Reading.objects.order_by("-taken_at").first()
    response = owner_client.post(reverse("reading-delete", args=[last.pk]), headers=HTMX)
    assert response.status_code == 200
    assert "health-green" in response.content.decode()
    metric.refresh_from_db()
    assert metric.last_value == 99.95


def test_readings_are_paginated_newest_first(viewer_client, product):
    metric = MetricFactory(product=product)
    for hour in range(25):
        ReadingFactory(
            metric=metric, value=hour, taken_at=timezone.now() - dt.timedelta(hours=hour)
        )
    html = viewer_client.get(metric_page(metric)).content.decode()
    table = html.split('class="striped readings"')[1]
    assert table.index(">0 %<") < table.index(">1 %<")
    assert ">24 %<" not in table and "Page 1 of 2" in html
    second = viewer_client.get(metric_page(metric), {"page": 2}).content.decode()
    assert ">24 %<" in second


# --- edit and delete ------------------------------------------------------------------------


def test_owner_edits_thresholds_and_a_wrong_side_is_refused(owner_client, product):
    metric = MetricFactory(product=product)
    url = reverse("metric-edit", args=[metric.pk])
    data = {
        "name": metric.name,
        "key": metric.key,
        "description": "",
        "level": metric.level,
        "dimension": metric.dimension,
        "unit": "%",
        "better": "higher",
        "target": "99.9",
        "warning": "99.95",  # above the target on a higher-is-better metric
        "critical": "99",
        "expected_interval": "86400",
    }
    response = owner_client.post(url, data)
    assert response.status_code == 400
    assert "it must be below the target" in response.content.decode()
    response = owner_client.post(url, {**data, "warning": "99.7"})
    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.warning == 99.7


def test_delete_asks_first_then_removes_the_metric(owner_client, product):
    metric = MetricFactory(product=product, name="Availability")
    ReadingFactory(metric=metric)
    url = reverse("metric-delete", args=[metric.pk])
    page = owner_client.get(url).content.decode()
    assert "Delete Availability?" in page and "1 reading" in page
    assert Metric.objects.exists()
    response = owner_client.post(url)
    assert response.status_code == 302 and response["Location"].startswith(product_page(product))
    assert not Metric.objects.exists() and not Reading.objects.exists()


# --- CSV upload -----------------------------------------------------------------------------


def upload(client, text: str, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("readings.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("metrics-upload"), {"file": file}, **extra)


def test_upload_stores_readings_and_reports_every_line(owner_client, product):
    MetricFactory(product=product, key="availability")
    text = (
        "metric,time,value,source\n"
        "payroll/availability,2026-05-04T08:00:00Z,99.93,monitoring\n"
        "payroll/availability,2026-05-05T08:00:00Z,99.41,monitoring\n"
    )
    response = upload(owner_client, text)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stored: 2 new, 0 corrected, 0 already known, for 1 metric." in html
    assert html.count("outcome-created") == 2 and 'id="line-3"' in html
    assert Reading.objects.count() == 2
    # the same file again changes nothing, and says so
    again = upload(owner_client, text, headers=HTMX).content.decode()
    assert again.count("outcome-unchanged") == 2 and Reading.objects.count() == 2


def test_upload_with_a_bad_line_names_it_and_stores_nothing(owner_client, product):
    MetricFactory(product=product, key="availability")
    text = (
        "metric,time,value\n"
        "payroll/availability,2026-05-04T08:00:00Z,99.93\n"
        "payroll/availability,2026-05-05T08:00:00Z,lots\n"
    )
    response = upload(owner_client, text, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "nothing was stored." in html and "line 3" in html
    bad = html.split('id="line-3"')[1].split("</tr>")[0]
    assert "value" in bad and "Not a number." in bad
    assert not Reading.objects.exists()


def test_upload_of_a_file_without_the_columns_says_what_is_missing(owner_client, product):
    response = upload(owner_client, "when,how much\n2026-01-01,3\n")
    assert response.status_code == 400
    assert "missing: metric, time, value" in response.content.decode()


def test_upload_for_someone_elses_product_is_refused(owner_client, other_product):
    MetricFactory(product=other_product, key="availability")
    response = upload(owner_client, "metric,time,value\nintranet/availability,2026-05-04,1\n")
    assert response.status_code == 403
    assert "intranet/availability" in response.content.decode()
    assert not Reading.objects.exists()


def test_upload_over_the_size_limit_is_refused(owner_client, product, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    big = "metric,time,value\n" + "x" * (2 * 1024 * 1024 + 10)
    response = upload(owner_client, big)
    assert response.status_code == 400
    assert "the limit is 2 MB" in response.content.decode()


def test_upload_page_explains_the_columns_and_offers_an_example(viewer_client):
    html = viewer_client.get(reverse("metrics-upload")).content.decode()
    assert "<code>metric</code>" in html and "<code>payroll/availability</code>" in html
    assert "All or nothing" in html
    assert reverse("metrics-upload-example") in html
    example = viewer_client.get(reverse("metrics-upload-example"))
    assert example["Content-Type"].startswith("text/csv")
    assert example.content.decode().startswith("metric,time,value")


# --- badges on lists --------------------------------------------------------------------------


def test_product_list_shows_each_products_health(viewer_client, product, other_product):
    read(MetricFactory(product=product), 98.0)
    html = viewer_client.get(reverse("product-list")).content.decode()
    rows = html.split("<tbody>")[1]
    payroll = rows.split("Payroll")[1].split("</tr>")[0]
    intranet = rows.split("Intranet")[1].split("</tr>")[0]
    assert "health-red" in payroll and "Red" in payroll
    assert "health-none" in intranet and "No metrics" in intranet


@pytest.mark.parametrize("rows", [5, 30])
def test_product_list_with_metrics_keeps_its_query_count(
    rows, viewer_client, portfolio_of, django_assert_num_queries
):
    from tests.pages.test_product_list import PRODUCT_LIST_QUERIES

    for i, product in enumerate(portfolio_of(rows)):
        read(MetricFactory(product=product), 98.0 + i % 3)
    with django_assert_num_queries(PRODUCT_LIST_QUERIES):
        response = viewer_client.get(reverse("product-list"))
    assert response.content.decode().count('class="badge health health-') == rows


def test_cluster_and_backlog_pages_show_the_unit_roll_up(viewer_client, owner_person):
    cluster = ClusterFactory(name="Finance", owner=owner_person)
    member = ProductFactory(cluster=cluster, owner=owner_person)
    read(MetricFactory(product=member), 99.2)
    cluster_html = viewer_client.get(cluster.get_absolute_url()).content.decode()
    assert "health-amber" in cluster_html.split("<h1>")[1].split("</hgroup>")[0]
    backlog = viewer_client.get(reverse("backlog-detail", args=[cluster.unit.pk]))
    assert "health-amber" in backlog.content.decode().split("<h1>")[1].split("</hgroup>")[0]


def test_metric_list_filters_by_status(viewer_client, product, other_product):
    red = MetricFactory(product=product, name="Red one")
    read(red, 90)
    MetricFactory(product=other_product, name="Never read")
    html = viewer_client.get(reverse("metric-list"), {"status": "red"}).content.decode()
    assert "Red one" in html and "Never read" not in html
    html = viewer_client.get(reverse("metric-list")).content.decode()
    assert "Red one" in html and "Never read" in html


@pytest.mark.parametrize("count", [3, 12])
def test_metric_list_query_count_does_not_grow(
    count, viewer_client, product, django_assert_num_queries
):
    for i in range(count):
        read(MetricFactory(product=product), 99 + i / 10)
    # session, user, leader check, count, the page of metrics, their sparklines, and whether
    # the user owns a unit (the upload button)
    with django_assert_num_queries(7):
        response = viewer_client.get(reverse("metric-list"))
    assert response.content.decode().count('class="sparkline"') == count
