"""The session store: Django's database sessions, with the read of a session written once.

Every page request loads its session by key. Django builds that query through the ORM on each
request (a few hundred microseconds of Python, more than the indexed read itself); here the
statement is written once per process from the model's fields. Same table, same rows, same
rule: a session past its `expire_date` is not loaded (the request is anonymous), exactly as
Django's own store decides. Writing, expiry and cleanup stay Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connections, router
from django.utils import timezone


def _sql(model: type[AbstractBaseSession]) -> str:
    meta = model._meta
    quote = connections[router.db_for_read(model)].ops.quote_name
    column = {f.name: quote(f.column) for f in meta.concrete_fields}
    return (
        f"SELECT {column['session_data']}, {column['expire_date']}"
        f" FROM {quote(meta.db_table)}"
        f" WHERE {column['session_key']} = %s AND {column['expire_date']} > %s"
    )


class SessionStore(db.SessionStore):
    _statements: dict[type[AbstractBaseSession], str] = {}

    def _get_session_from_db(self) -> AbstractBaseSession | None:
        model = self.model
        sql = self._statements.get(model)
        if sql is None:
            sql = self._statements[model] = _sql(model)
        key = self.session_key
        with connections[router.db_for_read(model)].cursor() as cursor:
            cursor.execute(sql, [key, timezone.now()])
            row = cursor.fetchone()
        if row is None or key is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0], expire_date=row[1])
