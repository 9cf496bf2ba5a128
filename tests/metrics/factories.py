import datetime as dt

import factory

from metrics.models import Better, Level, Metric, Reading
from products.models import Dimension
from tests.products.factories import ProductFactory


class MetricFactory(factory.django.DjangoModelFactory):
    """A higher-is-better daily metric: target 99.9, amber below 99.5, red below 99."""

    class Meta:
        model = Metric

    product = factory.SubFactory(ProductFactory)
    key = factory.Sequence(lambda n: f"metric-{n}")
    name = factory.Sequence(lambda n: f"Metric {n}")
    level = Level.OPERATIONAL
    dimension = Dimension.OPERATIONS
    unit = "%"
    better = Better.HIGHER
    target = 99.9
    warning = 99.5
    critical = 99.0
    expected_interval = dt.timedelta(days=1)


class ReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reading

    metric = factory.SubFactory(MetricFactory)
    taken_at = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))
    value = 99.95
    source = "test"
