"""The password backend: Django's ModelBackend, with the read of a session's login written once.

Every signed-in request asks the session's backend for its login (`get_user`). Django's
ModelBackend builds that query through the ORM each time, a few hundred microseconds of Python
for an indexed read by primary key; here the statement is written once per process from the
user model's fields (as `TOKEN_SQL` in accounts/authentication.py) and the row becomes the
model instance the ORM would have made. The rules stay Django's: an unknown id or one that is
not an id is no login, a switched-off login is none either (`user_can_authenticate`), and
`django.contrib.auth.get_user` still checks the session's password hash afterwards.
Password checks, permissions and the async read are ModelBackend's, unchanged.

Sessions name the backend that signed them in; migration accounts/0004 moved every stored
session from Django's ModelBackend to this one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection

from portfolio.statements import columns

_USER_MODEL = get_user_model()
_PK = _USER_MODEL._meta.pk
_TABLE, USER_FIELDS, _COLUMNS = columns(_USER_MODEL)
USER_SQL = (
    f"SELECT {', '.join(_COLUMNS)} FROM {_TABLE}"
    f" WHERE {_TABLE}.{connection.ops.quote_name(_PK.column)} = %s"
)


class PasswordBackend(ModelBackend):
    """Username and password against the user table (ModelBackend), the login read cheaply."""

    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = _PK.to_python(user_id)
        except ValidationError:
            return None
        if pk is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(USER_SQL, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        user = _USER_MODEL.from_db(connection.alias, USER_FIELDS, row)
        return user if self.user_can_authenticate(user) else None
