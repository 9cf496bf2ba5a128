"""Writes on people, teams, clusters and the portfolio settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from portfolio.errors import ValidationFailed
from portfolio.models import Cluster, Person, PortfolioSettings, Team
from portfolio.permissions import require_leader, require_unit_editor
from portfolio.validation import full_clean_or_fail


@transaction.atomic
def person_create(*, actor, name: str, email: str, **fields: Any) -> Person:
    require_leader(actor, "add people")
    person = Person(name=name, email=(email or "").strip().lower(), **fields)
    full_clean_or_fail(person)
    person._history_user = actor
    person.save()
    return person


@transaction.atomic
def person_update(*, actor, person: Person, **changes: Any) -> Person:
    require_leader(actor, "edit people")
    from portfolio.tasks import dispatch_departure_notice

    person = Person.objects.select_for_update().get(pk=person.pk)
    was_active = person.active
    if "email" in changes:
        changes["email"] = (changes["email"] or "").strip().lower()
    for name, value in changes.items():
        setattr(person, name, value)
    if person.active:
        person.departed_on = None
    elif person.departed_on is None:
        person.departed_on = timezone.localdate()
    full_clean_or_fail(person)
    person._history_user = actor
    person.save()
    if was_active and not person.active:
        dispatch_departure_notice(person)
    return person


def person_depart(*, actor, person: Person) -> Person:
    """Mark a person as departed: their units are left without an accountable owner."""
    return person_update(actor=actor, person=person, active=False)


@transaction.atomic
def team_create(*, actor, name: str, slug: str = "", members=(), **fields: Any) -> Team:
    require_leader(actor, "add teams")
    team = Team(name=name, slug=slug or slugify(name), **fields)
    full_clean_or_fail(team)
    team._history_user = actor
    team.save()
    team.members.set(members)
    return team


@transaction.atomic
def team_update(*, actor, team: Team, members=None, **changes: Any) -> Team:
    require_leader(actor, "edit teams")
    team = Team.objects.select_for_update().get(pk=team.pk)
    for name, value in changes.items():
        setattr(team, name, value)
    full_clean_or_fail(team)
    team._history_user = actor
    team.save()
    if members is not None:
        team.members.set(members)
    return team


def _clean_reasons(reasons: list[str] | None) -> list[str]:
    reasons = list(dict.fromkeys(reasons or []))
    return reasons


@transaction.atomic
def cluster_create(
    *,
    actor,
    name: str,
    slug: str = "",
    owner: Person | None = None,
    reasons: list[str] | None = None,
    **fields: Any,
) -> Cluster:
    """Create a cluster and its ownership unit. Members join through product_set_cluster."""
    from products.models import OwnershipUnit, UnitKind

    require_leader(actor, "design clusters")
    cluster = Cluster(
        name=name, slug=slug or slugify(name), reasons=_clean_reasons(reasons), **fields
    )
    full_clean_or_fail(cluster)
    if owner is not None and not owner.is_accountable:
        raise ValidationFailed({"owner": [f"{owner.name} has left or cannot log in."]})
    cluster._history_user = actor
    cluster.save()
    unit = OwnershipUnit(kind=UnitKind.CLUSTER, cluster=cluster, owner=owner)
    unit._history_user = actor
    unit.save()
    return cluster


@transaction.atomic
def cluster_update(*, actor, cluster: Cluster, **changes: Any) -> Cluster:
    """Owners may describe their cluster; renaming, slugs and owners are for leaders."""
    from products.services import unit_assign_owner

    cluster = (
        Cluster.objects.select_for_update(of=("self",))
        .select_related("unit__owner")
        .get(pk=cluster.pk)
    )
    require_unit_editor(actor, cluster.unit, f"edit {cluster.name}")
    owner = changes.pop("owner", cluster.unit.owner)
    for name in ("name", "slug"):
        if name in changes and changes[name] != getattr(cluster, name):
            require_leader(actor, f"change a cluster's {name}")
    if "reasons" in changes:
        changes["reasons"] = _clean_reasons(changes["reasons"])
    for name, value in changes.items():
        setattr(cluster, name, value)
    full_clean_or_fail(cluster)
    cluster._history_user = actor
    cluster.save()
    if owner != cluster.unit.owner:
        unit_assign_owner(actor=actor, unit=cluster.unit, owner=owner)
    return cluster


@transaction.atomic
def cluster_delete(*, actor, cluster: Cluster) -> None:
    """Dissolve a cluster; its members go back to units of their own, owned as before."""
    from products.models import OwnershipUnit
    from products.services import product_set_cluster

    require_leader(actor, "dissolve clusters")
    # Locked first, so a product joining at the same moment either lands before (and is moved
    # out below) or is refused once the cluster is gone.
    unit = OwnershipUnit.objects.select_for_update().get(cluster_id=cluster.pk)
    for product in unit.products.all():
        product_set_cluster(actor=actor, product=product, cluster=None)
    cluster.delete()


@transaction.atomic
def portfolio_settings_update(*, actor, **changes: Any) -> PortfolioSettings:
    require_leader(actor, "change the portfolio settings")
    obj = PortfolioSettings.load()
    obj = PortfolioSettings.objects.select_for_update().get(pk=obj.pk)
    for name, value in changes.items():
        setattr(obj, name, value)
    full_clean_or_fail(obj)
    obj._history_user = actor
    obj.save()
    return obj
