"""Writes on products: create, update, ownership, cluster membership, lifecycle moves.

Every function owns its transaction, checks who may do it, validates, and records history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from portfolio import events, outbox
from portfolio.errors import RuleViolation, ValidationFailed
from portfolio.permissions import AnyUser, is_leader, require_leader
from portfolio.validation import full_clean_or_fail
from portfolio.versioning import check_version
from products.models import (
    PRODUCT_FIELDS,
    Cluster,
    ExternalId,
    LifecycleTransition,
    ManagementModel,
    MigrationPlan,
    OwnershipUnit,
    Person,
    Product,
    Stage,
    Team,
    UnitKind,
)
from products.permissions import require_unit_editor
from products.rules import (
    EXTERNAL_ID_MESSAGE,
    SOURCE_MESSAGE,
    Refusal,
    allowed_moves,
    cluster_owner_refusal,
    dependency_cycle_refusal,
    effective_end_date,
    end_date_refusal,
    external_id_refusal,
    field_refusals,
    join_cluster_refusal,
    new_product_stage_refusal,
    owner_refusal,
    refuse,
    self_dependency_refusal,
    stage_change_refusal,
    transition_refusal,
)

__all__ = ["allowed_moves"]  # the pages read the lifecycle's moves from here

# Fields any editor of the product's unit may change; the rest need a leader.
OWNER_EDITABLE_FIELDS = (set(PRODUCT_FIELDS) - {"strategic"}) | {"team"}
LEADER_ONLY_FIELDS = {"strategic"}


def unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:150] or "product"
    slug, n = base, 2
    qs = Product.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_external_ids(product: Product | None, external_ids: list[tuple[str, str]]) -> None:
    errors: list[str] = []
    seen_sources: set[str] = set()
    for source, ext_id in external_ids:
        # The same limits as the bulk upsert's external_id (products/rules.py).
        refusal = external_id_refusal(source, ext_id)
        if refusal is not None and refusal.message == SOURCE_MESSAGE:
            errors.append(f"'{source}': {SOURCE_MESSAGE}")
            continue
        if refusal is not None:
            errors.append(f"The id for source '{source}': {EXTERNAL_ID_MESSAGE}")
        if source in seen_sources:
            errors.append(f"Source '{source}' appears twice; a product has one id per source.")
        seen_sources.add(source)
        taken = ExternalId.objects.filter(source=source, external_id=ext_id)
        if product is not None:
            taken = taken.exclude(product=product)
        if taken.exists():
            errors.append(f"{source}:{ext_id} already belongs to another product.")
    if errors:
        raise ValidationFailed({"external_ids": errors})


def _set_external_ids(product: Product, external_ids: list[tuple[str, str]]) -> None:
    wanted = dict(external_ids)
    product.external_ids.exclude(source__in=wanted).delete()
    existing = {e.source: e for e in product.external_ids.all()}
    for source, ext_id in wanted.items():
        current = existing.get(source)
        if current is None:
            ExternalId.objects.create(product=product, source=source, external_id=ext_id)
        elif current.external_id != ext_id:
            current.external_id = ext_id
            current.save(update_fields=["external_id"])


def _check_dependencies(product: Product | None, dependencies: list[Product]) -> None:
    refuse(
        [
            self_dependency_refusal(
                product_id=product.pk if product is not None else None,
                dependency_ids=[d.pk for d in dependencies],
            )
        ]
    )
    if product is not None and dependencies:
        path = _dependency_path([d.pk for d in dependencies if d.pk != product.pk], product.pk)
        if path:
            slugs = dict(Product.objects.filter(pk__in=path).values_list("pk", "slug"))
            refuse([dependency_cycle_refusal([product.slug, *(slugs[i] for i in path)])])


def _dependency_path(start: list[int], target: int) -> list[int] | None:
    """Product ids from one of `start` along existing dependencies to `target`, if any: a
    dependency on one of `start` would close a cycle (the import checks its own the same way)."""
    if not start:
        return None
    through = connection.ops.quote_name(Product.dependencies.through._meta.db_table)
    sql = (
        "WITH RECURSIVE walk(id, path) AS ("
        "SELECT d, ARRAY[d] FROM unnest(%s::bigint[]) AS d "
        "UNION ALL "
        f"SELECT t.to_product_id, w.path || t.to_product_id FROM walk w JOIN {through} t "
        "ON t.from_product_id = w.id WHERE w.id <> %s AND NOT t.to_product_id = ANY(w.path)"
        ") SELECT path FROM walk WHERE id = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, target, target])
        row = cursor.fetchone()
    return list(row[0]) if row else None


@transaction.atomic
def product_create(
    *,
    actor: AnyUser,
    name: str,
    slug: str = "",
    owner: Person | None = None,
    cluster: Cluster | None = None,
    team: Team | None = None,
    external_ids: list[tuple[str, str]] | None = None,
    dependencies: list[Product] | None = None,
    lifecycle_stage: str = Stage.INTRODUCTION,
    **fields: Any,
) -> Product:
    """Create a product with its own ownership unit, joining `cluster` if one is given."""
    require_leader(actor, "add products to the portfolio")
    # The rules the bulk upsert applies to a new row, with the same names (products/rules.py).
    model = fields.get("management_model", ManagementModel.PRODUCT)
    refuse(
        [
            new_product_stage_refusal(lifecycle_stage),
            *field_refusals({"name": name, "slug": slug, "lifecycle_stage": lifecycle_stage}),
            *field_refusals(fields),
            end_date_refusal(model=model, end=effective_end_date(model=model, changes=fields)),
            owner_refusal(name=owner.name, accountable=owner.is_accountable)
            if owner is not None
            else None,
            cluster_owner_refusal(
                cluster_name=cluster.name,
                owner_id=owner.pk if owner is not None else None,
                cluster_owner_id=cluster.unit.owner_id,
            )
            if cluster is not None and owner is not None
            else None,
            join_cluster_refusal(stage=lifecycle_stage) if cluster is not None else None,
        ]
    )
    product = Product(
        name=name,
        slug=slug or unique_slug(name),
        team=team,
        lifecycle_stage=lifecycle_stage,
        **fields,
    )
    full_clean_or_fail(product, exclude=["unit"])
    _check_external_ids(None, external_ids or [])
    _check_dependencies(None, dependencies or [])
    product._history_user = actor
    product.save()
    own_unit = OwnershipUnit(
        kind=UnitKind.PRODUCT, product=product, owner=owner, is_active=cluster is None
    )
    own_unit._history_user = actor
    own_unit.save()
    product.unit = cluster.unit if cluster is not None else own_unit
    product.save(update_fields=["unit"])
    _set_external_ids(product, external_ids or [])
    if dependencies:
        product.dependencies.set(dependencies)
    LifecycleTransition.objects.create(
        product=product,
        from_stage=lifecycle_stage,
        to_stage=lifecycle_stage,
        actor=actor if actor.is_authenticated and actor.pk else None,
        reason="Added to the portfolio.",
    )
    events.record("product.created", product, actor=actor)
    return product


_UNSET = object()


@transaction.atomic
def product_update(
    *,
    actor: AnyUser,
    product: Product,
    owner: Any = _UNSET,
    cluster: Any = _UNSET,
    external_ids: list[tuple[str, str]] | None = None,
    dependencies: list[Product] | None = None,
    version: int | None = None,
    **changes: Any,
) -> Product:
    """Change a product's descriptive fields; owner and cluster go to their own services.
    With `version`, refuse if someone changed the product since that version."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    assert product.unit is not None  # NULL only inside product_create, before its unit exists
    check_version(product, version, name=product.name)
    require_unit_editor(actor, product.unit, f"edit {product.name}")
    before = events.values_of(product)
    unknown = set(changes) - OWNER_EDITABLE_FIELDS - LEADER_ONLY_FIELDS - {"lifecycle_stage"}
    if unknown:
        raise ValidationFailed({f: ["This field cannot be changed here."] for f in sorted(unknown)})
    if "lifecycle_stage" in changes:
        refuse(
            [
                stage_change_refusal(
                    name=product.name,
                    current=product.lifecycle_stage,
                    wanted=changes.pop("lifecycle_stage"),
                )
            ]
        )
    for name in LEADER_ONLY_FIELDS & set(changes):
        if changes[name] != getattr(product, name):
            require_leader(actor, f"change '{name}'")
    # The rules the bulk upsert applies to a row for an existing product (products/rules.py).
    model = changes.get("management_model", product.management_model)
    end = effective_end_date(model=model, changes=changes, current=product.project_end_date)
    refusals = [*field_refusals(changes), end_date_refusal(model=model, end=end)]
    if owner is not _UNSET:
        if (owner.pk if owner is not None else None) != product.unit.owner_id:
            require_leader(actor, "assign owners")
        refusals += _owner_refusals(product, owner, cluster)
    refuse(refusals)
    for name, value in changes.items():
        setattr(product, name, value)
    product.project_end_date = end
    full_clean_or_fail(product)
    if external_ids is not None:
        _check_external_ids(product, external_ids)
    if dependencies is not None:
        _check_dependencies(product, dependencies)
    product._history_user = actor
    product.save()
    changed = events.diff(before, events.values_of(product))
    if external_ids is not None:
        old_ids = sorted(product.external_ids.values_list("source", "external_id"))
        _set_external_ids(product, external_ids)
        new_ids = sorted(dict(external_ids).items())
        if [list(i) for i in old_ids] != [list(i) for i in new_ids]:
            changed["external_ids"] = [[list(i) for i in old_ids], [list(i) for i in new_ids]]
    if dependencies is not None:
        old_deps = sorted(product.dependencies.values_list("pk", flat=True))
        product.dependencies.set(dependencies)
        new_deps = sorted(d.pk for d in dependencies)
        if old_deps != new_deps:
            changed["dependencies"] = [old_deps, new_deps]
    if changed:
        events.record("product.updated", product, actor=actor, changed=changed)
    if cluster is not _UNSET and cluster != product.cluster:
        product = product_set_cluster(actor=actor, product=product, cluster=cluster)
    assert product.unit is not None
    # A cluster's members are owned by the cluster's owner, who is changed on the cluster.
    if owner is not _UNSET and product.unit.kind == UnitKind.PRODUCT and owner != product.owner:
        unit_assign_owner(actor=actor, unit=product.unit, owner=owner, field="owner")
    return product


def _owner_refusals(product: Product, owner: Person | None, cluster: Any) -> list[Refusal | None]:
    """The owner rules for the unit the product ends up in: its cluster's (the one it joins,
    or the one it is in) or its own."""
    if owner is None:
        return []
    unit = product.unit
    assert unit is not None
    if cluster is _UNSET:
        cluster, cluster_owner_id = unit.cluster, unit.owner_id
    elif cluster is not None:
        cluster_owner_id = cluster.unit.owner_id
    if cluster is not None:
        return [
            cluster_owner_refusal(
                cluster_name=cluster.name, owner_id=owner.pk, cluster_owner_id=cluster_owner_id
            )
        ]
    return [
        owner_refusal(
            name=owner.name,
            accountable=owner.is_accountable,
            already_owner=owner.pk == unit.owner_id and unit.kind == UnitKind.PRODUCT,
        )
    ]


@transaction.atomic
def unit_assign_owner(
    *, actor: AnyUser, unit: OwnershipUnit, owner: Person | None, field: str = "owner"
) -> OwnershipUnit:
    """Name the accountable owner of a unit (leaders only)."""
    require_leader(actor, "assign owners")
    unit = OwnershipUnit.objects.select_for_update().get(pk=unit.pk)
    if owner is not None and not owner.is_accountable:
        raise ValidationFailed({field: [f"{owner.name} has left or cannot log in."]})
    old_owner_id = unit.owner_id
    unit.owner = owner
    unit._history_user = actor
    unit.save(update_fields=["owner", "updated_at"])
    if unit.owner_id != old_owner_id:
        events.record(
            "unit.owner_assigned",
            unit,
            actor=actor,
            changed={"owner": [old_owner_id, unit.owner_id]},
        )
    return unit


@transaction.atomic
def product_set_cluster(
    *, actor: AnyUser, product: Product, cluster: Cluster | None, new_owner: Person | None = None
) -> Product:
    """Move a product into a cluster, between clusters, or out to a unit of its own.

    Joining puts the product under the cluster's unit and lets its own unit lie dormant;
    leaving wakes its own unit, owned by `new_owner` (or the cluster's owner if none is named).
    """
    require_leader(actor, "change cluster membership")
    product = (
        Product.objects.select_for_update(of=("self",)).select_related("unit").get(pk=product.pk)
    )
    old_unit = product.unit
    assert old_unit is not None
    own_unit = OwnershipUnit.objects.select_for_update().get(product=product)
    if cluster is not None:
        refuse([join_cluster_refusal(stage=product.lifecycle_stage)])
        # The cluster's unit row lock orders this join against a concurrent dissolution: once
        # that has committed, the row is gone and the join is refused instead of pointing at it.
        new_unit = OwnershipUnit.objects.select_for_update().filter(cluster_id=cluster.pk).first()
        if new_unit is None:
            raise ValidationFailed({"cluster": [f"{cluster.name} no longer exists."]})
        own_unit.is_active = False
    else:
        new_unit = own_unit
        own_unit.is_active = True
        own_unit.owner = new_owner or old_unit.owner
    if new_unit.pk == old_unit.pk and own_unit.is_active == (cluster is None):
        return product
    own_unit._history_user = actor
    own_unit.save()
    product.unit = new_unit
    product._history_user = actor
    product.save(update_fields=["unit", "updated_at"])
    events.record(
        "product.cluster_changed",
        product,
        actor=actor,
        changed={
            "unit": [old_unit.pk, new_unit.pk],
            "cluster": [old_unit.cluster_id, new_unit.cluster_id],
        },
    )
    for hook in UNIT_CHANGE_HOOKS:
        hook(product=product, old_unit=old_unit, new_unit=new_unit, actor=actor)
    return product


class UnitChangeHook(Protocol):
    def __call__(
        self,
        *,
        product: Product,
        old_unit: OwnershipUnit,
        new_unit: OwnershipUnit,
        actor: AnyUser,
    ) -> None: ...


# Later apps (backlog, funding) register here to carry their rows along on a membership change.
UNIT_CHANGE_HOOKS: list[UnitChangeHook] = []


@dataclass
class MigrationPlanInput:
    planned_end_date: dt.date | None = None
    targets: list[Product] = field(default_factory=list)
    capability_dropped: bool = False
    dropped_reason: str = ""


def _validate_plan(product: Product, plan: MigrationPlanInput | None) -> None:
    if plan is None:
        raise RuleViolation(
            "Entering retirement needs a migration plan: target products (or the capability "
            "marked as dropped, with a reason) and a planned end date.",
            field="migration_plan",
            rule="retirement_needs_migration_plan",
        )
    errors: dict[str, list[str]] = {}
    if plan.planned_end_date is None:
        errors["migration_plan.planned_end_date"] = ["A planned end date is required."]
    elif plan.planned_end_date < timezone.localdate():
        errors["migration_plan.planned_end_date"] = ["The planned end date cannot be in the past."]
    if plan.capability_dropped:
        if plan.targets:
            errors["migration_plan.targets"] = [
                "A dropped capability has no target; remove the targets or untick 'dropped'."
            ]
        if not plan.dropped_reason.strip():
            errors["migration_plan.dropped_reason"] = [
                "Say why the capability is dropped rather than migrated."
            ]
    elif not plan.targets:
        errors["migration_plan.targets"] = [
            "Name at least one target product, or mark the capability as dropped."
        ]
    for target in plan.targets:
        if target.pk == product.pk:
            errors.setdefault("migration_plan.targets", []).append(
                "A product cannot migrate to itself."
            )
        elif target.lifecycle_stage in (Stage.RETIREMENT, Stage.RETIRED):
            errors.setdefault("migration_plan.targets", []).append(
                f"{target.name} is itself being retired."
            )
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def product_transition(
    *,
    actor: AnyUser,
    product: Product,
    to_stage: str,
    reason: str = "",
    migration_plan: MigrationPlanInput | None = None,
    override: bool = False,
) -> LifecycleTransition:
    """Move a product to another lifecycle stage, enforcing the lifecycle rules."""
    product = (
        Product.objects.select_for_update(of=("self",))
        .select_related("unit__owner")
        .get(pk=product.pk)
    )
    assert product.unit is not None
    require_unit_editor(actor, product.unit, f"move {product.name} through its lifecycle")
    from_stage = product.lifecycle_stage
    reason = (reason or "").strip()
    refuse(
        [
            transition_refusal(
                name=product.name, from_stage=from_stage, to_stage=to_stage, reason=reason
            )
        ]
    )
    plan: MigrationPlan | None
    if to_stage == Stage.RETIREMENT:
        _validate_plan(product, migration_plan)
        assert migration_plan is not None  # _validate_plan refuses a missing plan
        plan, _ = MigrationPlan.objects.update_or_create(
            product=product,
            defaults={
                "planned_end_date": migration_plan.planned_end_date,
                "capability_dropped": migration_plan.capability_dropped,
                "dropped_reason": migration_plan.dropped_reason.strip(),
                "done": False,
                "done_at": None,
            },
        )
        plan.targets.set(migration_plan.targets)
    if to_stage == Stage.RETIRED:
        plan = MigrationPlan.objects.filter(product=product).first()
        if plan is None or not plan.done:
            if not override:
                raise RuleViolation(
                    "Retiring needs the migration plan marked done; a leader may override "
                    "with a reason.",
                    field="to_stage",
                    rule="retired_needs_plan_done",
                )
            if not is_leader(actor):
                raise RuleViolation(
                    "Only a portfolio leader may retire a product before its plan is done.",
                    field="override",
                    rule="override_needs_leader",
                )
            if not reason:
                raise ValidationFailed({"reason": ["An override needs a reason."]})
        else:
            override = False
    else:
        override = False
    product.lifecycle_stage = to_stage
    product.stage_changed_at = timezone.now()
    product._history_user = actor
    product.save(update_fields=["lifecycle_stage", "stage_changed_at", "updated_at"])
    transition = LifecycleTransition.objects.create(
        product=product,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor if actor.is_authenticated and actor.pk else None,
        reason=reason,
        override=override,
    )
    events.record(
        "product.transitioned",
        product,
        actor=actor,
        changed={"lifecycle_stage": [from_stage, to_stage]},
    )
    for hook in STAGE_CHANGE_HOOKS:
        hook(product=product, transition=transition, actor=actor)
    return transition


class StageChangeHook(Protocol):
    def __call__(
        self, *, product: Product, transition: LifecycleTransition, actor: AnyUser
    ) -> None: ...


# Later apps register here: the backlog freezes when a product is retired.
STAGE_CHANGE_HOOKS: list[StageChangeHook] = []


@transaction.atomic
def migration_plan_mark_done(
    *, actor: AnyUser, product: Product, done: bool = True
) -> MigrationPlan:
    product = Product.objects.select_related("unit__owner").get(pk=product.pk)
    assert product.unit is not None
    require_unit_editor(actor, product.unit, f"update the migration plan of {product.name}")
    plan = MigrationPlan.objects.select_for_update().filter(product=product).first()
    if plan is None:
        raise RuleViolation(
            f"{product.name} has no migration plan.", field="done", rule="no_migration_plan"
        )
    was_done = plan.done
    plan.done = done
    plan.done_at = timezone.now() if done else None
    plan._history_user = actor
    plan.save()
    if was_done != done:
        # The plan is part of the product's story; its feed is the product's.
        events.record(
            "product.updated",
            product,
            actor=actor,
            changed={"migration_plan_done": [was_done, done]},
        )
    return plan


# --- The guided question set that suggests product or project management -------------------

MODEL_QUESTIONS = [
    (
        "daily_users",
        "Do people rely on it day to day once it is live?",
        ManagementModel.PRODUCT,
    ),
    (
        "keeps_changing",
        "Will its users keep needing changes and improvements after delivery?",
        ManagementModel.PRODUCT,
    ),
    (
        "commodity_infrastructure",
        "Is it a commodity infrastructure part (a switch, a server, basic storage)?",
        ManagementModel.PROJECT,
    ),
    (
        "has_end",
        "Is it one-off work with a natural end (a migration, a compliance deadline, a "
        "one-time integration)?",
        ManagementModel.PROJECT,
    ),
]


@dataclass
class ModelSuggestion:
    model: str
    reasons: list[str]
    product_score: int
    project_score: int


def management_model_suggest(answers: dict[str, bool]) -> ModelSuggestion:
    """Suggest product or project management from yes/no answers; a person decides."""
    product_score = project_score = 0
    reasons: list[str] = []
    for key, question, leaning in MODEL_QUESTIONS:
        if answers.get(key):
            reasons.append(question.rstrip("?") + ": yes.")
            if leaning == ManagementModel.PRODUCT:
                product_score += 1
            else:
                project_score += 1
    # Ties lean to product: an owner costs less than a system nobody looks after.
    model = ManagementModel.PROJECT if project_score > product_score else ManagementModel.PRODUCT
    return ModelSuggestion(model, reasons, product_score, project_score)


@transaction.atomic
def person_create(*, actor: AnyUser, name: str, email: str, **fields: Any) -> Person:
    require_leader(actor, "add people")
    person = Person(name=name, email=(email or "").strip().lower(), **fields)
    full_clean_or_fail(person)
    person._history_user = actor
    person.save()
    events.record("person.created", person, actor=actor)
    return person


@transaction.atomic
def person_update(
    *, actor: AnyUser, person: Person, version: int | None = None, **changes: Any
) -> Person:
    require_leader(actor, "edit people")

    person = Person.objects.select_for_update().get(pk=person.pk)
    check_version(person, version, name=person.name)
    was_active = person.active
    before = events.values_of(person)
    if "email" in changes:
        changes["email"] = (changes["email"] or "").strip().lower()
    for name, value in changes.items():
        setattr(person, name, value)
    if person.active:
        person.departed_on = None
        person.departure_notice_sent_at = None  # a later departure is told again
    elif person.departed_on is None:
        person.departed_on = timezone.localdate()
    full_clean_or_fail(person)
    person._history_user = actor
    person.save()
    changed = events.diff(before, events.values_of(person))
    departed = was_active and not person.active
    if changed:
        kind = "person.departed" if departed else "person.updated"
        events.record(kind, person, actor=actor, changed=changed)
    if departed:
        dispatch_departure_notice(person)
    return person


def dispatch_departure_notice(person: Person) -> None:
    """Queue the leaders' notice for `person`'s departure through the outbox.

    Nothing is sent if the transaction rolls back; asking twice (say, the service and a
    caller both do) keeps one message, and the task sends one notice per departure.
    """
    outbox.enqueue(
        "products.tasks.notify_units_orphaned", person.pk, outbox_key=f"departure:{person.pk}"
    )


def departure_notice_claim(*, person_id: int) -> Person | None:
    """Lock the departed person for their notice; None when there is nothing to send (gone,
    back, or already told). Call inside a transaction that sends the notice and then
    `departure_notice_record`s it, so the notice goes once."""
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None or person.active or person.departure_notice_sent_at is not None:
        return None
    return person


def departure_notice_record(*, person: Person) -> None:
    """Stamp the departure's notice as sent (a bookkeeping field: no history entry)."""
    person.departure_notice_sent_at = timezone.now()
    Person.objects.filter(pk=person.pk).update(
        departure_notice_sent_at=person.departure_notice_sent_at
    )


def person_depart(*, actor: AnyUser, person: Person) -> Person:
    """Mark a person as departed: their units are left without an accountable owner."""
    return person_update(actor=actor, person=person, active=False)


@transaction.atomic
def team_create(
    *, actor: AnyUser, name: str, slug: str = "", members: Iterable[Person] = (), **fields: Any
) -> Team:
    require_leader(actor, "add teams")
    team = Team(name=name, slug=slug or slugify(name), **fields)
    full_clean_or_fail(team)
    team._history_user = actor
    team.save()
    team.members.set(members)
    events.record("team.created", team, actor=actor)
    return team


@transaction.atomic
def team_update(
    *,
    actor: AnyUser,
    team: Team,
    members: Iterable[Person] | None = None,
    version: int | None = None,
    **changes: Any,
) -> Team:
    require_leader(actor, "edit teams")
    team = Team.objects.select_for_update().get(pk=team.pk)
    check_version(team, version, name=team.name)
    before = events.values_of(team)
    for name, value in changes.items():
        setattr(team, name, value)
    full_clean_or_fail(team)
    team._history_user = actor
    team.save()
    changed = events.diff(before, events.values_of(team))
    if members is not None:
        old_members = sorted(team.members.values_list("pk", flat=True))
        team.members.set(members)
        new_members = sorted({m.pk for m in members})
        if old_members != new_members:
            changed["members"] = [old_members, new_members]
    if changed:
        events.record("team.updated", team, actor=actor, changed=changed)
    return team


def _clean_reasons(reasons: list[str] | None) -> list[str]:
    reasons = list(dict.fromkeys(reasons or []))
    return reasons


@transaction.atomic
def cluster_create(
    *,
    actor: AnyUser,
    name: str,
    slug: str = "",
    owner: Person | None = None,
    reasons: list[str] | None = None,
    **fields: Any,
) -> Cluster:
    """Create a cluster and its ownership unit. Members join through product_set_cluster."""

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
    events.record("cluster.created", cluster, actor=actor)
    return cluster


@transaction.atomic
def cluster_update(
    *, actor: AnyUser, cluster: Cluster, version: int | None = None, **changes: Any
) -> Cluster:
    """Owners may describe their cluster; renaming, slugs and owners are for leaders."""

    cluster = (
        Cluster.objects.select_for_update(of=("self",))
        .select_related("unit__owner")
        .get(pk=cluster.pk)
    )
    check_version(cluster, version, name=cluster.name)
    require_unit_editor(actor, cluster.unit, f"edit {cluster.name}")
    owner = changes.pop("owner", cluster.unit.owner)
    for name in ("name", "slug"):
        if name in changes and changes[name] != getattr(cluster, name):
            require_leader(actor, f"change a cluster's {name}")
    if "reasons" in changes:
        changes["reasons"] = _clean_reasons(changes["reasons"])
    before = events.values_of(cluster)
    for name, value in changes.items():
        setattr(cluster, name, value)
    full_clean_or_fail(cluster)
    cluster._history_user = actor
    cluster.save()
    changed = events.diff(before, events.values_of(cluster))
    if changed:
        events.record("cluster.updated", cluster, actor=actor, changed=changed)
    if owner != cluster.unit.owner:
        unit_assign_owner(actor=actor, unit=cluster.unit, owner=owner)
    return cluster


@transaction.atomic
def cluster_delete(*, actor: AnyUser, cluster: Cluster, version: int | None = None) -> None:
    """Dissolve a cluster; its members go back to units of their own, owned as before.
    With `version`, refuse if someone changed the cluster since that version."""

    require_leader(actor, "dissolve clusters")
    # Locked first, so a product joining at the same moment either lands before (and is moved
    # out below) or is refused once the cluster is gone.
    unit = OwnershipUnit.objects.select_for_update().get(cluster_id=cluster.pk)
    if version is not None:
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        check_version(cluster, version, name=cluster.name)
    for product in unit.products.all():
        product_set_cluster(actor=actor, product=product, cluster=None)
    events.record("cluster.deleted", cluster, actor=actor, data=None)
    cluster.delete()
