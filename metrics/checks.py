"""`manage.py check --database default` (and `migrate`) look for readings stored before the
date range was checked on input (portfolio/validation.py).

A reading dated before year 1 in UTC is stored by PostgreSQL as a year BC, which the database
driver cannot turn back into a Python datetime: every list that includes it then fails. Input
can no longer store one; this check finds any that an older version let in.
"""

from __future__ import annotations

import datetime as dt

from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import connections
from django.db.models import Q

from metrics.models import Reading
from portfolio.text import counted
from portfolio.validation import EARLIEST_DATE, LATEST_DATE

EARLIEST = dt.datetime.combine(EARLIEST_DATE, dt.time.min, tzinfo=dt.UTC)
LATEST = dt.datetime.combine(LATEST_DATE, dt.time.max, tzinfo=dt.UTC)


@register(Tags.database)
def readings_in_date_range(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or []:
        if Reading._meta.db_table not in connections[alias].introspection.table_names():
            continue  # before the first migrate
        # Counted in SQL: the rows themselves cannot be loaded.
        outside = (
            Reading.objects.using(alias)
            .filter(Q(taken_at__lt=EARLIEST) | Q(taken_at__gt=LATEST))
            .count()
        )
        if outside:
            messages.append(
                CheckWarning(
                    f"{counted(outside, 'metric reading')} in database '{alias}' "
                    f"{'is' if outside == 1 else 'are'} dated outside "
                    f"{EARLIEST_DATE} to {LATEST_DATE}; the reading lists that include them fail.",
                    hint="Delete them (metrics.services.reading_delete) or record them again "
                    "with their real time.",
                    id="metrics.W001",
                )
            )
    return messages
