"""Optimistic concurrency for every mutable record: a `version` that grows with each write.

A client (API or page) reads a record at some version and sends that version back with its
change. The service locks the row (select_for_update), and `check_version` refuses the change
with StaleVersion (412) when the stored version moved on meanwhile: the second of two edits
based on the same read no longer silently erases the first. A write that names no version
goes through; such a client overwrites on purpose.

The version grows in the same UPDATE as the change: `Versioned.save()` adds one to it on every
save of a stored row (and adds `version` to `update_fields`), so no write path can forget it.
Services hold the row lock when they save, which makes the increment race-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from portfolio.errors import StaleVersion


class Versioned(models.Model):
    """Abstract base: a `version` that starts at 1 and grows by one with every saved change.

    `unversioned_fields` lists columns the system refreshes on its own (a metric's last
    reading): a save touching only those is not an edit and keeps the version, so it cannot
    turn a person's pending edit into a conflict.
    """

    version = models.PositiveIntegerField(
        default=1, help_text="Grows with every change; send it back with an edit."
    )
    unversioned_fields: frozenset[str] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
        if not self._state.adding and self.pk is not None:
            if update_fields is None:
                self.version += 1
            else:
                update_fields = set(update_fields)
                if not update_fields <= self.unversioned_fields:
                    self.version += 1
                    update_fields.add("version")
        super().save(*args, update_fields=update_fields, **kwargs)


def check_version(obj: Any, version: int | None, *, name: str | None = None) -> None:
    """Refuse (StaleVersion, 412) a change made on `version` when `obj` (read under a row lock)
    is at another one. No version means an unconditional write: nothing to check."""
    if version is None or version == obj.version:
        return
    label = name if name is not None else str(obj)
    raise StaleVersion(
        f"{label} was changed by someone else since you read it (it is now at version "
        f"{obj.version}; you edited version {version}).",
        field="version",
        rule="stale_version",
    )
