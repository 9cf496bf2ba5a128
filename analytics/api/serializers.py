"""Output adapters of the analytics API, plus the paginated envelope that carries the snapshot.

Bodies come from values() rows, so a list costs the same queries at any page size; each
body's fields are declared once (`OWNER_LOAD`, `SPLIT_SIGNAL`, `CANDIDATE`, `READINESS`,
`ANALYTICS_RUN`, see portfolio/api/rows.py), which makes both the rows' JSON and the schema
serializer.
"""

from __future__ import annotations

from collections import OrderedDict

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from analytics.models import (
    READINESS_CHECKS,
    LoadStatus,
    OwnerLoad,
    SignalKind,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    Trigger,
    UnitState,
)
from portfolio.api.pagination import PageNumberPagination
from portfolio.api.rows import Attached, Column, Nested, Output, iso_datetime
from portfolio.api.serializers import NamedChoiceField
from portfolio.exports import Listing

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
        "started_at": iso_datetime(snapshot.started_at),
        "finished_at": iso_datetime(snapshot.finished_at),
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

OWNER_LOAD_ORDER = ("person__name", "person_id")


class GroupingSerializer(serializers.Serializer):
    units = serializers.ListField(child=serializers.CharField(), help_text="Unit names.")
    unit_ids = serializers.ListField(child=serializers.IntegerField())
    why = serializers.ListField(
        child=serializers.CharField(), help_text="What they share: users, domain, dependencies."
    )


OWNER_UNIT = Output(
    "OwnerUnitSerializer",
    Column("id", serializers.IntegerField(help_text="The ownership unit's id."), "unit_id"),
    Column("name", serializers.CharField()),
    Column("active", serializers.BooleanField(help_text="Actively evolving (else stable).")),
    Column(
        "reasons",
        serializers.ListField(
            child=serializers.CharField(), help_text="Why it is active; empty when stable."
        ),
    ),
)

OWNER_LOAD = Output(
    "OwnerLoadSerializer",
    Column("person", serializers.IntegerField(help_text="The person's id."), "person_id"),
    Column("name", serializers.CharField(), "person__name"),
    Column("email", serializers.EmailField(), "person__email"),
    Column("active_units", serializers.IntegerField()),
    Column("stable_units", serializers.IntegerField()),
    Column("status", LoadStatusField()),
    Column(
        "consecutive_over",
        serializers.IntegerField(help_text="Snapshots in a row, up to this one, over the ceiling."),
    ),
    Column(
        "design_problem",
        serializers.BooleanField(
            help_text="Over the ceiling in as many snapshots in a row as the settings say."
        ),
    ),
    Column(
        "suggestions",
        GroupingSerializer(
            many=True,
            help_text="With a design problem: groups of this owner's units to run as one cluster.",
        ),
    ),
    # The owner's units (OWNER_UNIT rows), read for the whole page in one more query.
    Attached("units", OWNER_UNIT.serializer(many=True), convert=OWNER_UNIT.many),
)
OwnerLoadSerializer = OWNER_LOAD.serializer


def owner_load_rows(queryset: QuerySet[OwnerLoad]) -> QuerySet:
    """Owner load rows, with the snapshot their units are read from."""
    return queryset.values("snapshot_id", *OWNER_LOAD.columns)


def attach_owner_units(rows: list[dict]) -> list[dict]:
    """Add `units` (OWNER_UNIT rows) to owner load rows: one query for all of them."""
    units: dict[tuple[int, int], list[dict]] = {
        (row["snapshot_id"], row["person_id"]): [] for row in rows
    }
    if units:
        states = (
            UnitState.objects.filter(
                snapshot_id__in={s for s, _ in units}, owner_id__in={p for _, p in units}
            )
            .order_by("owner_id", "name", "unit_id")
            .values("snapshot_id", "owner_id", *OWNER_UNIT.columns)
        )
        for state in states:
            found = units.get((state["snapshot_id"], state["owner_id"]))
            if found is not None:
                found.append(state)
    for row in rows:
        row["units"] = units[(row["snapshot_id"], row["person_id"])]
    return rows


OWNER_LOAD_EXPORT = Listing.of_output(
    "owner-load", OWNER_LOAD, rows=owner_load_rows, attach=attach_owner_units
)


class OwnerLoadDetailSerializer(OwnerLoadSerializer):  # type: ignore[valid-type,misc]  # generated by Output
    snapshot = SnapshotRefSerializer(help_text=SNAPSHOT_HELP)


# --- Split signals -------------------------------------------------------------------------------

SIGNAL_ORDER = ("cluster__name", "cluster_id", "kind", "product__name", "id")

SPLIT_SIGNAL = Output(
    "SplitSignalSerializer",
    Column("id", serializers.IntegerField()),
    Column("cluster", serializers.SlugField(help_text="The cluster's slug."), "cluster__slug"),
    Column("cluster_name", serializers.CharField(), "cluster__name"),
    Column("kind", SignalKindField()),
    Column("product", serializers.SlugField(help_text="The member's slug."), "product__slug"),
    Column("product_name", serializers.CharField(), "product__name"),
    Column("status", SignalStatusField()),
    Column(
        "evidence",
        serializers.DictField(
            help_text="What the rule saw (shares, idle members, weeks seen); keys depend on `kind`."
        ),
    ),
    Column("opened_at", serializers.DateTimeField(), convert=iso_datetime),
    Column(
        "last_seen_at",
        serializers.DateTimeField(
            allow_null=True, help_text="Time of the last snapshot in which the condition held."
        ),
        "last_snapshot__started_at",
        convert=iso_datetime,
    ),
    Column("closed_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "closed_by",
        serializers.CharField(
            allow_null=True, help_text="Username of the leader who split or dismissed it."
        ),
        "closed_by__username",
    ),
    Column("close_note", serializers.CharField(allow_blank=True)),
    Column(
        "new_owner",
        serializers.IntegerField(
            allow_null=True, help_text="Id of the person who owns the member after a split."
        ),
        "new_owner_id",
    ),
    Column(
        "split_product",
        serializers.SlugField(
            allow_null=True,
            help_text="Slug of the member a leader split out (usually `product`), after a split.",
        ),
        "split_product__slug",
    ),
)
SplitSignalSerializer = SPLIT_SIGNAL.serializer
SPLIT_SIGNAL_EXPORT = Listing.of_output("split-signals", SPLIT_SIGNAL)


class SplitSignalDetailSerializer(SplitSignalSerializer):  # type: ignore[valid-type,misc]  # generated by Output
    snapshot = SnapshotRefSerializer(allow_null=True, help_text=SNAPSHOT_HELP)


# --- Candidates ----------------------------------------------------------------------------------

CANDIDATE = Output(
    "CandidateSerializer",
    Column("rank", serializers.IntegerField(help_text="1 is the one to take on first.")),
    Column("product", serializers.SlugField(help_text="The product's slug."), "product__slug"),
    Column("name", serializers.CharField(help_text="The product's name."), "product__name"),
    Column(
        "unit",
        serializers.IntegerField(help_text="The ownership unit it is run in (id)."),
        "unit_id",
    ),
    Column("score", serializers.IntegerField(help_text="Higher is more urgent.")),
    Column("reasons", serializers.ListField(child=serializers.CharField())),
)
CandidateSerializer = CANDIDATE.serializer
CANDIDATE_EXPORT = Listing.of_output("candidates", CANDIDATE)


# --- Readiness -----------------------------------------------------------------------------------

READINESS_CHECKS_OUTPUT = Output(
    "ReadinessChecksSerializer",
    *(
        Column(name, serializers.BooleanField(allow_null=True, help_text=label))
        for name, label in READINESS_CHECKS
    ),
)

READINESS = Output(
    "ReadinessSerializer",
    Column("product", serializers.SlugField(help_text="The product's slug."), "product__slug"),
    Column("product_name", serializers.CharField(), "product__name"),
    Nested(
        "checks",
        READINESS_CHECKS_OUTPUT,
        help_text="Each check met (true), not met (false) or not known yet (null).",
    ),
    Column("score", serializers.IntegerField(help_text="Share of the known checks met, in %.")),
)
ReadinessSerializer = READINESS.serializer
READINESS_EXPORT = Listing.of_output("readiness", READINESS)


# --- Runs ----------------------------------------------------------------------------------------

RUN_ORDER = ("-started_at", "-id")

ANALYTICS_RUN = Output(
    "AnalyticsRunSerializer",
    Column("id", serializers.IntegerField(help_text="The snapshot's id.")),
    Column("status", RunStatusField()),
    Column("trigger", TriggerField()),
    Column(
        "step", serializers.IntegerField(help_text="The step under way (or the last one done).")
    ),
    Column(
        "steps", serializers.IntegerField(help_text="How many steps the run has; 0 while queued.")
    ),
    Column(
        "step_label", serializers.CharField(allow_blank=True, help_text="What the step computes.")
    ),
    Column("started_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("finished_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "requested_by",
        serializers.CharField(
            allow_null=True, help_text="Username of the leader who asked; null for scheduled runs."
        ),
        "requested_by__username",
    ),
    Column("error", serializers.CharField(allow_blank=True, help_text="Why a failed run failed.")),
)
AnalyticsRunSerializer = ANALYTICS_RUN.serializer
