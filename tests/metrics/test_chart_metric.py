"""metrics.selectors.chart_metric: the chart's metric read by one statement written once per
process, equal to what the ORM read before (`visible_to(user).only(...)`), with visibility still
decided by `Metric.objects.visible_to`; and the chart answers as before."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics import selectors
from metrics.models import Metric, MetricQuerySet
from metrics.selectors import CHART_FIELDS, CHART_METRIC_SQL, chart_metric
from tests.metrics.factories import MetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def _orm(pk: int) -> Metric:
    return Metric.objects.only(*CHART_FIELDS).get(pk=pk)


def _assert_same(ours: Metric, theirs: Metric) -> None:
    assert type(ours) is Metric
    assert ours.get_deferred_fields() == theirs.get_deferred_fields()
    assert ours.get_deferred_fields() >= {"product_id", "key", "description", "last_value"}
    for name in ("id", *CHART_FIELDS):
        mine, orms = getattr(ours, name), getattr(theirs, name)
        assert mine == orms and type(mine) is type(orms), name
    assert not ours._state.adding and ours._state.db == theirs._state.db


@pytest.mark.parametrize(
    "thresholds",
    [
        {"target": 99.9, "warning": 99.5, "critical": 99.0},
        {"target": 200, "warning": None, "critical": None},
        {"target": 0.1, "warning": 0.3, "critical": None},
    ],
    ids=["all thresholds", "target only", "no critical"],
)
def test_it_reads_what_the_orm_reads(viewer, product, thresholds):
    metric = MetricFactory(product=product, unit="ms", **thresholds)
    with CaptureQueriesContext(connection) as ctx:
        found = chart_metric(viewer, metric.pk)
    assert [q["sql"] for q in ctx.captured_queries] == [CHART_METRIC_SQL % metric.pk]
    assert found is not None
    _assert_same(found, _orm(metric.pk))
    assert (found.warning, found.critical) == (thresholds["warning"], thresholds["critical"])


def test_the_statement_reads_the_fields_only_reads():
    # the columns come from the model, in its order: the pk and the chart's fields
    assert selectors._CHART_ATTNAMES == ["id", "name", "unit", "target", "warning", "critical"]
    assert selectors._CHART_CONVERTERS == []  # none needed for these fields on PostgreSQL


def test_a_missing_metric_is_none(viewer, product):
    MetricFactory(product=product)
    assert chart_metric(viewer, 987654) is None


def test_anonymous_sees_no_metric_and_asks_nothing(product):
    metric = MetricFactory(product=product)
    with CaptureQueriesContext(connection) as ctx:
        assert chart_metric(AnonymousUser(), metric.pk) is None
    assert ctx.captured_queries == []


def test_a_narrower_visibility_rule_is_kept_through_the_orm(monkeypatch, viewer, product):
    # given a rule some day that hides some metrics from some logins
    shown = MetricFactory(product=product, name="Shown")
    hidden = MetricFactory(product=product, name="Hidden")
    real = MetricQuerySet.visible_to

    def narrower(self, user):
        return real(self, user).filter(~Q(name="Hidden"))

    monkeypatch.setattr(MetricQuerySet, "visible_to", narrower)
    # then the chart reads through that rule: the hidden metric is none, the shown one as before
    assert chart_metric(viewer, hidden.pk) is None
    found = chart_metric(viewer, shown.pk)
    assert found is not None
    _assert_same(found, _orm(shown.pk))


def test_the_chart_of_a_missing_metric_is_404(viewer_client):
    response = viewer_client.get(reverse("metric-chart", args=[987654]), {"range": "year"})
    assert response.status_code == 404


def test_the_chart_sends_anonymous_to_the_login_page(client, product):
    metric = MetricFactory(product=product)
    response = client.get(reverse("metric-chart", args=[metric.pk]), {"range": "year"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_chart_draws_a_metric_without_thresholds(viewer_client, product):
    metric = MetricFactory(product=product, target=5, warning=None, critical=None, unit="ms")
    response = viewer_client.get(reverse("metric-chart", args=[metric.pk]), {"range": "year"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "private, max-age=60"
