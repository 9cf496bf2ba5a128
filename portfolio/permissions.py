"""The leader rule and the role names. HTML views, the API and services all ask here; the
rules that need the catalogue (who owns which unit) are in products/permissions.py.

Roles:
- leader: a superuser or a member of the "Portfolio leaders" group; edits everything.
- owner: a login linked to a person who owns at least one unit; edits the units they own.
- viewer: any other login; reads everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypeGuard

from portfolio.errors import Forbidden

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Who is asking: `request.user`, a login or anonymous. Services take it as `actor`, selectors
# and queryset methods as `user`, and the rules below decide from it.
AnyUser: TypeAlias = "User | AnonymousUser"

LEADERS_GROUP = "Portfolio leaders"


class Role:
    LEADER = "leader"
    OWNER = "owner"
    VIEWER = "viewer"


def is_leader(user: AnyUser) -> TypeGuard[User]:
    if not getattr(user, "is_authenticated", False):
        return False
    cached: bool | None = getattr(user, "_is_leader", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name=LEADERS_GROUP).exists()
        # Cached on the user object for the rest of the request (not a declared attribute).
        user._is_leader = cached  # type: ignore[union-attr]
    return cached


def known_leader(user: AnyUser) -> bool | None:
    """`is_leader(user)` if it is known without a query (a superuser, or already asked in this
    request), else None: for a service that answers the question inside its own statement
    (and then tells `remember_leader`)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return getattr(user, "_is_leader", None)


def remember_leader(user: AnyUser, leader: bool) -> None:
    """Keep an answer to `is_leader(user)` found elsewhere for the rest of the request."""
    if getattr(user, "is_authenticated", False):
        user._is_leader = leader  # type: ignore[union-attr]


def require_leader(user: AnyUser, action: str) -> User:
    """Refuse anyone but a portfolio leader; returns the leader's login."""
    if not is_leader(user):
        raise Forbidden(f"Only a portfolio leader can {action}.", rule="leader_only")
    return user
