"""Permission cases for /api/v1/tokens/: everyone lists and makes their own tokens; a token
is visible and revocable by its user and by leaders, and not found for anyone else."""

from __future__ import annotations

from tests.permissions.cases_api import NOT_ALLOWED, api
from tests.permissions.cases_tokens_pages import owners_token
from tests.permissions.spec import api_read


def own_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 404, "owner": ok, "other_owner": 404, "leader": ok}


CASES = [
    api("api-token-list", api_read()),
    # Another login's tokens: a leader sees them, anyone else an empty list.
    api("api-token-list", api_read(), query="?user=1", label="by user"),
    api(
        "api-token-list",
        api_read(viewer=201, owner=201, other_owner=201, leader=201),
        "post",
        data=lambda w: {"name": "CMDB sync"},
    ),
    api("api-token-detail", own_or_leader(200), kwargs=owners_token),
    api("api-token-detail", own_or_leader(204), "delete", kwargs=owners_token),
    api("api-token-detail", NOT_ALLOWED, "patch", kwargs=owners_token, data=lambda w: {}),
]
