"""The API bodies of allocations and investment requests for their events
(portfolio/events.py), registered in FundingConfig.ready(): the bodies their endpoints answer,
amounts in the portfolio's currency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from funding.api.serializers import (
    ALLOCATION,
    INVESTMENT_REQUEST,
    allocation_rows,
    request_rows,
)
from funding.models import FundingAllocation, InvestmentRequest
from portfolio import events
from portfolio.models import PortfolioSettings


def allocations(ids: Sequence[int]) -> dict[int, Any]:
    currency = PortfolioSettings.load().currency
    rows = allocation_rows(FundingAllocation.objects.filter(pk__in=ids))
    return {row["id"]: ALLOCATION.one(row, currency=currency) for row in rows}


def requests(ids: Sequence[int]) -> dict[int, Any]:
    currency = PortfolioSettings.load().currency
    rows = request_rows(InvestmentRequest.objects.filter(pk__in=ids))
    return {row["id"]: INVESTMENT_REQUEST.one(row, currency=currency) for row in rows}


def register() -> None:
    events.register_representation("funding_allocation", allocations)
    events.register_representation("investment_request", requests)
