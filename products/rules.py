"""The catalogue's write rules, as pure functions over plain values.

A product is written by two paths: the services (`product_create`, `product_update`,
`product_transition`, one product at a time, model instances) and the bulk upsert
(`products/bulk.py`, up to 10,000 rows as plain dicts, set-based SQL). Both call the functions
here, so a rule has one name, one message and one limit whichever path a write takes, and a
client sees the same `rule` (or the same field) from `products/`, `products/upsert/` and
`products/bulk-upsert/`.

Nothing here queries the database: each function takes the values it judges (the current
stage, whether a person is accountable, the owner of a cluster's unit), which the single path
reads from its instances and the bulk path from the rows it fetched once for the whole batch.
A function answers a `Refusal` (or None when the value is fine); the single path raises it with
`refuse()`, the bulk path adds it to the row's errors, rule name included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from portfolio.errors import RuleViolation, ValidationFailed
from products.models import (
    LIVE_STAGES,
    STAGE_ORDER,
    Criticality,
    Kind,
    ManagementModel,
    Stage,
)


@dataclass(frozen=True)
class Refusal:
    """Why a value is refused: `field` at fault and its message; `rule` when a domain rule
    refuses well-formed input (409 on a single write), None for bad input (400)."""

    field: str
    message: str
    rule: str | None = None


def refuse(refusals: Iterable[Refusal | None]) -> None:
    """Raise the domain error for a single write: a rule first (RuleViolation, 409, naming the
    rule), otherwise every field's messages at once (ValidationFailed, 400)."""
    found = [r for r in refusals if r is not None]
    for refusal in found:
        if refusal.rule:
            raise RuleViolation(refusal.message, field=refusal.field, rule=refusal.rule)
    if found:
        errors: dict[str, list[str]] = {}
        for refusal in found:
            errors.setdefault(refusal.field, []).append(refusal.message)
        raise ValidationFailed(errors)


# --- Field limits ----------------------------------------------------------------------------

NAME_MAX_LENGTH = 160
# Text columns and their longest value (None: unbounded). The model's max_length says the same;
# the API serializers and the bulk upsert read it from here.
TEXT_LIMITS: dict[str, int | None] = {
    "name": NAME_MAX_LENGTH,
    "description": None,
    "user_groups": None,
    "key_use_cases": None,
    "business_capabilities": None,
}
SLUG_MAX_LENGTH = 160
CHOICES: dict[str, frozenset[str]] = {
    "kind": frozenset(Kind.values),
    "criticality": frozenset(Criticality.values),
    "management_model": frozenset(ManagementModel.values),
    "lifecycle_stage": frozenset(Stage.values),
}
MAX_USER_COUNT = 2_147_483_647  # PostgreSQL's integer
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}\Z")
EXTERNAL_ID_MAX_LENGTH = 200

TOO_LONG = "Ensure this field has no more than {max_length} characters."
BLANK = "This field may not be blank."
SLUG_MESSAGE = "Letters, numbers, underscores or hyphens only."
SOURCE_MESSAGE = "Lower-case letters, digits, '.', '_' or '-', at most 40 characters."
EXTERNAL_ID_MESSAGE = f"A string of 1 to {EXTERNAL_ID_MAX_LENGTH} characters is required."
USER_COUNT_MIN = "Ensure this value is greater than or equal to 0."
USER_COUNT_MAX = f"Ensure this value is less than or equal to {MAX_USER_COUNT}."
PROJECT_NEEDS_END = "A project needs an end date."
# `{value}` is the slug sent; DRF's SlugRelatedField fills in the same name.
UNKNOWN_TEAM = "No team with the slug '{value}'."


def unknown_team_message(slug: str) -> str:
    return UNKNOWN_TEAM.format(value=slug)


def choice_message(field: str) -> str:
    """The message for a value outside `field`'s choices, with `{input}` left for the value
    (the form DRF's ChoiceField fills in, so the API says the same as the bulk upsert)."""
    return '"{input}" is not a valid choice; one of: ' + ", ".join(sorted(CHOICES[field])) + "."


def text_refusal(field: str, value: str) -> Refusal | None:
    """A text column's length, and a name that is not blank."""
    limit = TEXT_LIMITS.get(field)
    if limit is not None and len(value) > limit:
        return Refusal(field, TOO_LONG.format(max_length=limit))
    if field == "name" and (not value or value.isspace()):
        return Refusal(field, BLANK)
    return None


def choice_refusal(field: str, value: Any) -> Refusal | None:
    if isinstance(value, str) and value in CHOICES[field]:
        return None
    shown = value if isinstance(value, str) else str(value)
    return Refusal(field, choice_message(field).replace("{input}", shown))


def slug_refusal(value: str) -> Refusal | None:
    if len(value) > SLUG_MAX_LENGTH:
        return Refusal("slug", TOO_LONG.format(max_length=SLUG_MAX_LENGTH))
    if not SLUG_RE.match(value):
        return Refusal("slug", SLUG_MESSAGE)
    return None


def user_count_refusal(value: int | None) -> Refusal | None:
    if value is None:
        return None
    if value < 0:
        return Refusal("user_count", USER_COUNT_MIN)
    if value > MAX_USER_COUNT:
        return Refusal("user_count", USER_COUNT_MAX)
    return None


def field_refusals(values: dict[str, Any]) -> list[Refusal]:
    """The limits of a product's own columns, for the ones present in `values` (already of the
    right type: strings, an int or None for the user count)."""
    found: list[Refusal | None] = []
    for field, value in values.items():
        if field in TEXT_LIMITS and isinstance(value, str):
            found.append(text_refusal(field, value))
        elif field in CHOICES:
            found.append(choice_refusal(field, value))
        elif field == "slug" and isinstance(value, str) and value:
            found.append(slug_refusal(value))
        elif field == "user_count" and (value is None or isinstance(value, int)):
            found.append(user_count_refusal(value))
    return [r for r in found if r is not None]


def external_id_refusal(source: Any, ext_id: Any) -> Refusal | None:
    """One (source, id) pair: a source name the model's validator accepts, an id of 1 to 200
    characters. Uniqueness needs the table and is checked by each caller."""
    if not isinstance(source, str) or not SOURCE_RE.match(source):
        return Refusal("external_id.source", SOURCE_MESSAGE)
    if not isinstance(ext_id, str) or not ext_id or len(ext_id) > EXTERNAL_ID_MAX_LENGTH:
        return Refusal("external_id.id", EXTERNAL_ID_MESSAGE)
    return None


# --- Management model ------------------------------------------------------------------------


def effective_end_date(
    *, model: str, changes: dict[str, Any], current: Any = None
) -> Any:  # a date or None
    """The end date a write leaves: the one sent, none for a product-managed item (a product
    has no end), otherwise the one it had."""
    if "project_end_date" in changes:
        return changes["project_end_date"]
    if model == ManagementModel.PRODUCT:
        return None
    return current


def end_date_refusal(*, model: str, end: Any) -> Refusal | None:
    """The model's check constraint names no field; this one names `project_end_date`."""
    if model == ManagementModel.PROJECT and end is None:
        return Refusal("project_end_date", PROJECT_NEEDS_END)
    return None


# --- Owners and clusters ---------------------------------------------------------------------


def owner_refusal(
    *, name: str, accountable: bool, field: str = "owner", already_owner: bool = False
) -> Refusal | None:
    """An owner must be someone who can be held to account. Repeating the current owner is no
    change, so it is not refused even if that person has since left."""
    if accountable or already_owner:
        return None
    return Refusal(field, f"{name} has left or cannot log in.")


def cluster_owner_refusal(
    *, cluster_name: str, owner_id: int | None, cluster_owner_id: int | None
) -> Refusal | None:
    """A product in a cluster is owned by the cluster's owner: naming that person (or nobody)
    is fine, anyone else is refused; the owner is changed on the cluster."""
    if owner_id is None or owner_id == cluster_owner_id:
        return None
    return Refusal(
        "owner",
        f"Products in {cluster_name} are owned by the cluster's owner; leave the owner out or "
        "name that person, and change the owner on the cluster.",
    )


def join_cluster_refusal(*, stage: str) -> Refusal | None:
    if stage == Stage.RETIRED:
        return Refusal("cluster", "A retired product cannot join a cluster.", "retired_is_final")
    return None


def self_dependency_refusal(
    *, product_id: int | None, dependency_ids: Iterable[int]
) -> Refusal | None:
    if product_id is not None and product_id in set(dependency_ids):
        return Refusal("dependencies", "A product cannot depend on itself.")
    return None


def dependency_cycle_refusal(path: Iterable[str]) -> Refusal:
    """Dependencies that lead back to where they start (`path`: the slugs, first repeated)."""
    return Refusal(
        "dependencies",
        f"These dependencies form a cycle: {' -> '.join(path)}.",
        rule="dependency_cycle",
    )


# --- Lifecycle -------------------------------------------------------------------------------


def new_product_stage_refusal(stage: str) -> Refusal | None:
    """A product enters retirement only with a migration plan, which a new one cannot have."""
    if stage == Stage.RETIREMENT:
        return Refusal(
            "lifecycle_stage",
            "A new product cannot start in retirement: create it, then move it with a "
            "migration plan.",
            "retirement_needs_migration_plan",
        )
    return None


def stage_change_refusal(*, name: str, current: str, wanted: str) -> Refusal | None:
    """An edit or a sync may repeat the stage but not change it: a move is a recorded
    transition, with its own rules."""
    if wanted == current:
        return None
    return Refusal(
        "lifecycle_stage",
        f"{name} is in {current}; the lifecycle stage changes only through a recorded transition.",
        "stage_changes_by_transition",
    )


def allowed_moves(stage: str) -> list[str]:
    """Stages a product in `stage` may move to (rules still apply to each move)."""
    if stage == Stage.RETIRED:
        return []
    idx = STAGE_ORDER.index(stage)
    moves = [s for s in STAGE_ORDER[:idx] if s in LIVE_STAGES]  # back, with a reason
    if stage in LIVE_STAGES:
        if stage != Stage.MATURITY:
            moves.append(STAGE_ORDER[idx + 1])
        moves.append(Stage.RETIREMENT)
    else:  # retirement
        moves.append(Stage.RETIRED)
    return moves


def transition_refusal(*, name: str, from_stage: str, to_stage: str, reason: str) -> Refusal | None:
    """The order of the lifecycle: no move to the same stage, none out of retired, forward one
    stage at a time (or into retirement), back only with a reason."""
    if to_stage not in STAGE_ORDER:
        return Refusal("to_stage", f"'{to_stage}' is not a lifecycle stage.")
    if to_stage == from_stage:
        return Refusal("to_stage", f"{name} is already in {from_stage}.", "same_stage")
    if from_stage == Stage.RETIRED:
        return Refusal(
            "to_stage",
            "A retired product stays retired; add a new product instead.",
            "retired_is_final",
        )
    if STAGE_ORDER.index(to_stage) < STAGE_ORDER.index(from_stage):
        if not reason:
            return Refusal(
                "reason", "Moving back to an earlier stage needs a reason (e.g. reinvestment)."
            )
        return None
    if to_stage not in allowed_moves(from_stage):
        forward = [
            s
            for s in allowed_moves(from_stage)
            if STAGE_ORDER.index(s) > STAGE_ORDER.index(from_stage)
        ]
        return Refusal(
            "to_stage",
            f"From {from_stage} a product moves forward only to {' or '.join(forward)}, "
            f"not straight to {to_stage}.",
            "forward_one_stage_at_a_time",
        )
    return None
