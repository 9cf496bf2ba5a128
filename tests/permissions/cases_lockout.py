"""Permission cases for the sign-in lockout list (page and API) and the password pages.

The lockout list and its unlock are for leaders (403 for everyone else). Changing a password
needs a login; asking for a reset, and the pages the reset mail leads to, do not (someone who
forgot their password cannot sign in first).
"""

from __future__ import annotations

from tests.permissions.cases_pages import NOT_ALLOWED, everyone, leader_only
from tests.permissions.spec import Case

# Reachable without a login: the same answer for everyone.
OPEN = everyone(200, anonymous=200)
# A made-up link: the page says the link does not work (no token is ever checked true).
BAD_LINK = lambda w: {"uidb64": "MQ", "token": "abc-123"}  # noqa: E731

CASES = [
    Case("lockout-list", leader_only(200)),
    Case("lockout-list", NOT_ALLOWED, method="post"),
    Case("lockout-unlock", NOT_ALLOWED),
    Case(
        "lockout-unlock",
        leader_only(302),
        method="post",
        data=lambda w: {"username": "someone"},
    ),
    Case("lockout-unlock", leader_only(400), method="post", label="nothing named"),
    Case("password_change", everyone(200)),
    # A wrong current password: the form again, with the reason.
    Case(
        "password_change",
        everyone(200),
        method="post",
        data=lambda w: {"old_password": "not-it", "new_password1": "x", "new_password2": "x"},
    ),
    Case("password_change_done", everyone(200)),
    Case("password_reset", OPEN),
    Case(
        "password_reset",
        everyone(302, anonymous=302),
        method="post",
        data=lambda w: {"email": "nobody@example.org"},
    ),
    Case("password_reset_done", OPEN),
    Case("password_reset_confirm", OPEN, kwargs=BAD_LINK),
    Case("password_reset_complete", OPEN),
]

# /api/v1/lockouts/: leaders only; anonymous 401 as everywhere in the API.
API_LEADERS = {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403}

CASES += [
    Case("api-lockout-list", {**API_LEADERS, "leader": 200}, api=True),
    Case(
        "api-lockout-list",
        {**API_LEADERS, "viewer": 405, "owner": 405, "other_owner": 405, "leader": 405},
        method="post",
        api=True,
        data=lambda w: {},
    ),
    Case(
        "api-lockout-unlock",
        {**API_LEADERS, "leader": 200},
        method="post",
        api=True,
        data=lambda w: {"username": "someone"},
    ),
    Case(
        "api-lockout-unlock",
        {**API_LEADERS, "leader": 400},
        method="post",
        api=True,
        label="nothing named",
        data=lambda w: {},
    ),
    Case(
        "api-lockout-unlock",
        {**API_LEADERS, "viewer": 405, "owner": 405, "other_owner": 405, "leader": 405},
        api=True,
    ),
]
