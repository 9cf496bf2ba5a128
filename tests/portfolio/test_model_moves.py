"""A database migrated at the old layout reaches the new one with `migrate` alone, rows intact.

Issue 12 moved people, teams and clusters from the portfolio app into the catalogue
(products), and the analytics and funding models into apps of their own. The test migrates an
empty database to the last migrations before the move, writes a row into every moved model
(its history tables and the team membership table too), migrates forward and reads every
column back from the models' new homes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

# The leaf migrations of each app on main before the move.
BEFORE = [
    ("portfolio", "0006_funding"),
    ("products", "0005_fewer_product_indexes"),
    ("metrics", "0001_initial"),
    ("backlog", "0001_initial"),
    ("reviews", "0001_initial"),
]
AFTER = [
    ("portfolio", "0007_models_moved_out"),
    ("products", "0007_tables_renamed"),
    ("analytics", "0002_tables_renamed"),
    ("funding", "0002_tables_renamed"),
    ("reviews", "0002_owners_are_catalogue_people"),
]
MOVED = {
    "products": [
        "Person",
        "Team",
        "Cluster",
        "HistoricalPerson",
        "HistoricalTeam",
        "HistoricalCluster",
        "HistoricalTeam_members",
    ],
    "analytics": [
        "Snapshot",
        "UnitState",
        "OwnerLoad",
        "SignalObservation",
        "SplitSignal",
        "Candidate",
        "Readiness",
    ],
    "funding": ["FundingAllocation", "InvestmentRequest"],
}
# Values the generic filler would get wrong for a model's own checks.
OVERRIDES: dict[str, dict[str, Any]] = {
    "products.ownershipunit": {"kind": "cluster", "product": None},
}
NOW = timezone.now().replace(microsecond=0)


def _value(field: models.Field, n: int) -> Any:
    """A plausible value for `field` that meets the model's checks (positive, valid choice)."""
    if field.choices:
        return field.choices[-1][0] if field.name != "status" else field.choices[0][0]
    if isinstance(field, ArrayField):
        base = field.base_field
        return [base.choices[0][0]] if base.choices else ["a"]
    if isinstance(field, models.EmailField):
        return f"person{n}@example.org"
    if isinstance(field, models.SlugField):
        return f"slug-{n}"
    if isinstance(field, (models.CharField, models.TextField)):
        return f"{field.name} {n}"[: field.max_length or 100]
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DecimalField):
        return Decimal("12.50")
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, models.IntegerField):
        return 2
    if isinstance(field, models.DurationField):
        return dt.timedelta(hours=1)
    if isinstance(field, models.DateTimeField):
        return NOW
    if isinstance(field, models.DateField):
        return dt.date(2026, 3, 31)
    if isinstance(field, models.JSONField):
        return {"n": n}
    raise AssertionError(f"no filler for {field!r}")


class Filler:
    """Writes one row into a historical model, making the rows its foreign keys need."""

    def __init__(self, apps) -> None:
        self.apps = apps
        self.made: dict[str, models.Model] = {}
        self.making: set[str] = set()
        self.n = 0

    def row(self, app_label: str, name: str) -> models.Model:
        key = f"{app_label}.{name}".lower()
        if key in self.made:
            return self.made[key]
        model = self.apps.get_model(app_label, name)
        self.making.add(key)
        self.n += 1
        values: dict[str, Any] = dict(OVERRIDES.get(key, {}))
        for field in model._meta.concrete_fields:
            if (field.primary_key and field.auto_created) or field.name in values:
                continue
            if field.is_relation:
                target = field.related_model._meta
                if f"{target.app_label}.{target.object_name}".lower() in self.making:
                    assert field.null, f"{key}.{field.name} closes a loop of required keys"
                    values[field.name] = None  # a loop (a self reference, say): left empty
                else:
                    values[field.name] = self.row(target.app_label, target.object_name)
            elif field.name == "history_type":
                values[field.name] = "+"
            else:
                values[field.name] = _value(field, self.n)
        if "departed_on" in values:
            values["active"] = False
        instance = model.objects.create(**values)
        self.made[key] = instance
        self.making.discard(key)
        return instance


def _columns(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.mark.django_db(transaction=True)
def test_the_moved_models_keep_every_row_and_column(migrator):
    old = migrator.apply_initial_migration(BEFORE)
    filler = Filler(old.apps)
    written = {}
    for app_label, names in MOVED.items():
        for name in names:
            written[(app_label, name)] = _columns(filler.row("portfolio", name))
    team = filler.made["portfolio.team"]
    team.members.add(filler.made["portfolio.person"])
    ct = old.apps.get_model("contenttypes", "ContentType")
    ct.objects.get_or_create(app_label="portfolio", model="person")

    new = migrator.apply_tested_migration(AFTER)

    for (app_label, name), columns in written.items():
        model = new.apps.get_model(app_label, name)
        assert model._meta.db_table == f"{app_label}_{name.lower()}"
        stored = model.objects.get(pk=columns[model._meta.pk.attname])
        assert _columns(stored) == columns, f"{app_label}.{name} changed"
    Team = new.apps.get_model("products", "Team")
    assert list(Team.objects.get().members.values_list("email", flat=True)) == [
        written[("products", "Person")]["email"]
    ]
    # Admin log entries and permissions follow the model to its new app.
    content_types = new.apps.get_model("contenttypes", "ContentType").objects
    assert content_types.filter(app_label="products", model="person").exists()
    assert not content_types.filter(app_label="portfolio", model="person").exists()
