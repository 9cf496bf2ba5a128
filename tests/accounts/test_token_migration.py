"""The data migration from Django REST framework's tokens: every existing key keeps working
as a named token "Default", and no key is left in clear. (A database that never had DRF's
table migrates too: every test database is made that way.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiToken, hash_key

# The table DRF's authtoken app made (rest_framework/authtoken/migrations), as it stood.
DRF_TABLE = """
CREATE TABLE authtoken_token (
    "key" varchar(40) NOT NULL PRIMARY KEY,
    "created" timestamp with time zone NOT NULL,
    "user_id" integer NOT NULL UNIQUE REFERENCES auth_user ("id") DEFERRABLE INITIALLY DEFERRED
)
"""
KEYS = {
    "ana": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
    "ben": "0f3a2c5e7d9b1a4c6e8f0a2b4c6d8e0f1a3b5c7d",
}
CREATED = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        return name in connection.introspection.table_names(cursor)


@pytest.mark.django_db(transaction=True)
def test_drf_tokens_become_default_named_tokens_and_the_old_table_goes(migrator):
    old = migrator.apply_initial_migration([("accounts", "0001_api_tokens")])
    User = old.apps.get_model("auth", "User")
    users = {name: User.objects.create(username=name, is_active=True) for name in KEYS}
    User.objects.create(username="cy", is_active=True)  # no token
    try:
        with connection.cursor() as cursor:
            cursor.execute(DRF_TABLE)
            for name, key in KEYS.items():
                cursor.execute(
                    "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                    [key, CREATED, users[name].pk],
                )
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('authtoken', '0001_initial', now())"
            )

        migrator.apply_tested_migration([("accounts", "0002_tokens_from_drf")])

        tokens = {t.user.username: t for t in ApiToken.objects.select_related("user")}
        assert set(tokens) == set(KEYS)
        for name, key in KEYS.items():
            token = tokens[name]
            assert token.name == "Default"
            assert token.prefix == key[:8]
            assert token.key_hash == hash_key(key)
            assert token.created_at == CREATED
            assert token.expires_at is None and token.last_used_at is None
        # no key is kept in clear, and authtoken's records are gone with its table
        assert not _table_exists("authtoken_token")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
            assert cursor.fetchone()[0] == 0
        # every client's existing key still works (once every other app is migrated too)
        migrator.reset()
        for key in KEYS.values():
            response = APIClient().get("/api/v1/tokens/", HTTP_AUTHORIZATION=f"Token {key}")
            assert response.status_code == 200
            assert response.json()["results"][0]["name"] == "Default"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")
