"""portfolio/api/rows.py: one declaration makes the values() columns, the bodies and the schema
serializer, and they agree."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from portfolio.api.rows import (
    Attached,
    Column,
    Computed,
    Contextual,
    Nested,
    Output,
    iso_date,
    iso_datetime,
)

# Made before the output below, so DRF's own ordering (by creation) would put it first.
EARLY = serializers.IntegerField(help_text="Made first, declared last.")

REF = Output(
    "ThingRefSerializer",
    Column("id", serializers.IntegerField(), "ref_id"),
    Column("name", serializers.CharField(), "ref__name"),
)

THING = Output(
    "ThingSerializer",
    Column("id", serializers.IntegerField()),
    Column("owner", serializers.IntegerField(help_text="The owner's id."), "owner_id"),
    Column("when", serializers.DateTimeField(allow_null=True), "at", convert=iso_datetime),
    Computed(
        "label",
        serializers.CharField(),
        lambda row: f"{row['owner_id']}-{row['id']}",
        reads=("owner_id", "id"),
    ),
    Nested("ref", REF, when="ref_id", allow_null=True, help_text="Its reference."),
    Attached("tags", serializers.ListField(child=serializers.CharField()), convert=sorted),
    Contextual("currency", serializers.CharField(), lambda row, context: context["currency"]),
    Column("late", EARLY),
    doc="A thing as the API answers it.",
)

AT = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)


def a_row(**changes) -> dict:
    row = {
        "id": 7,
        "owner_id": 3,
        "at": AT,
        "ref_id": 11,
        "ref__name": "Payroll",
        "tags": ["b", "a"],
        "late": 1,
    }
    return {**row, **changes}


def test_the_columns_are_what_the_fields_read_in_order_once_each():
    assert THING.columns == ("id", "owner_id", "at", "ref_id", "ref__name", "late")


def test_a_body_has_every_field_in_declaration_order_converted():
    body = THING.one(a_row(), currency="EUR")

    assert body == {
        "id": 7,
        "owner": 3,
        "when": "2026-03-01T12:30:00Z",
        "label": "3-7",
        "ref": {"id": 11, "name": "Payroll"},
        "tags": ["a", "b"],
        "currency": "EUR",
        "late": 1,
    }
    assert list(body) == [name for name, _ in THING.serializer().fields.items()]


def test_many_is_one_per_row_and_nulls_stay_null():
    rows = [a_row(), a_row(id=8, at=None, ref_id=None, ref__name=None)]

    bodies = THING.many(rows, currency="USD")

    assert [b["id"] for b in bodies] == [7, 8]
    assert (bodies[1]["when"], bodies[1]["ref"], bodies[1]["currency"]) == (None, None, "USD")


def test_the_schema_serializer_carries_the_declared_name_fields_and_help():
    cls = THING.serializer
    fields = cls().fields

    assert cls.__name__ == "ThingSerializer"
    assert cls.__module__ == __name__
    assert cls.__doc__ == "A thing as the API answers it."
    assert list(fields) == ["id", "owner", "when", "label", "ref", "tags", "currency", "late"]
    assert fields["owner"].help_text == "The owner's id."
    assert isinstance(fields["ref"], REF.serializer)
    assert (fields["ref"].allow_null, fields["ref"].help_text) == (True, "Its reference.")


def test_the_schema_serializer_given_a_row_answers_its_body():
    assert REF.serializer(a_row()).data == {"id": 11, "name": "Payroll"}
    assert THING.serializer(a_row(), context={"currency": "EUR"}).data["currency"] == "EUR"


def test_a_field_name_used_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        Output("TwiceSerializer", Column("id", serializers.IntegerField()), Column("id", EARLY))


def test_a_nested_output_cannot_need_a_context():
    needs = Output(
        "NeedsSerializer", Contextual("now", serializers.IntegerField(), lambda row, c: c["now"])
    )
    with pytest.raises(ValueError, match="context"):
        Nested("inner", needs)


def test_dates_and_datetimes_as_drf_writes_them():
    assert iso_datetime(AT) == "2026-03-01T12:30:00Z"
    assert iso_datetime(AT.replace(microsecond=5)) == "2026-03-01T12:30:00.000005Z"
    assert iso_date(dt.date(2026, 7, 1)) == "2026-07-01"
    assert iso_datetime(None) is None
    assert iso_date(None) is None


STAMPS = Output(
    "StampSerializer",
    Column("at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_many_writes_every_datetime_as_drfs_field_does_in_the_current_zone(zone):
    """`many` looks the time zone up once per call instead of once per value; the strings
    must be DRF's, in whatever zone is active, for aware, naive and edge values."""
    berlin = ZoneInfo("Europe/Berlin")
    values = [
        AT,
        AT.replace(microsecond=5),
        AT.astimezone(berlin),
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),  # Berlin's clocks go back that night
        dt.datetime(9999, 12, 31, 12, 0, tzinfo=dt.UTC),
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 30),  # naive: DRF makes it aware in the current zone
        None,
    ]
    field = serializers.DateTimeField()
    with timezone.override(zone):
        expected = [{"at": None if v is None else field.to_representation(v)} for v in values]
        assert STAMPS.many([{"at": v} for v in values]) == expected
        assert [STAMPS.one({"at": v}) for v in values] == expected
