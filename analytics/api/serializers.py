"""Output adapters of the analytics API, plus the paginated envelope that carries the snapshot.

Bodies are built by hand from values() rows (`*_representation`), so a list costs the same
queries at any page size; the serializers below describe those bodies for the schema.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from rest_framework import serializers
from rest_framework.response import Response

from analytics.models import (
    READINESS_CHECKS,
    LoadStatus,
    SignalKind,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    Trigger,
)
from portfolio.api.pagination import PageNumberPagination
from portfolio.api.serializers import NamedChoiceField

_DT = serializers.DateTimeField()


def _dt(value: dt.datetime | None) -> str | None:
    return _DT.to_representation(value) if value is not None else None


# --- Named enums (a plain ChoiceField named `status` would collide with the other apps') --------


class LoadStatusField(NamedChoiceField):
    enum_name = "OwnerLoadStatusEnum"
    enum_choices = LoadStatus.choices
    enum_help = (
        "`ok`: room left; `at_ceiling`: exactly at the ceiling; `over`: more units than "
        "allowed; `triaging`: two or more active units."
    )


class SignalStatusField(NamedChoiceField):
    enum_name = "SplitSignalStatusEnum"
    enum_choices = SignalStatus.choices
    enum_help = (
        "`open`: the condition holds and nobody acted; `split`: a leader split the member out; "
        "`dismissed`: a leader kept it in on purpose; `cleared`: the condition stopped holding."
    )


class SignalKindField(NamedChoiceField):
    enum_name = "SplitSignalKindEnum"
    enum_choices = SignalKind.choices
    enum_help = "`crowding`: backlog crowding; `dominance`: operational dominance; " + (
        "`strategic`: strategic significance."
    )


class RunStatusField(NamedChoiceField):
    enum_name = "AnalyticsRunStatusEnum"
    enum_choices = SnapshotStatus.choices
    enum_help = "`running` (or queued), `done`, or `failed` (see `error`)."


class TriggerField(NamedChoiceField):
    enum_name = "AnalyticsRunTriggerEnum"
    enum_choices = Trigger.choices
    enum_help = "`schedule`: the hourly run; `manual`: a leader asked for it."


# --- The snapshot an answer is computed from -----------------------------------------------------


def snapshot_ref(snapshot: Snapshot | None) -> dict | None:
    if snapshot is None:
        return None
    return {
        "id": snapshot.pk,
        "started_at": _dt(snapshot.started_at),
        "finished_at": _dt(snapshot.finished_at),
    }


SNAPSHOT_HELP = (
    "The finished analytics snapshot the answer is computed from (the latest one); "
    '`started_at` is the moment the rules judged, "as of". Null while no run has finished.'
)

SNAPSHOT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": SNAPSHOT_HELP,
    "required": ["id", "started_at", "finished_at"],
    "properties": {
        "id": {"type": "integer"},
        "started_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": "string", "format": "date-time"},
    },
}


class SnapshotRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()


class SnapshotPagination(PageNumberPagination):
    """The usual page, with `snapshot` at the top: when the results were computed."""

    snapshot: dict | None = None

    def get_paginated_response(self, data) -> Response:
        assert self.page is not None  # paginate_queryset() set it
        return Response(
            OrderedDict(
                [
                    ("snapshot", self.snapshot),
                    ("count", self.page.paginator.count),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        page = super().get_paginated_response_schema(schema)
        return {
            **page,
            "required": ["snapshot", *page.get("required", ["count", "results"])],
            "properties": {"snapshot": SNAPSHOT_SCHEMA, **page["properties"]},
        }


# --- Owner load ----------------------------------------------------------------------------------

OWNER_LOAD_FIELDS = (
    "person_id",
    "person__name",
    "person__email",
    "active_units",
    "stable_units",
    "status",
    "consecutive_over",
    "design_problem",
    "suggestions",
)
OWNER_LOAD_ORDER = ("person__name", "person_id")
UNIT_FIELDS = ("owner_id", "unit_id", "name", "active", "reasons")


def owner_load_representation(row: dict, units: list[dict]) -> dict:
    return {
        "person": row["person_id"],
        "name": row["person__name"],
        "email": row["person__email"],
        "active_units": row["active_units"],
        "stable_units": row["stable_units"],
        "status": row["status"],
        "consecutive_over": row["consecutive_over"],
        "design_problem": row["design_problem"],
        "suggestions": row["suggestions"],
        "units": [
            {"id": u["unit_id"], "name": u["name"], "active": u["active"], "reasons": u["reasons"]}
            for u in units
        ],
    }


class OwnerUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The ownership unit's id.")
    name = serializers.CharField()
    active = serializers.BooleanField(help_text="Actively evolving (else stable).")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why it is active; empty when stable."
    )


class GroupingSerializer(serializers.Serializer):
    units = serializers.ListField(child=serializers.CharField(), help_text="Unit names.")
    unit_ids = serializers.ListField(child=serializers.IntegerField())
    why = serializers.ListField(
        child=serializers.CharField(), help_text="What they share: users, domain, dependencies."
    )


class OwnerLoadSerializer(serializers.Serializer):
    person = serializers.IntegerField(help_text="The person's id.")
    name = serializers.CharField()
    email = serializers.EmailField()
    active_units = serializers.IntegerField()
    stable_units = serializers.IntegerField()
    status = LoadStatusField()
    consecutive_over = serializers.IntegerField(
        help_text="Snapshots in a row, up to this one, over the ceiling."
    )
    design_problem = serializers.BooleanField(
        help_text="Over the ceiling in as many snapshots in a row as the settings say."
    )
    suggestions = GroupingSerializer(
        many=True,
        help_text="With a design problem: groups of this owner's units to run as one cluster.",
    )
    units = OwnerUnitSerializer(many=True)


class OwnerLoadDetailSerializer(OwnerLoadSerializer):
    snapshot = SnapshotRefSerializer(help_text=SNAPSHOT_HELP)


# --- Split signals -------------------------------------------------------------------------------

SIGNAL_FIELDS = (
    "id",
    "cluster__slug",
    "cluster__name",
    "kind",
    "product__slug",
    "product__name",
    "status",
    "evidence",
    "opened_at",
    "last_snapshot__started_at",
    "closed_at",
    "closed_by__username",
    "close_note",
    "new_owner_id",
    "split_product__slug",
)
SIGNAL_ORDER = ("cluster__name", "cluster_id", "kind", "product__name", "id")


def split_signal_representation(row: dict) -> dict:
    return {
        "id": row["id"],
        "cluster": row["cluster__slug"],
        "cluster_name": row["cluster__name"],
        "kind": row["kind"],
        "product": row["product__slug"],
        "product_name": row["product__name"],
        "status": row["status"],
        "evidence": row["evidence"],
        "opened_at": _dt(row["opened_at"]),
        "last_seen_at": _dt(row["last_snapshot__started_at"]),
        "closed_at": _dt(row["closed_at"]),
        "closed_by": row["closed_by__username"],
        "close_note": row["close_note"],
        "new_owner": row["new_owner_id"],
        "split_product": row["split_product__slug"],
    }


class SplitSignalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cluster = serializers.SlugField(help_text="The cluster's slug.")
    cluster_name = serializers.CharField()
    kind = SignalKindField()
    product = serializers.SlugField(help_text="The member's slug.")
    product_name = serializers.CharField()
    status = SignalStatusField()
    evidence = serializers.DictField(
        help_text="What the rule saw (shares, idle members, weeks seen); keys depend on `kind`."
    )
    opened_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField(
        allow_null=True, help_text="Time of the last snapshot in which the condition held."
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(
        allow_null=True, help_text="Username of the leader who split or dismissed it."
    )
    close_note = serializers.CharField(allow_blank=True)
    new_owner = serializers.IntegerField(
        allow_null=True, help_text="Id of the person who owns the member after a split."
    )
    split_product = serializers.SlugField(
        allow_null=True,
        help_text="Slug of the member a leader split out (usually `product`), after a split.",
    )


class SplitSignalDetailSerializer(SplitSignalSerializer):
    snapshot = SnapshotRefSerializer(allow_null=True, help_text=SNAPSHOT_HELP)


# --- Candidates ----------------------------------------------------------------------------------

CANDIDATE_FIELDS = ("rank", "product__slug", "product__name", "unit_id", "score", "reasons")


def candidate_representation(row: dict) -> dict:
    return {
        "rank": row["rank"],
        "product": row["product__slug"],
        "name": row["product__name"],
        "unit": row["unit_id"],
        "score": row["score"],
        "reasons": row["reasons"],
    }


class CandidateSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 is the one to take on first.")
    product = serializers.SlugField(help_text="The product's slug.")
    name = serializers.CharField(help_text="The product's name.")
    unit = serializers.IntegerField(help_text="The ownership unit it is run in (id).")
    score = serializers.IntegerField(help_text="Higher is more urgent.")
    reasons = serializers.ListField(child=serializers.CharField())


# --- Readiness -----------------------------------------------------------------------------------

CHECK_NAMES = tuple(name for name, _label in READINESS_CHECKS)
READINESS_FIELDS = ("product__slug", "product__name", *CHECK_NAMES, "score")


def readiness_representation(row: dict) -> dict:
    return {
        "product": row["product__slug"],
        "product_name": row["product__name"],
        "checks": {name: row[name] for name in CHECK_NAMES},
        "score": row["score"],
    }


ReadinessChecksSerializer = type(
    "ReadinessChecksSerializer",
    (serializers.Serializer,),
    {
        name: serializers.BooleanField(allow_null=True, help_text=label)
        for name, label in READINESS_CHECKS
    },
)


class ReadinessSerializer(serializers.Serializer):
    product = serializers.SlugField(help_text="The product's slug.")
    product_name = serializers.CharField()
    checks = ReadinessChecksSerializer(
        help_text="Each check met (true), not met (false) or not known yet (null)."
    )
    score = serializers.IntegerField(help_text="Share of the known checks met, in %.")


# --- Runs ----------------------------------------------------------------------------------------

RUN_FIELDS = (
    "id",
    "status",
    "trigger",
    "step",
    "steps",
    "step_label",
    "started_at",
    "finished_at",
    "requested_by__username",
    "error",
)
RUN_ORDER = ("-started_at", "-id")


def run_representation(row: dict) -> dict:
    return {
        "id": row["id"],
        "status": row["status"],
        "trigger": row["trigger"],
        "step": row["step"],
        "steps": row["steps"],
        "step_label": row["step_label"],
        "started_at": _dt(row["started_at"]),
        "finished_at": _dt(row["finished_at"]),
        "requested_by": row["requested_by__username"],
        "error": row["error"],
    }


class AnalyticsRunSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The snapshot's id.")
    status = RunStatusField()
    trigger = TriggerField()
    step = serializers.IntegerField(help_text="The step under way (or the last one done).")
    steps = serializers.IntegerField(help_text="How many steps the run has; 0 while queued.")
    step_label = serializers.CharField(allow_blank=True, help_text="What the step computes.")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    requested_by = serializers.CharField(
        allow_null=True, help_text="Username of the leader who asked; null for scheduled runs."
    )
    error = serializers.CharField(allow_blank=True, help_text="Why a failed run failed.")
