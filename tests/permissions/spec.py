"""The permission matrix: every route, every role, one expected status.

Each app's cases live beside this file (cases_pages.py, cases_api.py). test_matrix.py walks
the URL conf and fails for any named route that has no case, so a new route cannot ship
without its permissions being written down.

Roles:
- anonymous: not logged in
- viewer: a login that owns nothing
- owner: owner of the unit the request targets (`world.product`, `world.cluster`)
- other_owner: owner of another unit (`world.other_product`)
- leader: member of the "Portfolio leaders" group
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "viewer", "owner", "other_owner", "leader")


@dataclass
class World:
    """The objects every case can point at (built fresh for each role)."""

    leader: Any
    viewer: Any
    owner: Any  # User
    owner_person: Any
    other_owner: Any
    other_owner_person: Any
    product: Any  # owned by owner, in its own unit
    cluster: Any  # owned by owner, with product `clustered` in it
    clustered: Any
    other_product: Any  # owned by other_owner
    team: Any
    departed_person: Any


@dataclass
class Case:
    url_name: str
    expect: dict[str, int]
    method: str = "get"
    kwargs: Callable[[World], dict] = field(default=lambda w: {})
    data: Callable[[World], dict] | None = None
    query: str = ""
    htmx: bool = False
    label: str = ""
    api: bool = False  # JSON body and token semantics

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url_name}{' ' + self.label if self.label else ''}"


def page_read(**overrides: int) -> dict[str, int]:
    """A page everyone logged in may read."""
    base = {"anonymous": 302, "viewer": 200, "owner": 200, "other_owner": 200, "leader": 200}
    return {**base, **overrides}


def api_read(**overrides: int) -> dict[str, int]:
    base = {"anonymous": 401, "viewer": 200, "owner": 200, "other_owner": 200, "leader": 200}
    return {**base, **overrides}
