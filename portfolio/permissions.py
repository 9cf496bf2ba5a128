"""The permission rules, in one place. HTML views, the API and services all ask here.

Roles:
- leader: a superuser or a member of the "Portfolio leaders" group; edits everything.
- owner: a login linked to a person who owns at least one unit; edits the units they own.
- viewer: any other login; reads everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portfolio.errors import Forbidden

if TYPE_CHECKING:
    from products.models import OwnershipUnit

LEADERS_GROUP = "Portfolio leaders"


class Role:
    LEADER = "leader"
    OWNER = "owner"
    VIEWER = "viewer"


def is_leader(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_is_leader", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name=LEADERS_GROUP).exists()
        user._is_leader = cached
    return cached


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    if is_leader(user):
        return Role.LEADER
    from products.models import OwnershipUnit

    if OwnershipUnit.objects.filter(owner__user=user, is_active=True).exists():
        return Role.OWNER
    return Role.VIEWER


def can_edit_unit(user, unit: OwnershipUnit) -> bool:
    if is_leader(user):
        return True
    if not getattr(user, "is_authenticated", False) or unit.owner_id is None:
        return False
    return unit.owner.user_id == user.pk


def require_leader(user, action: str) -> None:
    if not is_leader(user):
        raise Forbidden(f"Only a portfolio leader can {action}.", rule="leader_only")


def require_unit_editor(user, unit: OwnershipUnit, action: str) -> None:
    if not can_edit_unit(user, unit):
        raise Forbidden(
            f"Only the owner of {unit.name} or a portfolio leader can {action}.",
            rule="unit_owner_or_leader",
        )
