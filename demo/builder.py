"""Build the demo portfolio: every step of demo/, in the order their data needs."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from analytics.models import Snapshot
from backlog.models import BacklogItem
from demo.analytics import seed_analytics
from demo.backlog import seed_backlogs
from demo.catalogue import (
    seed_clusters,
    seed_departures,
    seed_dependencies,
    seed_history_dates,
    seed_lifecycles,
    seed_logins,
    seed_people,
    seed_products,
    seed_teams,
)
from demo.common import BuildReport, BuildState
from demo.funding import seed_allocations, seed_investment_requests
from demo.metrics import seed_metrics
from demo.reviews import seed_current_cycle, seed_current_packets, seed_past_reviews
from funding.models import FundingAllocation, InvestmentRequest
from metrics.models import Metric
from portfolio.models import PortfolioSettings
from reviews.models import Packet, PacketStatus, Review


def _run(state: BuildState) -> BuildReport:
    PortfolioSettings.load()
    seed_logins(state)
    state.log(f"logins ready ({len(state.users)})")
    seed_people(state)
    seed_teams(state)
    seed_clusters(state)
    state.log(
        f"{len(state.people)} people, {len(state.teams)} teams, {len(state.clusters)} clusters"
    )
    seed_products(state)
    seed_dependencies(state)
    seed_lifecycles(state)
    seed_history_dates(state)
    state.log(f"{len(state.products)} products with their dependencies and lifecycles")
    seed_backlogs(state)
    state.log(f"backlogs ready ({BacklogItem.objects.count()} items)")
    seed_metrics(state)
    state.log(f"metrics ready ({Metric.objects.count()})")
    # Last: a departed owner can no longer be given units, so people leave after.
    seed_departures(state)
    # This year's allocations were set at its start, so last quarter's packets show them;
    # the requests came in this quarter, after those packets were frozen.
    seed_allocations(state)
    # Then the reviews: last quarter held, this quarter scheduled (an owner who left
    # still owned their units last quarter, so departures come first either way).
    reviews_before = Review.objects.count()
    seed_past_reviews(state)
    seed_investment_requests(state)
    state.log(
        f"funding ready ({FundingAllocation.objects.count()} allocations, "
        f"{InvestmentRequest.objects.count()} investment requests)"
    )
    cycle = seed_current_cycle(state)
    state.log(f"review cycles ready ({Review.objects.count()} reviews)")
    # Then the analytics, over everything above (readiness sees the scheduled reviews,
    # candidates the ones held and reactive funding, the strategic signal the requests
    # above the threshold); a build that added reviews or changed funding computes a fresh
    # snapshot.
    seed_analytics(
        state, again_today=Review.objects.count() != reviews_before or state.funding_changed
    )
    state.log(f"analytics ready ({Snapshot.objects.done().count()} snapshots)")
    # Last, this quarter's packets: they read the analytics and last quarter's record.
    seed_current_packets(state, cycle)
    state.log(f"packets ready ({Packet.objects.filter(status=PacketStatus.DONE).count()})")
    return state.report


def build(log: Callable[[str], None] | None = None, *, pdfs: bool = True) -> BuildReport:
    """Create or bring up to date the demo portfolio, all in one transaction. `pdfs=False`
    skips printing the first review day's packets (the tests, which do not read them)."""
    with transaction.atomic():
        return _run(BuildState(log=log or (lambda message: None), pdfs=pdfs))
