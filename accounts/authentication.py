"""API token authentication: `Authorization: Token <key>`, checked against hashed, named tokens.

The hot path of a token call is one indexed SELECT (the token with its user and the user's
person, by the key's prefix) and one cache read (the failure counter of the caller's address);
`last_used_at` is written by a conditional UPDATE at most once a minute per token. The SELECT
is written once per process from the models' own fields (`TOKEN_SQL`): building it through
the ORM on every call cost more than running it.

Failed attempts are counted per client address in the shared cache. DRF's throttles run after
authentication and so never see a refused token: the counting happens here, before the key is
looked at, so that once an address has failed API_TOKEN_FAILURES times in the current window
even a correct token from it answers 429 with Retry-After until the window ends. Successful
calls are not counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.lockout import client_address as lockout_address
from accounts.models import PREFIX_LENGTH, ApiToken, hash_key
from portfolio.statements import columns

KEYWORD = "Token"
# Written at most this often per token: a token used every second costs one UPDATE a minute.
LAST_USED_EVERY = dt.timedelta(minutes=1)
# Longer than any key we make or took over from DRF (40); anything longer is refused unread.
MAX_KEY_LENGTH = 100


class TooManyFailures(exceptions.Throttled):
    default_detail = "Too many failed token attempts from your address."
    default_code = "throttled"


def client_address(request: Request) -> str:
    """The caller's address, found as the lockout finds it (TRUSTED_PROXY_COUNT): one rule for
    which X-Forwarded-For entry to believe."""
    return lockout_address(request) or "unknown"


class FailureCounter:
    """Failed token attempts per address, in fixed windows of API_TOKEN_FAILURE_WINDOW seconds
    (a counter per address and window in the shared cache, gone when the window ends)."""

    def __init__(self, address: str) -> None:
        self.window = max(1, int(settings.API_TOKEN_FAILURE_WINDOW))
        self.limit = int(settings.API_TOKEN_FAILURES)
        now = time.time()
        self.retry_after = math.ceil(self.window - now % self.window)
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        self.key = f"api-token-failures:{digest}:{int(now // self.window)}"

    def check(self) -> None:
        """Refuse (429) an address that used up its failures in this window."""
        if (cache.get(self.key) or 0) >= self.limit:
            raise TooManyFailures(wait=self.retry_after)

    def record(self) -> None:
        if cache.add(self.key, 1, timeout=self.window + 1):
            return
        try:
            cache.incr(self.key)
        except ValueError:  # the window ended between the two calls: a new one starts
            cache.add(self.key, 1, timeout=self.window + 1)


def _refuse(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message)


def _key_from(header: list[bytes]) -> str:
    if len(header) == 1:
        raise _refuse("The Authorization header has no token: send `Token <key>`.")
    if len(header) > 2:
        raise _refuse("A token has no spaces: send `Token <key>`.")
    raw = header[1]
    if len(raw) > MAX_KEY_LENGTH or not raw.isascii():
        raise _refuse("Invalid token.")
    return raw.decode("ascii")


# The token, its user and the user's person (if any), every concrete field of each: what
# `ApiToken.objects.select_related("user__person").filter(prefix=...)` reads, without its
# default ordering (the key's hash picks the row). The person model is reached through the
# user's reverse one-to-one, so this layer does not import the catalogue.
_USER_MODEL = get_user_model()
_PERSON_RELATION: Any = _USER_MODEL._meta.get_field("person")
_PERSON_MODEL: Any = _PERSON_RELATION.related_model
_TOKEN_TABLE, TOKEN_FIELDS, _TOKEN_COLUMNS = columns(ApiToken)
_USER_TABLE, USER_FIELDS, _USER_COLUMNS = columns(_USER_MODEL)
_PERSON_TABLE, PERSON_FIELDS, _PERSON_COLUMNS = columns(_PERSON_MODEL)
_quote = connection.ops.quote_name
_USER_PK = f"{_USER_TABLE}.{_quote(_USER_MODEL._meta.pk.column)}"
_TOKEN_USER = f"{_TOKEN_TABLE}.{_quote(ApiToken._meta.get_field('user').column)}"
_PERSON_USER = f"{_PERSON_TABLE}.{_quote(_PERSON_RELATION.field.column)}"
_TOKEN_PREFIX = f"{_TOKEN_TABLE}.{_quote(ApiToken._meta.get_field('prefix').column)}"
TOKEN_SQL = (
    f"SELECT {', '.join(_TOKEN_COLUMNS + _USER_COLUMNS + _PERSON_COLUMNS)}"
    f" FROM {_TOKEN_TABLE} INNER JOIN {_USER_TABLE} ON {_USER_PK} = {_TOKEN_USER}"
    f" LEFT OUTER JOIN {_PERSON_TABLE} ON {_PERSON_USER} = {_USER_PK}"
    f" WHERE {_TOKEN_PREFIX} = %s"
)


def _token_from(row: tuple) -> ApiToken:
    """The row as model instances linked as select_related links them: `token.user` and
    `token.user.person` (None when the login has no person) need no query of their own."""
    db = connection.alias
    a, b = len(TOKEN_FIELDS), len(TOKEN_FIELDS) + len(USER_FIELDS)
    token = ApiToken.from_db(db, TOKEN_FIELDS, row[:a])
    user = _USER_MODEL.from_db(db, USER_FIELDS, row[a:b])
    person = None
    if row[b] is not None:
        person = _PERSON_MODEL.from_db(db, PERSON_FIELDS, row[b:])
        _PERSON_RELATION.field.set_cached_value(person, user)
    _PERSON_RELATION.set_cached_value(user, person)
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    return token


def _find(key: str) -> ApiToken:
    digest = hash_key(key)
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_SQL, [key[:PREFIX_LENGTH]])
        rows = cursor.fetchall()
    for row in rows:
        token = _token_from(row)
        if hmac.compare_digest(token.key_hash, digest):
            return token
    raise _refuse("Invalid token.")


def _check_usable(token: ApiToken, now: dt.datetime) -> None:
    if token.is_expired(now):
        assert token.expires_at is not None
        when = timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M %Z")
        raise _refuse(f"This token expired at {when}. Make a new one on your API tokens page.")
    user = token.user
    if not user.is_active:
        raise _refuse("The login this token belongs to is switched off.")
    person = getattr(user, "person", None)
    if person is not None and not person.active:
        raise _refuse("This token belongs to someone who has left; it no longer works.")


def mark_used(token: ApiToken, now: dt.datetime) -> None:
    """Stamp `last_used_at`, at most once a minute: a single conditional UPDATE, so processes
    answering the same token at the same moment write it once."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>` against the hashed, named tokens of accounts.ApiToken."""

    keyword = KEYWORD

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None  # not a token call: the session may still authenticate it
        counter = FailureCounter(client_address(request))
        counter.check()
        now = timezone.now()
        try:
            token = _find(_key_from(header))
            _check_usable(token, now)
        except exceptions.AuthenticationFailed:
            counter.record()
            raise
        mark_used(token, now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
