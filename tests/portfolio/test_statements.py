"""portfolio/statements.py: the columns a statement written once reads, from the model."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist

from accounts.models import ApiToken
from portfolio.statements import columns


def test_every_concrete_field_in_the_models_order():
    table, attnames, cols = columns(ApiToken)
    assert table == '"accounts_apitoken"'
    assert attnames == [f.attname for f in ApiToken._meta.concrete_fields]
    assert "user_id" in attnames
    assert cols == [f'"accounts_apitoken"."{f.column}"' for f in ApiToken._meta.concrete_fields]


def test_only_some_fields_keeps_the_primary_key_and_the_models_order():
    _, attnames, cols = columns(ApiToken, ["name", "user"])
    assert attnames == ["id", "user_id", "name"]
    assert cols == [
        '"accounts_apitoken"."id"',
        '"accounts_apitoken"."user_id"',
        '"accounts_apitoken"."name"',
    ]


def test_an_unknown_field_is_refused():
    with pytest.raises(FieldDoesNotExist, match="no column nickname"):
        columns(get_user_model(), ["username", "nickname"])
