"""A URL conf for tests/pages/test_domain_errors.py: pages and API views that only raise, in
front of the real ones (the full error page links to them)."""

from __future__ import annotations

from django.urls import path
from rest_framework.views import APIView

from portfolio.errors import (
    DomainError,
    Forbidden,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from web import urls as web_urls

RAISED: dict[str, DomainError] = {
    "invalid": ValidationFailed(
        {"amount": ["Must be positive."], "purpose": ["Say what it is for."]}
    ),
    "forbidden": Forbidden("Only the owner may do this.", rule="unit_owner_or_leader"),
    "not_found": NotFound("No such backlog."),
    "rule_violation": RuleViolation("Retired is retired.", rule="retired_is_final"),
    "stale_version": StaleVersion("Someone changed it first.", rule="stale_version"),
}


def page(request, code: str):
    raise RAISED[code]


def broken(request):
    raise ZeroDivisionError("a bug, not a refusal")


class Refusing(APIView):
    def get(self, request):
        raise RAISED["rule_violation"]


urlpatterns = [
    path("page/<str:code>/", page),
    path("broken/", broken),
    path("api/v1/refusing/", Refusing.as_view()),
    path("api/v1/plain/<str:code>/", page),
    *web_urls.urlpatterns,
]
