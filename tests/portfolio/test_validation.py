"""The one rule for "is this a row id", shared by every filter, serializer and import."""

import pytest
from django.core.exceptions import ValidationError

from portfolio.validation import MAX_ID, parse_id, validate_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("42", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (42, 42),
        (MAX_ID, MAX_ID),
    ],
)
def test_ascii_digits_and_ints_within_bigint_are_ids(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0",
        0,
        "-1",
        -1,
        "+1",
        "١٢",  # Arabic-Indic digits: isdigit() is true and int() would read 12
        "²",  # a superscript: isdigit() is true, int() refuses it
        str(2**63),
        2**63,
        "9" * 5000,  # longer than int() accepts by default: no ValueError escapes
        " 12",
        "12 ",
        "1 2",
        "",
        "1.0",
        "1e3",
        "abc",
        True,
        False,
        None,
        1.0,
        b"12",
    ],
)
def test_anything_else_is_not_an_id(value):
    assert parse_id(value) is None


def test_validate_id_names_what_it_wants():
    validate_id("12")
    with pytest.raises(ValidationError) as caught:
        validate_id(str(2**63))
    assert caught.value.messages == ["An id (a whole number)."]
