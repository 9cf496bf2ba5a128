"""The one error vocabulary of the domain.

Services raise these; the API's exception handler (portfolio/api/errors.py) turns them into
JSON bodies and HTML views into form errors. Each names the field or the rule at fault.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            body["errors"] = {self.field: [self.message]}
        if self.rule:
            body["rule"] = self.rule
        return body


class ValidationFailed(DomainError):
    """Input is malformed or incomplete; `errors` maps each field to its messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]] | str, *, field: str | None = None):
        if isinstance(errors, str):
            errors = {field or "non_field_errors": [errors]}
        self.errors = errors
        first_field = next(iter(errors))
        super().__init__(errors[first_field][0], field=first_field)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.message, "errors": self.errors}


class RuleViolation(DomainError):
    """The input is well formed but a domain rule forbids the change (e.g. a lifecycle move)."""

    status_code = 409
    code = "rule_violation"


class Forbidden(DomainError):
    """The user may see the object but not change it this way."""

    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Gone(DomainError):
    """What was asked for existed once and was removed for good (e.g. events past retention)."""

    status_code = 410
    code = "gone"


class StaleVersion(DomainError):
    """The object changed since the client read it."""

    status_code = 412
    code = "stale_version"
