"""The demo catalogue, made through the services as the demo leader: logins, people, teams,
clusters, products with their dependencies, and each product's lifecycle and its history."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from demo.catalogue_people import ADMIN_USERNAME, CLUSTERS, PEOPLE, TEAMS
from demo.catalogue_products import PRODUCTS
from demo.catalogue_specs import (
    EMAIL_DOMAIN,
    GROWTH,
    INTRO,
    MATURITY,
    RETIRED,
    RETIREMENT,
    ProductSpec,
)
from demo.common import BuildState
from portfolio.permissions import LEADERS_GROUP
from products.models import Cluster, LifecycleTransition, ManagementModel, Person, Product, Team
from products.services import (
    MigrationPlanInput,
    cluster_create,
    cluster_update,
    migration_plan_mark_done,
    person_create,
    person_update,
    product_create,
    product_set_cluster,
    product_transition,
    product_update,
    team_create,
    team_update,
    unit_assign_owner,
)

DEFAULT_PASSWORD = "demo-pass-2026"
# A fixed salt makes the stored hash the same on every run, so a re-run can tell whether a
# demo login still has the demo password without hashing once per user. Demo data only. It is
# long enough (over 128 bits) that Django does not re-hash it with a new salt at each login.
_DEMO_SALT = "itPortfolioDemoLoginSalt2026"
CMDB = "cmdb"

DEFAULT_REASONS = {
    (INTRO, GROWTH): "Early users are on board; now investing in capabilities and adoption.",
    (GROWTH, MATURITY): "Adoption has levelled off; the focus moves to performance and cost.",
    (MATURITY, RETIREMENT): "Superseded; the migration plan is agreed with its users.",
    (GROWTH, RETIREMENT): "Superseded; the migration plan is agreed with its users.",
    (INTRO, RETIREMENT): "Stopped after the pilot; the migration plan is agreed.",
    (RETIREMENT, RETIRED): "Migration finished and the old system switched off.",
}


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD


# --- Logins, people and teams --------------------------------------------------------------


def seed_logins(state: BuildState) -> None:
    User = get_user_model()
    encoded = make_password(demo_password(), salt=_DEMO_SALT)
    leaders, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
    wanted = [(spec.username, spec.email, spec) for spec in PEOPLE if spec.login]
    wanted.append((ADMIN_USERNAME, f"admin@{EMAIL_DOMAIN}", None))
    for username, email, spec in wanted:
        first, _, last = spec.name.partition(" ") if spec else ("", "", "")
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": email, "first_name": first, "last_name": last},
        )
        changed = created
        if user.password != encoded:
            user.password = encoded
            changed = True
        if spec is None and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            changed = True
        if changed:
            user.save()
            state.report.count("login", created)
        if spec is not None and spec.leader:
            user.groups.add(leaders)
        state.users[username] = user
    state.actor = state.users["leader"]


def seed_people(state: BuildState) -> None:
    for spec in PEOPLE:
        user = state.users.get(spec.username)
        person = Person.objects.filter(email=spec.email).first()
        if person is None:
            person = person_create(
                actor=state.actor,
                name=spec.name,
                email=spec.email,
                title=spec.title,
                user=user,
            )
            state.report.count("person", True)
        else:
            changes = {}
            if person.name != spec.name:
                changes["name"] = spec.name
            if person.title != spec.title:
                changes["title"] = spec.title
            if user is not None and person.user_id != user.pk:
                changes["user"] = user
            if changes:
                person = person_update(actor=state.actor, person=person, **changes)
                state.report.count("person", False)
        state.people[spec.username] = person


def seed_teams(state: BuildState) -> None:
    for spec in TEAMS:
        members = [state.people[m] for m in spec.members]
        team = Team.objects.filter(slug=spec.slug).first()
        if team is None:
            team = team_create(
                actor=state.actor,
                name=spec.name,
                slug=spec.slug,
                members=members,
                description=spec.description,
            )
            state.report.count("team", True)
        elif (
            team.name != spec.name
            or team.description != spec.description
            or set(team.members.values_list("pk", flat=True)) != {p.pk for p in members}
        ):
            team = team_update(
                actor=state.actor,
                team=team,
                name=spec.name,
                description=spec.description,
                members=members,
            )
            state.report.count("team", False)
        state.teams[spec.slug] = team


# --- Clusters ------------------------------------------------------------------------------


def seed_clusters(state: BuildState) -> None:
    for spec in CLUSTERS:
        owner = state.people[spec.owner] if spec.owner else None
        fields = {
            "name": spec.name,
            "description": spec.description,
            "reasons": list(spec.reasons),
            "reason_note": spec.reason_note,
        }
        cluster = Cluster.objects.select_related("unit").filter(slug=spec.slug).first()
        if cluster is None:
            cluster = cluster_create(actor=state.actor, slug=spec.slug, owner=owner, **fields)
            state.report.count("cluster", True)
        else:
            changes = {k: v for k, v in fields.items() if getattr(cluster, k) != v}
            if cluster.unit.owner_id != (owner.pk if owner else None) and (
                owner is None or owner.is_accountable
            ):
                changes["owner"] = owner
            if changes:
                cluster = cluster_update(actor=state.actor, cluster=cluster, **changes)
                state.report.count("cluster", False)
        state.clusters[spec.slug] = cluster


# --- Products ------------------------------------------------------------------------------


def _product_fields(state: BuildState, spec: ProductSpec) -> dict:
    is_project = spec.project_ends_in_days is not None
    return {
        "name": spec.name,
        "kind": spec.kind,
        "description": spec.description,
        "user_groups": "\n".join(spec.user_groups),
        "user_count": spec.user_count,
        "key_use_cases": "\n".join(spec.use_cases),
        "business_capabilities": "\n".join(spec.capabilities),
        "criticality": spec.criticality,
        "strategic": spec.strategic,
        "under_significant_change": spec.significant_change,
        "management_model": ManagementModel.PROJECT if is_project else ManagementModel.PRODUCT,
        "team": state.teams[spec.team] if spec.team else None,
    }


def seed_products(state: BuildState) -> None:
    for spec in PRODUCTS:
        fields = _product_fields(state, spec)
        cluster = state.clusters[spec.cluster] if spec.cluster else None
        owner = state.people[spec.owner] if spec.owner else None
        external_ids = [(CMDB, spec.cmdb_id)] if spec.in_cmdb else []
        product = Product.objects.select_related("unit").filter(slug=spec.slug).first()
        if product is None:
            if spec.project_ends_in_days is not None:
                fields["project_end_date"] = state.today + dt.timedelta(
                    days=spec.project_ends_in_days
                )
            product = product_create(
                actor=state.actor,
                slug=spec.slug,
                cluster=cluster,
                owner=owner,
                external_ids=external_ids,
                lifecycle_stage=spec.path[0],
                **fields,
            )
            state.report.count("product", True)
        else:
            product = _update_product(state, product, spec, fields, external_ids)
            if product.cluster != cluster and product.lifecycle_stage != RETIRED:
                product = product_set_cluster(
                    actor=state.actor, product=product, cluster=cluster, new_owner=owner
                )
            if (
                cluster is None
                and product.unit.owner_id != (owner.pk if owner else None)
                and (owner is None or owner.is_accountable)
            ):
                unit_assign_owner(actor=state.actor, unit=product.unit, owner=owner)
        state.products[spec.slug] = product


def _update_product(state: BuildState, product, spec, fields, external_ids) -> Product:
    changes = {k: v for k, v in fields.items() if getattr(product, k) != v}
    if "management_model" in changes or (
        spec.project_ends_in_days is not None and product.project_end_date is None
    ):
        changes["project_end_date"] = (
            state.today + dt.timedelta(days=spec.project_ends_in_days)
            if spec.project_ends_in_days is not None
            else None
        )
    current_ids = sorted(product.external_ids.values_list("source", "external_id"))
    if current_ids != sorted(external_ids):
        changes["external_ids"] = external_ids
    if changes:
        product = product_update(actor=state.actor, product=product, **changes)
        state.report.count("product", False)
    return product


def seed_dependencies(state: BuildState) -> None:
    for spec in PRODUCTS:
        product = state.products[spec.slug]
        wanted = {state.products[slug].pk for slug in spec.depends_on}
        current = set(product.dependencies.values_list("pk", flat=True))
        if current != wanted:
            product_update(
                actor=state.actor,
                product=product,
                dependencies=[state.products[slug] for slug in spec.depends_on],
            )
            state.report.count("dependency list", not current)


# --- Lifecycle -----------------------------------------------------------------------------


def seed_lifecycles(state: BuildState) -> None:
    for spec in PRODUCTS:
        product = Product.objects.get(pk=state.products[spec.slug].pk)
        current = product.lifecycle_stage
        if current == spec.stage or current not in spec.path:
            continue  # done, or moved by hand to a stage outside the demo's path
        start = len(spec.path) - 1 - spec.path[::-1].index(current)
        for to_stage in spec.path[start + 1 :]:
            _move(state, spec, product, to_stage)
            product.lifecycle_stage = to_stage


def seed_history_dates(state: BuildState) -> None:
    """Give each product a past: it entered the portfolio one to six years ago, and its
    recorded lifecycle moves are spread from then to between one month and about a year
    ago, so pages and packets show how long a product has been in its stage. Only rows
    the seed has just written move (a product already dated is left alone), so a re-seed
    changes nothing."""
    fresh = timezone.now() - dt.timedelta(days=2)
    for spec in PRODUCTS:
        product = Product.objects.get(pk=state.products[spec.slug].pk)
        if product.created_at < fresh:
            continue
        h = int(hashlib.sha256(spec.slug.encode()).hexdigest(), 16)
        entered = timezone.now() - dt.timedelta(days=365 * (1 + h % 6) + h % 90)
        last_move = timezone.now() - dt.timedelta(days=30 + (h // 7) % 330)
        moves = list(LifecycleTransition.objects.filter(product=product).order_by("at", "pk"))
        steps = max(len(moves) - 1, 1)
        for i, move in enumerate(moves):
            at = entered + (last_move - entered) * (i / steps) if i else entered
            LifecycleTransition.objects.filter(pk=move.pk).update(at=at)
        stage_since = last_move if len(moves) > 1 else entered
        Product.objects.filter(pk=product.pk).update(
            created_at=entered, stage_changed_at=stage_since
        )


def _move(state: BuildState, spec: ProductSpec, product: Product, to_stage: str) -> None:
    from_stage = product.lifecycle_stage
    reason = spec.reasons.get(to_stage) or DEFAULT_REASONS.get((from_stage, to_stage), "")
    plan = None
    override = False
    retirement = spec.retirement
    if to_stage == RETIREMENT:
        assert retirement is not None, f"{spec.slug} enters retirement without a plan"
        plan = MigrationPlanInput(
            planned_end_date=state.today + dt.timedelta(days=retirement.ends_in_days),
            targets=[state.products[slug] for slug in retirement.targets],
            capability_dropped=bool(retirement.dropped_reason),
            dropped_reason=retirement.dropped_reason,
        )
    elif to_stage == RETIRED:
        if retirement and retirement.override_reason:
            override, reason = True, retirement.override_reason
        else:
            migration_plan_mark_done(actor=state.actor, product=product)
    product_transition(
        actor=state.actor,
        product=product,
        to_stage=to_stage,
        reason=reason,
        migration_plan=plan,
        override=override,
    )
    state.report.count("transition", True)


# --- Departures and switched-off logins ----------------------------------------------------


def seed_departures(state: BuildState) -> None:
    for spec in PEOPLE:
        person = Person.objects.get(pk=state.people[spec.username].pk)
        if spec.departed_days_ago is not None and person.active:
            person_update(
                actor=state.actor,
                person=person,
                active=False,
                departed_on=state.today - dt.timedelta(days=spec.departed_days_ago),
            )
            state.report.count("departure", True)
        user = state.users.get(spec.username)
        if user is not None and user.is_active == spec.login_disabled:
            user.is_active = not spec.login_disabled
            user.save(update_fields=["is_active"])
            state.report.count("login switched off" if spec.login_disabled else "login", True)
