"""Every stored session signed in by Django's ModelBackend now names accounts.backends.PasswordBackend.

A session keeps the path of the backend that signed it in (`_auth_user_backend`), and Django
treats a session whose backend is no longer listed in AUTHENTICATION_BACKENDS as signed out.
ModelBackend gave its place in the list to PasswordBackend (the same rules, the login read
cheaply), so each session naming the old path is decoded with the project's session store,
given the new path and encoded again; nothing else in it changes, its expiry neither.

The table is read in batches by session key, never at once. A row is written back only if it
still holds what was read, so a session saved by a request meanwhile is not overwritten.
Reversible: going back names ModelBackend again.
"""

from importlib import import_module

from django.conf import settings
from django.db import migrations

BACKEND_KEY = "_auth_user_backend"  # django.contrib.auth.BACKEND_SESSION_KEY
OLD = "django.contrib.auth.backends.ModelBackend"
NEW = "accounts.backends.PasswordBackend"
BATCH = 2000


def rewrite_backend(Session, store, old: str, new: str, *, batch: int = BATCH) -> int:
    """Give every session naming backend `old` the backend `new`; how many were changed."""
    changed = 0
    last = ""
    while True:
        rows = list(
            Session.objects.filter(session_key__gt=last)
            .order_by("session_key")
            .values_list("session_key", "session_data")[:batch]
        )
        if not rows:
            return changed
        last = rows[-1][0]
        for key, data in rows:
            session = store.decode(data)
            if session.get(BACKEND_KEY) != old:
                continue
            session[BACKEND_KEY] = new
            changed += Session.objects.filter(session_key=key, session_data=data).update(
                session_data=store.encode(session)
            )


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore()


def forwards(apps, schema_editor):
    rewrite_backend(apps.get_model("sessions", "Session"), _store(), OLD, NEW)


def backwards(apps, schema_editor):
    rewrite_backend(apps.get_model("sessions", "Session"), _store(), NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_page_visit"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
