"""One DRF exception handler for the whole API: every error body has the same shape.

{"code": "invalid", "detail": "...", "errors": {"field": ["message"]}, "rule": "..."}
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portfolio.api.parsers import PayloadTooLarge
from portfolio.errors import DomainError

# Errors about the body as a whole (not one field): their `errors` name it `body`.
BODY_ERRORS = (exceptions.ParseError, exceptions.UnsupportedMediaType, PayloadTooLarge)


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for i, item in enumerate(detail):
            if item:
                out.update(_flatten(item, f"{prefix}[{i}]" if prefix else f"[{i}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = next(iter(errors.values()), ["Invalid input."])[0]
        body = {"code": "invalid", "detail": first, "errors": errors}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        # Django's own limits, met when a form or multipart body is read: the same 413.
        exc = PayloadTooLarge(
            "The body is larger than this endpoint reads."
            if isinstance(exc, RequestDataTooBig)
            else "The body has more fields than this endpoint reads."
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
        }
        if isinstance(exc, BODY_ERRORS):
            response.data["errors"] = {"body": [str(exc.detail)]}
    return response
