"""Permission cases for the API token pages: everyone manages their own tokens; a leader may
revoke anyone's; someone else's token is not found for anyone else."""

from __future__ import annotations

from accounts.services import api_token_create
from tests.permissions.spec import Case, World, page_read

ANON = 302


def owners_token(w: World) -> dict:
    """A token of `w.owner`, made for the case."""
    token, _key = api_token_create(actor=w.owner, name="CMDB sync")
    return {"pk": token.pk}


def own_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": ANON, "viewer": 404, "owner": ok, "other_owner": 404, "leader": ok}


CASES = [
    Case("account-tokens", page_read()),
    # Everyone may make a token for themselves; the answer is the page with the new key.
    Case(
        "account-tokens",
        page_read(),
        method="post",
        data=lambda w: {"name": "Ticketing", "expires_at": ""},
    ),
    Case("account-token-revoke", own_or_leader(200), kwargs=owners_token),
    Case("account-token-revoke", own_or_leader(302), method="post", kwargs=owners_token),
    # The old single-token page sends everyone on to the tokens page (anonymous: to login).
    Case("account-token-old", page_read(viewer=302, owner=302, other_owner=302, leader=302)),
]
