"""Permission rules that need the catalogue: who owns which unit.

Roles:
- leader: a superuser or a member of the "Portfolio leaders" group; edits everything.
- owner: a login linked to a person who owns at least one unit; edits the units they own.
- viewer: any other login; reads everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from portfolio.errors import Forbidden
from portfolio.permissions import AnyUser, Role, is_leader
from products.models import OwnershipUnit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def role_of(user: AnyUser) -> str | None:
    if not user.is_authenticated:
        return None
    if is_leader(user):
        return Role.LEADER

    if OwnershipUnit.objects.filter(owner__user=user, is_active=True).exists():
        return Role.OWNER
    return Role.VIEWER


def can_edit_unit(user: AnyUser, unit: OwnershipUnit) -> TypeGuard[User]:
    if is_leader(user):
        return True
    if not user.is_authenticated or unit.owner_id is None:
        return False
    return unit.owner is not None and unit.owner.user_id == user.pk


def require_unit_editor(user: AnyUser, unit: OwnershipUnit, action: str) -> User:
    """Refuse anyone but the unit's owner or a leader; returns their login."""
    if not can_edit_unit(user, unit):
        raise Forbidden(
            f"Only the owner of {unit.name} or a portfolio leader can {action}.",
            rule="unit_owner_or_leader",
        )
    return user
