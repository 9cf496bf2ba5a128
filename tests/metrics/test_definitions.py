"""Metric definitions: made from the catalogue or by hand, thresholds on the right side, and
the coverage check (how many, which dimensions)."""

import datetime as dt

import pytest

from metrics import services
from metrics.catalogue import TEMPLATES
from metrics.models import Better, Metric
from metrics.selectors import coverage
from portfolio.errors import Forbidden, ValidationFailed
from portfolio.models import PortfolioSettings
from products.models import Dimension
from tests.metrics.factories import MetricFactory

pytestmark = pytest.mark.django_db


def test_catalogue_holds_the_nine_standard_metrics():
    keys = {t.key for t in TEMPLATES}
    assert keys == {
        "availability",
        "response-time",
        "error-rate",
        "support-tickets",
        "mttr",
        "cycle-time-reduction",
        "cost-avoidance",
        "adoption-rate",
        "business-outcome",
    }
    assert {t.level for t in TEMPLATES if t.key in ("availability", "mttr")} == {"operational"}
    assert {t.level for t in TEMPLATES if t.key == "adoption-rate"} == {"business"}


@pytest.mark.parametrize("template", [t.key for t in TEMPLATES])
def test_every_template_makes_a_valid_metric(owner, product, template):
    metric = services.metric_create(actor=owner, product=product, template=template)
    assert metric.template == template
    assert metric.key == template
    assert metric.product == product


def test_template_fields_can_be_overridden(owner, product):
    settings = PortfolioSettings.load()
    settings.currency = "CHF"
    settings.save()
    metric = services.metric_create(
        actor=owner, product=product, template="cost-avoidance", name="Licence savings"
    )
    assert metric.name == "Licence savings"
    assert metric.unit == "kCHF/quarter"
    assert metric.target == 100


def test_custom_metric_gets_a_key_from_its_name(owner, product):
    metric = services.metric_create(
        actor=owner,
        product=product,
        name="Payslips sent on time",
        unit="%",
        better=Better.HIGHER,
        target=100,
        warning=98,
        critical=95,
        dimension=Dimension.IMPROVEMENT,
        level="business",
        expected_interval=dt.timedelta(days=30),
    )
    assert metric.key == "payslips-sent-on-time"
    assert metric.ref == "payroll/payslips-sent-on-time"


@pytest.mark.parametrize(
    ("better", "warning", "critical", "field"),
    [
        (Better.HIGHER, 99.95, 99.0, "warning"),  # warning above a higher-is-better target
        (Better.HIGHER, 99.5, 99.6, "critical"),  # critical above the warning line
        (Better.LOWER, 200.0, 1000.0, "warning"),  # warning below a lower-is-better target
        (Better.LOWER, 500.0, 400.0, "critical"),
        (Better.HIGHER, None, 100.0, "critical"),  # without warning, compared with the target
    ],
)
def test_thresholds_on_the_wrong_side_are_refused(owner, product, better, warning, critical, field):
    target = 99.9 if better == Better.HIGHER else 300.0
    with pytest.raises(ValidationFailed) as exc:
        services.metric_create(
            actor=owner,
            product=product,
            name="Speed",
            unit="ms",
            better=better,
            target=target,
            warning=warning,
            critical=critical,
        )
    assert list(exc.value.errors) == [field]
    assert not Metric.objects.exists()


def test_thresholds_equal_to_the_target_are_allowed(owner, product):
    metric = services.metric_create(
        actor=owner, product=product, name="Flat", unit="x", target=5, warning=5, critical=5
    )
    assert (metric.target, metric.warning, metric.critical) == (5, 5, 5)


def test_non_finite_target_is_refused(owner, product):
    with pytest.raises(ValidationFailed) as exc:
        services.metric_create(
            actor=owner, product=product, name="N", unit="x", target=float("nan")
        )
    assert "target" in exc.value.errors


def test_unknown_template_and_duplicate_key_are_named(owner, product):
    with pytest.raises(ValidationFailed) as exc:
        services.metric_create(actor=owner, product=product, template="happiness")
    assert list(exc.value.errors) == ["template"]
    services.metric_create(actor=owner, product=product, template="availability")
    with pytest.raises(ValidationFailed) as exc:
        services.metric_create(actor=owner, product=product, template="availability")
    assert list(exc.value.errors) == ["key"]
    assert Metric.objects.count() == 1


def test_only_the_unit_owner_or_a_leader_defines_metrics(
    owner, other_owner, viewer, leader, product
):
    for actor in (other_owner, viewer):
        with pytest.raises(Forbidden):
            services.metric_create(actor=actor, product=product, template="availability")
    assert not Metric.objects.exists()
    services.metric_create(actor=leader, product=product, template="availability")
    metric = services.metric_create(actor=owner, product=product, template="mttr")
    with pytest.raises(Forbidden):
        services.metric_update(actor=other_owner, metric=metric, target=4)
    with pytest.raises(Forbidden):
        services.metric_delete(actor=viewer, metric=metric)
    assert Metric.objects.count() == 2


def test_update_rechecks_thresholds(owner, product):
    metric = services.metric_create(actor=owner, product=product, template="response-time")
    with pytest.raises(ValidationFailed) as exc:
        services.metric_update(actor=owner, metric=metric, better=Better.HIGHER)
    assert "warning" in exc.value.errors
    metric.refresh_from_db()
    assert metric.better == Better.LOWER
    services.metric_update(actor=owner, metric=metric, target=250, warning=None)
    metric.refresh_from_db()
    assert (metric.target, metric.warning) == (250, None)


# --- Coverage ---------------------------------------------------------------------------------


def _dims(product, *dimensions):
    for dimension in dimensions:
        MetricFactory(product=product, dimension=dimension)


def test_coverage_counts_and_dimensions(product):
    cov = coverage(product)
    assert (cov.count, cov.ok, cov.count_ok) == (0, False, False)
    assert cov.missing == ["Improvement", "Operations", "Support"]

    _dims(product, "operations", "support")
    cov = coverage(product)
    assert not cov.count_ok
    assert cov.missing == ["Improvement"]
    assert cov.problems == ["Add 1 more metric: 2 of at least 3.", "No metric covers improvement."]

    _dims(product, "operations")
    cov = coverage(product)
    assert cov.count_ok and not cov.ok
    assert cov.problems == ["No metric covers improvement."]

    _dims(product, "improvement")
    cov = coverage(product)
    assert cov.ok and cov.problems == []

    _dims(product, "support")  # five: the maximum
    assert coverage(product).ok
    _dims(product, "support")  # six: too many
    cov = coverage(product)
    assert not cov.ok
    assert cov.problems == ["6 metrics is more than 5; keep the few that decide something."]


def test_coverage_bounds_come_from_the_settings(product):
    _dims(product, "improvement", "operations", "support", "support")
    assert coverage(product).ok
    settings = PortfolioSettings.load()
    settings.metrics_max = 3
    settings.save()
    assert not coverage(product).count_ok
