"""Security headers django-csp and Django's SecurityMiddleware do not send, and the CSP report
endpoint.

- `Permissions-Policy` switches off the browser features the portfolio never uses (camera,
  microphone, geolocation, payment, USB, ...), so a script that got in could not use them
  either. The policy is `settings.PERMISSIONS_POLICY`.
- `Reporting-Endpoints` names `/csp-report/` for the policy's `report-to` directive.
- `Cache-Control: private` on every answer to a logged-in user: portfolio data is never kept
  by a shared proxy. A view that already chose (`no-store` on a page with a secret) keeps its
  choice.

`csp_report` receives the browser's reports of what the Content-Security-Policy blocked and
logs each one at WARNING, so a violation in production is seen in the logs. It writes nothing
to the database: anyone may post to it, logged in or not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("portfolio.csp")

REPORT_ENDPOINT = "csp-endpoint"  # the group name `report-to` and `Reporting-Endpoints` share
# A genuine report is a few hundred bytes; a browser batching reports sends a few kilobytes.
MAX_REPORT_BYTES = 16 * 1024
# The report fields worth a log line, and how much of each to keep.
REPORT_FIELDS = (
    ("document-uri", "documentURL"),
    ("effective-directive", "effectiveDirective"),
    ("violated-directive", None),
    ("blocked-uri", "blockedURL"),
    ("source-file", "sourceFile"),
    ("line-number", "lineNumber"),
    ("script-sample", "sample"),
)
MAX_FIELD_CHARS = 300
MAX_REPORTS_LOGGED = 20


def permissions_policy(policy: Mapping[str, Iterable[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` -> `camera=(), fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


def sso_origin(issuer: str) -> str:
    """The scheme and host of a sign-in provider's issuer URL ('' for none)."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SecurityHeadersMiddleware:
    """Adds Permissions-Policy, Reporting-Endpoints and a private Cache-Control."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.permissions_policy = permissions_policy(settings.PERMISSIONS_POLICY)
        self.reporting_endpoints = f'{REPORT_ENDPOINT}="{settings.SECURITY_REPORT_PATH}"'

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # The log-out form on every page may be redirected to the sign-in provider's end of
        # session, which Chromium checks against form-action: the provider's origin is read
        # from the settings at each response (CSPMiddleware, outside this one, writes it).
        issuer = sso_origin(getattr(settings, "OIDC_ISSUER", ""))
        if issuer and issuer not in settings.FORM_ACTION_ORIGINS:
            setattr(response, "_csp_update", {"form-action": [issuer]})  # noqa: B010
        response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        response.headers.setdefault("Reporting-Endpoints", self.reporting_endpoints)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            cache_control = response.headers.get("Cache-Control", "")
            if "no-store" not in cache_control and "private" not in cache_control:
                patch_cache_control(response, private=True)
        return response


def _clip(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:MAX_FIELD_CHARS]


def _violations(payload: Any) -> list[dict[str, Any]]:
    """The violations in a report, in either format browsers send.

    `report-uri` (application/csp-report): {"csp-report": {"document-uri": ...}}.
    `report-to` (application/reports+json): [{"type": "csp-violation", "body": {...}}, ...].
    """
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [payload["csp-report"]]
    if isinstance(payload, list):
        return [
            item["body"]
            for item in payload
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
    return []


def _summary(violation: dict[str, Any]) -> dict[str, str]:
    summary = {}
    for old, new in REPORT_FIELDS:
        value = violation.get(old, violation.get(new) if new else None)
        if value not in (None, ""):
            summary[old] = _clip(value)
    return summary


@csrf_exempt  # browsers send reports without a CSRF token
@login_not_required  # and without the session cookie when they batch them (report-to)
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Logs the Content-Security-Policy violations a browser reports; 204, or 400/413."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_REPORT_BYTES:
        return HttpResponse("The report is too large.", status=413, content_type="text/plain")
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return HttpResponse("The report is too large.", status=413, content_type="text/plain")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return HttpResponse("The report is not JSON.", status=400, content_type="text/plain")
    violations = _violations(payload)
    if not violations:
        return HttpResponse(
            "The report holds no CSP violation.", status=400, content_type="text/plain"
        )
    for violation in violations[:MAX_REPORTS_LOGGED]:
        # %r keeps a hostile value on one line: no forged log lines.
        logger.warning("Content-Security-Policy violation: %r", _summary(violation))
    return HttpResponse(status=204)
