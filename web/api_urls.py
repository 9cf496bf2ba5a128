"""The /api/v1/ router. Route names carry an `api-` prefix so they never clash with the pages'
(`product-detail` is the product page; `api-product-detail` is this API's)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.views import ApiTokenViewSet, LockoutViewSet
from analytics.api.views import (
    AnalyticsRunViewSet,
    CandidateViewSet,
    OwnerLoadViewSet,
    ReadinessViewSet,
    SplitSignalViewSet,
)
from backlog.api.views import BacklogItemViewSet
from funding.api.views import AllocationViewSet, InvestmentRequestViewSet
from metrics.api.views import MetricStatusViewSet, MetricViewSet, ReadingViewSet
from portfolio.api.events import EventFeedView
from portfolio.api.views import PortfolioSettingsView
from products.api.imports import ImportViewSet
from products.api.views import (
    ClusterViewSet,
    PersonViewSet,
    ProductViewSet,
    TeamViewSet,
    UnitViewSet,
)
from reviews.api.views import (
    ActionItemViewSet,
    DecisionViewSet,
    PacketViewSet,
    ReviewCycleViewSet,
    ReviewViewSet,
)
from webhooks.api.views import WebhookViewSet


class Router(DefaultRouter):
    """DefaultRouter plus single-object endpoints that are not collections.

    The root (`/api/v1/`), the event feed and the settings come first: Django tries the
    patterns in order and keeps every one it tried on the match, and DefaultRouter puts the
    root after the 150 patterns of the collections, which cost the root and the feed about
    0.2 ms a request. Every prefix is distinct, so the order changes no match."""

    def get_urls(self):
        urls = super().get_urls()
        root = [url for url in urls if url.name == self.root_view_name]
        return [
            *root,
            path("events/", EventFeedView.as_view(), name="api-events"),
            path("settings/", PortfolioSettingsView.as_view(), name="api-settings"),
            *(url for url in urls if url.name != self.root_view_name),
        ]


router = Router()
router.register("products", ProductViewSet, basename="api-product")
router.register("clusters", ClusterViewSet, basename="api-cluster")
router.register("people", PersonViewSet, basename="api-person")
router.register("teams", TeamViewSet, basename="api-team")
router.register("units", UnitViewSet, basename="api-unit")
router.register("imports", ImportViewSet, basename="api-import")
router.register("backlog-items", BacklogItemViewSet, basename="api-backlog-item")
router.register("metrics", MetricViewSet, basename="api-metric")
router.register("metric-readings", ReadingViewSet, basename="api-metric-reading")
router.register("metric-status", MetricStatusViewSet, basename="api-metric-status")
router.register("owner-load", OwnerLoadViewSet, basename="api-owner-load")
router.register("split-signals", SplitSignalViewSet, basename="api-split-signal")
router.register("candidates", CandidateViewSet, basename="api-candidate")
router.register("readiness", ReadinessViewSet, basename="api-readiness")
router.register("analytics-runs", AnalyticsRunViewSet, basename="api-analytics-run")
router.register("review-cycles", ReviewCycleViewSet, basename="api-review-cycle")
router.register("reviews", ReviewViewSet, basename="api-review")
router.register("review-packets", PacketViewSet, basename="api-review-packet")
router.register("decisions", DecisionViewSet, basename="api-decision")
router.register("action-items", ActionItemViewSet, basename="api-action-item")
router.register("funding-allocations", AllocationViewSet, basename="api-funding-allocation")
router.register("investment-requests", InvestmentRequestViewSet, basename="api-investment-request")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("lockouts", LockoutViewSet, basename="api-lockout")
router.register("webhooks", WebhookViewSet, basename="api-webhook")
