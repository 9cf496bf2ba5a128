"""A small portfolio that list tests share: two owners and a departed person, two clusters,
four products (two of them in Bo's cluster "HR services"), and the funding requests the
funding lists filter. Tests add what their own lists need on top."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from funding.models import InvestmentRequest, RequestStatus
from funding.services import current_fiscal_year
from products.models import Stage
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory


@dataclass
class SmallPortfolio:
    ana: object
    bo: object
    cy: object  # departed
    payroll: object  # Ana's
    intranet: object  # Bo's, in growth
    hr: object  # a cluster owned by Bo: badges and leave
    badges: object
    leave: object


def small_portfolio(*, purpose: str) -> SmallPortfolio:
    ana = PersonFactory(name="Ana Alvarez", email="ana@example.org")
    bo = PersonFactory(name="Bo Berg", email="bo@example.org")
    cy = PersonFactory(
        name="Cy Departed", email="cy@example.org", active=False, departed_on=dt.date(2026, 1, 5)
    )
    hr = ClusterFactory(name="HR services", slug="hr-services", owner=bo, description="People")
    ClusterFactory(name="Finance", slug="finance", owner=ana)
    payroll = ProductFactory(name="Payroll", slug="payroll", owner=ana)
    intranet = ProductFactory(
        name="Intranet", slug="intranet", owner=bo, lifecycle_stage=Stage.GROWTH
    )
    badges = ProductFactory(name="Badges", slug="badges", owner=bo, cluster=hr)
    leave = ProductFactory(name="Leave", slug="leave", owner=bo, cluster=hr)

    year = current_fiscal_year()
    for product, status, fiscal_year in [
        (payroll, RequestStatus.SUBMITTED, year),
        (badges, RequestStatus.SUBMITTED, year),
        (leave, RequestStatus.SUBMITTED, year - 1),
        (leave, RequestStatus.APPROVED, year),
    ]:
        InvestmentRequest.objects.create(
            unit=product.unit,
            product=product,
            fiscal_year=fiscal_year,
            amount=Decimal("1000.00"),
            purpose=purpose,
            status=status,
        )
    return SmallPortfolio(ana, bo, cy, payroll, intranet, hr, badges, leave)
