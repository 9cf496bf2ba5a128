"""The status rules of a metric, at each threshold and in both directions, in Python and in
SQL (the two must agree: lists compute in SQL, pages and packets in Python)."""

import datetime as dt

import pytest

from metrics.models import Better, Metric, Status
from metrics.selectors import health_subquery, unit_health_subquery, with_status
from metrics.status import metric_status, status_from_severity, status_of, worst
from portfolio.models import PortfolioSettings
from products.models import OwnershipUnit, Product
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory
from tests.products.factories import ProductFactory

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

# Higher is better: target 99.9, amber below 99.5, red below 99.0.
HIGHER = {"better": Better.HIGHER, "target": 99.9, "warning": 99.5, "critical": 99.0}
# Lower is better: target 300 ms, amber above 500, red above 1000.
LOWER = {"better": Better.LOWER, "target": 300.0, "warning": 500.0, "critical": 1000.0}

CASES = [
    (HIGHER, 99.95, Status.GREEN),
    (HIGHER, 99.9, Status.GREEN),
    (HIGHER, 99.6, Status.GREEN),  # misses the target but not the warning line
    (HIGHER, 99.5, Status.GREEN),  # at the warning threshold: still inside the band
    (HIGHER, 99.49, Status.AMBER),
    (HIGHER, 99.0, Status.AMBER),  # at the critical threshold: still amber
    (HIGHER, 98.99, Status.RED),
    (HIGHER, 0.0, Status.RED),
    (LOWER, 120.0, Status.GREEN),
    (LOWER, 500.0, Status.GREEN),
    (LOWER, 500.01, Status.AMBER),
    (LOWER, 1000.0, Status.AMBER),
    (LOWER, 1000.5, Status.RED),
    ({**HIGHER, "warning": None}, 99.9, Status.GREEN),  # no warning line: the target is it
    ({**HIGHER, "warning": None}, 99.89, Status.AMBER),
    ({**HIGHER, "warning": None}, 98.9, Status.RED),
    ({**LOWER, "warning": None, "critical": None}, 301.0, Status.AMBER),  # never red
    ({**LOWER, "warning": None, "critical": None}, 1e9, Status.AMBER),
]


def _status(fields, value, read_at=NOW - dt.timedelta(hours=1), interval=DAY, multiple=2):
    return metric_status(
        last_value=value,
        last_read_at=read_at,
        expected_interval=interval,
        now=NOW,
        stale_multiple=multiple,
        **fields,
    )


@pytest.mark.parametrize(("fields", "value", "expected"), CASES)
def test_status_at_each_threshold_in_both_directions(fields, value, expected):
    assert _status(fields, value) == expected


def test_no_reading_ever_is_no_data():
    assert _status(HIGHER, None, read_at=None) == Status.NO_DATA


def test_stale_after_the_settings_multiple_of_the_expected_interval():
    # Twice the daily interval: exactly 48 hours old is still current, a second more is stale.
    assert _status(HIGHER, 99.95, read_at=NOW - 2 * DAY) == Status.GREEN
    assert _status(HIGHER, 99.95, read_at=NOW - 2 * DAY - dt.timedelta(seconds=1)) == Status.STALE
    # A stale metric shows no colour, even when its last value was red.
    assert _status(HIGHER, 50.0, read_at=NOW - 3 * DAY) == Status.STALE
    # The multiple comes from the settings.
    assert _status(HIGHER, 99.95, read_at=NOW - 3 * DAY, multiple=4) == Status.GREEN
    # The interval is the metric's own: a weekly metric read 3 days ago is current.
    assert _status(HIGHER, 99.95, read_at=NOW - 3 * DAY, interval=7 * DAY) == Status.GREEN


def test_roll_up_takes_the_worst_member():
    assert worst([]) is None
    assert worst([Status.GREEN, Status.NO_DATA]) == Status.NO_DATA
    assert worst([Status.GREEN, Status.STALE, Status.NO_DATA]) == Status.STALE
    assert worst([Status.STALE, Status.AMBER]) == Status.AMBER
    assert worst(["green", "red", "amber"]) == Status.RED


def _metric(product, fields, value, read_at):
    return MetricFactory(
        product=product, last_value=value, last_read_at=read_at, expected_interval=DAY, **fields
    )


@pytest.mark.django_db
def test_sql_and_python_agree_on_every_case():
    product = ProductFactory()
    metrics = [
        _metric(product, fields, value, NOW - dt.timedelta(hours=1))
        for fields, value, _expected in CASES
    ]
    metrics += [
        _metric(product, HIGHER, None, None),
        _metric(product, HIGHER, 99.95, NOW - 2 * DAY),
        _metric(product, HIGHER, 50.0, NOW - 3 * DAY),
    ]
    expected = {m.pk: status_of(m, now=NOW, stale_multiple=2) for m in metrics}
    rows = with_status(Metric.objects.filter(product=product), now=NOW).values_list(
        "pk", "severity"
    )
    from_sql = {pk: status_from_severity(severity) for pk, severity in rows}
    assert from_sql == expected
    assert set(expected.values()) == set(Status)


@pytest.mark.django_db
def test_sql_reads_the_stale_multiple_from_the_settings():
    metric = _metric(ProductFactory(), HIGHER, 99.95, NOW - 3 * DAY)

    def sql_status():
        row = with_status(Metric.objects.filter(pk=metric.pk), now=NOW).get()
        return status_from_severity(row.severity)

    assert sql_status() == Status.STALE
    settings = PortfolioSettings.load()
    settings.stale_interval_multiple = 4
    settings.save()
    assert sql_status() == Status.GREEN


@pytest.mark.django_db
def test_product_and_unit_roll_ups():
    cluster = ClusterFactory()
    a = ProductFactory(cluster=cluster)
    b = ProductFactory(cluster=cluster)
    alone = ProductFactory()
    bare = ProductFactory()
    _metric(a, HIGHER, 99.95, NOW - dt.timedelta(hours=1))
    _metric(a, HIGHER, 99.2, NOW - dt.timedelta(hours=1))  # amber
    _metric(b, HIGHER, None, None)  # no data
    _metric(alone, LOWER, 2000.0, NOW - dt.timedelta(hours=1))  # red
    products = Product.objects.filter(pk__in=[a.pk, b.pk, alone.pk, bare.pk]).annotate(
        worst=health_subquery(now=NOW)
    )
    health = {pk: status_from_severity(w) for pk, w in products.values_list("pk", "worst")}
    assert health == {
        a.pk: Status.AMBER,
        b.pk: Status.NO_DATA,
        alone.pk: Status.RED,
        bare.pk: None,
    }
    units = OwnershipUnit.objects.filter(
        pk__in=[cluster.unit.pk, alone.unit.pk, bare.unit.pk]
    ).annotate(worst=unit_health_subquery(now=NOW))
    assert {pk: status_from_severity(w) for pk, w in units.values_list("pk", "worst")} == {
        cluster.unit.pk: Status.AMBER,
        alone.unit.pk: Status.RED,
        bare.unit.pk: None,
    }
