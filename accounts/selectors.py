"""Reads of the accounts app: a user's API tokens, whom to ask for access; which sign-ins are
locked out now, and until when.

django-axes keeps one row per (username, address, browser) with its count of failed sign-ins
and the time of the last one. A lockout is a username, an address, or a pair of them (as
LOGIN_LOCKOUT_BY says) whose rows still inside the cool-off window add up to the failure limit.
A row leaves the window `cool-off` after its last failure, so a lockout ends once enough rows
have left that the rest add up to less than the limit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ApiToken
from portfolio.permissions import LEADERS_GROUP, AnyUser
from products.models import Person


def leader_names() -> list[str]:
    """The names of the portfolio leaders who are still here: whom to ask for access."""
    return list(
        Person.objects.filter(active=True, user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name=LEADERS_GROUP))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )


def api_tokens_of(*, user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (never the key: only its hash is stored)."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


# The parts of a sign-in a lockout can count by; the browser (user agent) is not offered.
COUNTED = ("username", "ip_address")


@dataclass(frozen=True)
class Lockout:
    """One locked username, address or pair, with what it added up from."""

    username: str | None  # None: every username from this address
    ip_address: str | None  # None: every address for this username
    failures: int
    last_attempt: dt.datetime
    ends_at: dt.datetime
    # For an account: the addresses its failures came from; for an address: the usernames it
    # tried. Sorted, at most a few shown.
    seen: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.username is not None and self.ip_address is not None:
            return "pair"
        return "account" if self.username is not None else "address"


def lockout_groups() -> list[tuple[str, ...]]:
    """The ways failures are counted (AXES_LOCKOUT_PARAMETERS), each as a tuple of fields."""
    groups: list[tuple[str, ...]] = []
    for item in settings.AXES_LOCKOUT_PARAMETERS:
        fields = (item,) if isinstance(item, str) else tuple(item)
        counted = tuple(f for f in COUNTED if f in fields)
        if counted and counted not in groups:
            groups.append(counted)
    return groups


def cool_off() -> dt.timedelta:
    value = settings.AXES_COOLOFF_TIME
    assert isinstance(value, dt.timedelta)  # settings.py builds it from LOGIN_LOCKOUT_MINUTES
    return value


def failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def _ends_at(
    rows: Sequence[tuple[dt.datetime, int]], limit: int, window: dt.timedelta
) -> dt.datetime:
    """When the failures in `rows` (time, count), oldest first, fall below `limit`."""
    remaining = sum(count for _, count in rows)
    for when, count in rows:
        remaining -= count
        if remaining < limit:
            return when + window
    return rows[-1][0] + window  # not reached: the caller passes locked groups only


def current_lockouts(*, now: dt.datetime | None = None) -> list[Lockout]:
    """Every lockout in force at `now`, the latest failure first. One query."""
    now = now or timezone.now()
    window = cool_off()
    limit = failure_limit()
    rows = list(
        AccessAttempt.objects.filter(attempt_time__gt=now - window)
        .order_by("attempt_time", "id")
        .values_list("username", "ip_address", "attempt_time", "failures_since_start")
    )
    lockouts: list[Lockout] = []
    for fields in lockout_groups():
        grouped: dict[tuple[str | None, ...], list[tuple[str | None, str | None, dt.datetime, int]]]
        grouped = defaultdict(list)
        for row in rows:
            values = {"username": row[0], "ip_address": row[1]}
            grouped[tuple(values[f] for f in fields)].append(row)
        for key, members in grouped.items():
            failures = sum(m[3] for m in members)
            if (
                failures < limit or None in key
            ):  # a sign-in without a username counts by address only
                continue
            named = dict(zip(fields, key, strict=True))
            username, address = named.get("username"), named.get("ip_address")
            if "username" in fields and "ip_address" not in fields:
                seen = _distinct(m[1] for m in members)
            elif "ip_address" in fields and "username" not in fields:
                seen = _distinct(m[0] for m in members)
            else:
                seen = []
            lockouts.append(
                Lockout(
                    username=username if "username" in fields else None,
                    ip_address=address if "ip_address" in fields else None,
                    failures=failures,
                    last_attempt=members[-1][2],
                    ends_at=_ends_at([(m[2], m[3]) for m in members], limit, window),
                    seen=seen,
                )
            )
    lockouts.sort(key=lambda lock: lock.last_attempt, reverse=True)
    return lockouts


def _distinct(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def lockout_of(
    *, username: str | None, ip_address: str | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the lockout that holds a sign-in as `username` from `ip_address` ends, if any."""
    ends = [
        lock.ends_at
        for lock in current_lockouts(now=now)
        if (lock.username is None or lock.username == username)
        and (lock.ip_address is None or lock.ip_address == ip_address)
    ]
    return max(ends, default=None)
