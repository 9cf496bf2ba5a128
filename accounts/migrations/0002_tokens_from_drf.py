"""Every API token of Django REST framework's authtoken app becomes a named token "Default".

Until issue 14 each user had one DRF token (table authtoken_token, the key stored in clear).
Its key is hashed into an ApiToken named "Default", so every client keeps working with the key
it has. Then the old table is dropped, so no key is kept in clear any longer, and authtoken's
migration records are removed: the app is no longer installed, and should it ever be again
its migrations make an empty table anew. A database that never had the table is left alone.

Not reversible in substance: the keys survive only as hashes. Going back removes the named
tokens (the table goes with accounts' first migration); clients then need new keys.
"""

import hashlib

from django.db import migrations

OLD_TABLE = "authtoken_token"
PREFIX_LENGTH = 8


def tokens_from_drf(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if OLD_TABLE not in connection.introspection.table_names(cursor):
            return
        cursor.execute(f'SELECT "key", "user_id", "created" FROM {OLD_TABLE}')
        rows = cursor.fetchall()
    ApiToken = apps.get_model("accounts", "ApiToken")
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user_id=user_id,
                name="Default",
                prefix=key[:PREFIX_LENGTH],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                created_at=created,
            )
            for key, user_id, created in rows
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {OLD_TABLE}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_api_tokens")]

    operations = [
        migrations.RunPython(tokens_from_drf, migrations.RunPython.noop, elidable=False),
    ]
