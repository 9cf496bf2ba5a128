"""Permission cases for the accounts pages.

The single sign-on URLs answer everyone alike, anonymous included (they are how one signs in):
404 while single sign-on is not configured, as in this matrix. With a provider configured,
tests/sso/ walks them through a real one.
"""

from __future__ import annotations

from tests.permissions.spec import Case


def everyone(status: int) -> dict[str, int]:
    return {
        "anonymous": status,
        "viewer": status,
        "owner": status,
        "other_owner": status,
        "leader": status,
    }


CASES = [
    Case("oidc_authentication_init", everyone(404)),
    Case("oidc_authentication_init", everyone(405), method="post", label="not served"),
    Case("oidc_authentication_callback", everyone(404), query="?code=c&state=s"),
    Case("oidc_authentication_callback", everyone(405), method="post", label="not served"),
]
