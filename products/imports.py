"""The catalogue import: a CSV or XLSX file of products, previewed, then confirmed.

The file has the product export's columns (`PRODUCT_EXPORT`), so an export imported again
changes nothing. Each row becomes a bulk-upsert row and goes through the bulk upsert's own
planner and writer (products/bulk.py `upsert_plan`, `upsert_write`): one validator for the
API's batches and for files. What only a file carries is checked here, after planning:
dependencies (by slug or `source:id`, resolved within the file first, then in the catalogue,
cycles refused with the rule `dependency_cycle`), the cluster (shown, not changed: membership
changes on the cluster page) and the external ids of an existing product (matched, not
changed).

A preview stores the parsed rows (`ImportUpload`) with a fingerprint of the catalogue; the
confirm plans the stored rows again and writes them in one transaction, or answers 409
(`import_plan_changed`) if the catalogue changed since the preview.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

# openpyxl ships no type hints (and types-openpyxl is not a dependency).
from openpyxl import load_workbook  # type: ignore[import-untyped]

from portfolio import events
from portfolio.bulk import BulkValidationFailed
from portfolio.errors import RuleViolation, ValidationFailed
from portfolio.exports import FORMULA_START, ExportColumn, columns_of
from portfolio.permissions import require_leader
from products.api.serializers import (
    CLUSTER_EXPORT,
    PERSON_EXPORT,
    PRODUCT_EXPORT,
    TeamSerializer,
)
from products.bulk import (
    BulkUpsertResult,
    UpsertPlan,
    lock_catalogue,
    row_changes,
    upsert_plan,
    upsert_write,
)
from products.models import (
    Cluster,
    ExternalId,
    ImportState,
    ImportUpload,
    OwnershipUnit,
    Person,
    Product,
    Team,
)
from products.rules import dependency_cycle_refusal, self_dependency_refusal
from products.services import (
    cluster_create,
    cluster_update,
    person_create,
    person_update,
    team_create,
    team_update,
)

CSV, XLSX = "csv", "xlsx"
ACTIONS = ("error", "create", "update", "unchanged")

# The export's columns, in its order: the file's shape (matched case-insensitively).
COLUMNS: tuple[str, ...] = tuple(c.header for c in PRODUCT_EXPORT.columns)
# Written by the catalogue itself; a file may carry them (an export does) and they are ignored.
IGNORED = frozenset(
    {
        "id",
        "stage_changed_at",
        "owner.id",
        "owner.name",
        "owner.accountable",
        "unit",
        "created_at",
        "updated_at",
        "version",
    }
)
# XLSX only: sheets of people, teams and clusters, written before the products (which may
# name them), with the columns of their own exports (teams: the API's team fields).
SHEETS: dict[str, tuple[str, ...]] = {
    "people": tuple(c.header for c in PERSON_EXPORT.columns),
    "teams": tuple(c.header for c in columns_of(TeamSerializer().fields)),
    "clusters": tuple(c.header for c in CLUSTER_EXPORT.columns),
}
# What each sheet writes (the rest is written by the portfolio, and ignored).
SHEET_FIELDS = {
    "people": ("name", "email", "title"),
    "teams": ("name", "slug", "description"),
    "clusters": ("name", "slug", "description", "reasons", "reason_note", "owner.email"),
}
PRODUCTS = "products"
TEXT = ("name", "slug", "description", "user_groups", "key_use_cases", "business_capabilities")
CHOICE = ("kind", "criticality", "lifecycle_stage", "management_model")
BOOL = ("strategic", "under_significant_change")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
PREVIEW_ROWS = 1000  # rows an API preview answers (errors first); the page pages them

EXAMPLE_ROW = {
    "name": "Expense claims",
    "slug": "expense-claims",
    "kind": "system",
    "description": "Staff claim travel and small expenses.",
    "user_count": 1200,
    "criticality": "medium",
    "strategic": False,
    "under_significant_change": False,
    "lifecycle_stage": "growth",
    "management_model": "product",
    "team": "finance-apps",
    "owner.email": "ana@example.org",
    "dependencies": "identity; cmdb:CI-7",
    "external_ids": "cmdb:CI-1042",
}


# --- Reading the file -----------------------------------------------------------------------


def _refuse_file(message: str) -> ValidationFailed:
    return ValidationFailed({"file": [message]})


def file_format(name: str, data: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return XLSX
    if lower.endswith(".csv") or lower.endswith(".txt"):
        return CSV
    raise _refuse_file("Upload a .csv or .xlsx file.")


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252 (Excel's CSV on Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise _refuse_file("The file is neither UTF-8 nor Windows-1252 text.") from None


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        raise _refuse_file(f"Line {reader.line_num} cannot be read as CSV: {exc}.") from None


def _xlsx_sheets(data: bytes) -> dict[str, list[tuple[int, list[Any]]]]:
    """The products sheet (named `products`, else the first other than the extra sheets) and
    the people, teams and clusters sheets, each as (row number, cells)."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError, XML and its own errors alike
        raise _refuse_file("The file is not a readable XLSX workbook.") from None
    try:
        names = {name.strip().lower(): name for name in workbook.sheetnames}
        products = names.get(PRODUCTS) or next(
            (n for key, n in names.items() if key not in SHEETS), None
        )
        found = {PRODUCTS: products, **{key: names.get(key) for key in SHEETS}}
        return {
            key: [
                (number, list(cells))
                for number, cells in enumerate(workbook[name].iter_rows(values_only=True), start=1)
            ]
            for key, name in found.items()
            if name is not None
        }
    except Exception:
        raise _refuse_file("The file is not a readable XLSX workbook.") from None
    finally:
        workbook.close()


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


Lines = list[tuple[int, dict[str, Any]]]


def read_rows(name: str, data: bytes) -> tuple[list[str], Lines]:
    """The products of a file: its header (lower-cased) and its rows as {column: cell}."""
    sheets = read_sheets(name, data)
    return sheets[PRODUCTS][0], sheets[PRODUCTS][1]


def read_sheets(name: str, data: bytes) -> dict[str, tuple[list[str], Lines]]:
    """Each sheet of the file (a CSV is one products sheet): its header and its rows as
    {column: cell} with their line numbers. Refuses (400 naming `file`) an empty or unreadable
    file, an unknown column, too many rows."""
    if not data:
        raise _refuse_file("The file is empty.")
    limit = settings.IMPORT_MAX_BYTES
    if len(data) > limit:
        raise _refuse_file(
            f"The file is {len(data) / 1048576:.1f} MB; the limit is {limit / 1048576:.0f} MB."
        )
    if file_format(name, data) == XLSX:
        raw = _xlsx_sheets(data)
    else:
        raw = {PRODUCTS: list(_csv_lines(data))}
    sheets = {key: _sheet(key, lines) for key, lines in raw.items()}
    if not any(rows for _header, rows in sheets.values()):
        if all(header is None for header, _rows in sheets.values()):
            raise _refuse_file("The file is empty.")
        raise _refuse_file("The file has a header but no product rows.")
    sheets.setdefault(PRODUCTS, ([], []))
    return {key: (header or [], rows) for key, (header, rows) in sheets.items()}


def _sheet(key: str, lines: Iterable[tuple[int, list[Any]]]) -> tuple[list[str] | None, Lines]:
    header: list[str] | None = None
    rows: Lines = []
    max_rows = settings.IMPORT_MAX_ROWS
    for number, cells in lines:
        if all(_blank(c) for c in cells):
            continue
        if header is None:
            header = _header(cells, SHEETS.get(key, COLUMNS), key)
            continue
        if len(rows) == max_rows:
            raise _refuse_file(f"The file has more than {max_rows:,} {key} rows; split it.")
        rows.append((number, dict(zip(header, cells, strict=False))))
    return header, rows


def _header(cells: list[Any], columns: tuple[str, ...], key: str) -> list[str]:
    header = ["" if c is None else str(c).strip().lower() for c in cells]
    while header and not header[-1]:
        header.pop()
    where = "" if key == PRODUCTS else f" in the {key} sheet"
    unknown = [h for h in header if h not in set(columns)]
    if unknown:
        noun = {"people": "person", "teams": "team", "clusters": "cluster"}.get(key, "product")
        raise _refuse_file(
            f"Unknown column{'s' if len(unknown) > 1 else ''}{where}: "
            f"{', '.join(repr(h) for h in unknown)}. The columns are those of the {noun} "
            f"export: {', '.join(columns)}."
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise _refuse_file(f"Column {', '.join(twice)} appears more than once{where}.")
    return header


# --- One row: cells to a bulk-upsert row ----------------------------------------------------


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell)
    # The export puts an apostrophe before text that starts like a formula; take it off.
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        text = text[1:]
    return text


def _list(cell: Any) -> list[str]:
    return [part.strip() for part in _text(cell).split(";") if part.strip()]


def entry_of(line: int, cells: dict[str, Any]) -> dict[str, Any]:
    """A file row as stored: the bulk-upsert row, what only files carry, and the cells'
    own errors (a number that is not one), all plain JSON."""
    row: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    entry: dict[str, Any] = {"line": line, "row": row, "errors": errors}
    for name in TEXT:
        if name in cells:
            value = _text(cells[name])
            if value.strip() or name not in ("name", "slug"):
                row[name] = value
    for name in CHOICE:
        if name in cells and not _blank(cells[name]):
            row[name] = _text(cells[name]).strip().lower()
    for name in BOOL:
        if name in cells and not _blank(cells[name]):
            value = cells[name]
            word = _text(value).strip().lower()
            if isinstance(value, bool):
                row[name] = value
            elif word in TRUE or word in FALSE:
                row[name] = word in TRUE
            else:
                errors[name] = ["Must be true or false."]
    if "user_count" in cells:
        value = cells["user_count"]
        if _blank(value):
            row["user_count"] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            row["user_count"] = value
        elif isinstance(value, float) and value.is_integer():
            row["user_count"] = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            row["user_count"] = int(value.strip())
        else:
            errors["user_count"] = ["A whole number is required."]
    if "project_end_date" in cells:
        value = cells["project_end_date"]
        if _blank(value):
            row["project_end_date"] = None
        elif isinstance(value, dt.datetime):
            row["project_end_date"] = value.date().isoformat()
        elif isinstance(value, dt.date):
            row["project_end_date"] = value.isoformat()
        else:
            row["project_end_date"] = _text(value).strip()
    if "team" in cells:
        row["team"] = _text(cells["team"]).strip() or None
    if "owner.email" in cells:
        row["owner"] = _text(cells["owner.email"]).strip() or None
    if "external_ids" in cells:
        pairs = []
        for ref in _list(cells["external_ids"]):
            source, sep, ext_id = ref.partition(":")
            if not sep:
                errors.setdefault("external_ids", []).append(
                    f"'{ref}' is not source:id (e.g. cmdb:CI-1042)."
                )
            else:
                pairs.append([source.strip(), ext_id.strip()])
        entry["external_ids"] = pairs
        if pairs:
            row["external_id"] = {"source": pairs[0][0], "id": pairs[0][1]}
    if "dependencies" in cells:
        entry["dependencies"] = _list(cells["dependencies"])
    if "cluster" in cells:
        entry["cluster"] = _text(cells["cluster"]).strip()
    return entry


def sheet_entry(key: str, line: int, cells: dict[str, Any]) -> dict[str, Any]:
    """A people, teams or clusters row as stored: its line and its writable cells as text."""
    return {
        "line": line,
        "cells": {f: _text(cells[f]).strip() for f in SHEET_FIELDS[key] if f in cells},
    }


# --- People, teams and clusters: written through their services, row by row ----------------


def apply_sheets(*, actor, sheets: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Write the file's people, then teams, then clusters (in the caller's transaction) and
    answer each row's preview body. A refused row is an error row; the others are written, so
    that the products planned next can name them (a preview rolls all of it back)."""
    rows = []
    for key, write in (("people", _person), ("teams", _team), ("clusters", _cluster)):
        for entry in sheets.get(key, []):
            body: dict[str, Any] = {"sheet": key, "line": entry["line"]}
            try:
                with transaction.atomic():
                    action, ident, name, changes = write(actor, entry["cells"])
            # A row's bad input or refused rule is that row's error in the preview, as the
            # bulk upsert reports each bad row; anything else (a bug, a 403) rises.
            except (ValidationFailed, RuleViolation) as exc:
                cells = entry["cells"]
                errors = (
                    exc.errors
                    if isinstance(exc, ValidationFailed)
                    else {exc.field or "non_field_errors": [exc.message]}
                )
                body.update(
                    slug=cells.get("email") or cells.get("slug") or "",
                    name=cells.get("name", ""),
                    action="error",
                    errors=errors,
                )
                if exc.rule:
                    body["rule"] = exc.rule
            else:
                body.update(slug=ident, name=name, action=action)
                if changes:
                    body["changes"] = changes
            rows.append(body)
    return rows


Written = tuple[str, str, str, dict[str, list[Any]]]  # action, key, name, changes


def _diff(obj: Any, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [getattr(obj, k), v] for k, v in wanted.items() if getattr(obj, k) != v}


def _person(actor, cells: dict[str, str]) -> Written:
    email = cells.get("email", "").lower()
    if not email:
        raise ValidationFailed({"email": ["Each person needs an email address."]})
    wanted = {k: cells[k] for k in ("name", "title") if k in cells}
    person = Person.objects.filter(email=email).first()
    if person is None:
        person_create(actor=actor, email=email, **wanted)
        return "create", email, wanted.get("name", ""), {}
    changes = _diff(person, wanted)
    if changes:
        person_update(actor=actor, person=person, **{k: v[1] for k, v in changes.items()})
    return ("update" if changes else "unchanged"), email, person.name, changes


def _team(actor, cells: dict[str, str]) -> Written:
    slug = cells.get("slug") or slugify(cells.get("name", ""))
    if not slug:
        raise ValidationFailed({"slug": ["Each team needs a slug or a name."]})
    wanted = {k: cells[k] for k in ("name", "description") if k in cells}
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        team_create(
            actor=actor,
            slug=slug,
            name=wanted.get("name", ""),
            description=wanted.get("description", ""),
        )
        return "create", slug, wanted.get("name", ""), {}
    changes = _diff(team, wanted)
    if changes:
        team_update(actor=actor, team=team, **{k: v[1] for k, v in changes.items()})
    return ("update" if changes else "unchanged"), slug, team.name, changes


def _cluster(actor, cells: dict[str, str]) -> Written:
    slug = cells.get("slug") or slugify(cells.get("name", ""))
    if not slug:
        raise ValidationFailed({"slug": ["Each cluster needs a slug or a name."]})
    wanted: dict[str, Any] = {
        k: cells[k] for k in ("name", "description", "reason_note") if k in cells
    }
    if "reasons" in cells:
        wanted["reasons"] = _list(cells["reasons"])
    owner: Person | None = None
    if cells.get("owner.email"):
        owner = Person.objects.filter(email=cells["owner.email"].lower()).first()
        if owner is None:
            raise ValidationFailed(
                {"owner.email": [f"No person with the email {cells['owner.email']}."]}
            )
    cluster = Cluster.objects.select_related("unit__owner").filter(slug=slug).first()
    if cluster is None:
        cluster_create(actor=actor, slug=slug, owner=owner, **{"name": "", **wanted})
        return "create", slug, wanted.get("name", ""), {}
    changes = _diff(cluster, wanted)
    current = cluster.unit.owner if cluster.unit else None
    if "owner.email" in cells and owner != current:
        changes["owner.email"] = [
            current.email if current else None,
            owner.email if owner else None,
        ]
    if changes:
        update = {k: v[1] for k, v in changes.items() if k != "owner.email"}
        if "owner.email" in changes:
            update["owner"] = owner
        cluster_update(actor=actor, cluster=cluster, **update)
    return ("update" if changes else "unchanged"), slug, cluster.name, changes


# --- Planning: the bulk upsert's planner, then what only files carry -----------------------

Node = tuple[str, int]  # ("p", product id) or ("r", row index) for a product the file creates


@dataclass
class FilePlan:
    upsert: UpsertPlan
    entries: list[dict[str, Any]]
    # Rows whose dependencies the write sets: row index -> the nodes it depends on.
    dependencies: dict[int, list[Node]] = field(default_factory=dict)
    # Existing products whose dependencies change: row index -> (old slugs, new slugs).
    dependency_changes: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)

    def node(self, index: int) -> Node:
        existing = self.upsert.plans[index].existing
        return ("p", existing.product["id"]) if existing else ("r", index)

    def slug(self, index: int) -> str:
        plan = self.upsert.plans[index]
        if plan.clean.get("slug"):
            return plan.clean["slug"]
        return plan.existing.product["slug"] if plan.existing else plan.slug


def plan_file(entries: list[dict[str, Any]]) -> FilePlan:
    """What importing `entries` would do, every row checked; no writes."""
    teams = list(Team.objects.values_list("id", "slug", "name"))
    team_slugs = {slug for _id, slug, _name in teams}
    team_by_name = {name.lower(): slug for _id, slug, name in teams}
    rows = []
    for entry in entries:
        row = dict(entry["row"])
        team = row.get("team")
        if team and team not in team_slugs and team.lower() in team_by_name:
            row["team"] = team_by_name[team.lower()]  # a team may be named by its name
        rows.append(row)
    plan = FilePlan(upsert_plan(rows, by_slug=True), entries)
    for index, entry in enumerate(entries):
        for name, messages in entry["errors"].items():
            for message in messages:
                plan.upsert.refuse(index, name, message)
    _check_external_ids(plan)
    _check_clusters(plan)
    if any("dependencies" in e for e in entries):
        _plan_dependencies(plan)
    return plan


def _check_external_ids(plan: FilePlan) -> None:
    """An existing product keeps its external ids (the file must list the same ones, or leave
    the cell out); a new one takes one."""
    ids = [p.existing.product["id"] for p in plan.upsert.plans if p.existing]
    held: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for product_id, source, ext_id in ExternalId.objects.filter(product_id__in=ids).values_list(
        "product_id", "source", "external_id"
    ):
        held[product_id].add((source, ext_id))
    for index, (entry, row) in enumerate(zip(plan.entries, plan.upsert.plans, strict=True)):
        if "external_ids" not in entry:
            continue
        wanted = {(s, i) for s, i in entry["external_ids"]}
        if row.existing is not None:
            has = held[row.existing.product["id"]]
            if wanted != has:
                plan.upsert.refuse(
                    index,
                    "external_ids",
                    f"{row.existing.product['slug']} has the external ids "
                    f"{_pairs(has) or '(none)'}; the file lists {_pairs(wanted) or '(none)'}. "
                    "External ids change on the product's page or through the API.",
                )
        elif len(wanted) > 1:
            plan.upsert.refuse(
                index, "external_ids", "A new product takes one external id here; add more later."
            )


def _pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"{s}:{i}" for s, i in sorted(pairs))


def _check_clusters(plan: FilePlan) -> None:
    """The cluster column must say where the product is: membership changes on the cluster
    page (it moves backlogs and owners), never as a side effect of a file."""
    if not any("cluster" in e for e in plan.entries):
        return
    clusters = list(Cluster.objects.values_list("unit__id", "slug", "name"))
    slug_of_unit = {unit_id: slug for unit_id, slug, _ in clusters}
    slug_of = {name.lower(): slug for _u, slug, name in clusters}
    slug_of.update({slug: slug for _u, slug, _n in clusters})
    for index, (entry, row) in enumerate(zip(plan.entries, plan.upsert.plans, strict=True)):
        if "cluster" not in entry:
            continue
        wanted = entry["cluster"]
        wanted_slug = slug_of.get(wanted.lower(), wanted) if wanted else None
        unit = row.existing.unit if row.existing else None
        current = slug_of_unit.get(unit["id"]) if unit else None
        if wanted_slug != current:
            plan.upsert.refuse(
                index,
                "cluster",
                f"The product is in {current or 'no cluster'}, the file says "
                f"{wanted or 'none'}. Cluster membership changes on the cluster's page.",
                rule="use_cluster_membership",
            )


def _plan_dependencies(plan: FilePlan) -> None:
    """Resolve each row's dependencies (the file first, then the catalogue), refuse unknown
    ones, a product depending on itself and cycles, and note what changes."""
    entries, plans = plan.entries, plan.upsert.plans
    in_file_slug = {plan.slug(i): i for i in range(len(plans))}
    in_file_ext: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        for source, ext_id in entry.get("external_ids") or []:
            in_file_ext.setdefault((source, ext_id), i)
    wanted_slugs: set[str] = set()
    wanted_ext: set[tuple[str, str]] = set()
    for entry in entries:
        for ref in entry.get("dependencies") or []:
            source, sep, ext_id = ref.partition(":")
            if sep:
                if (source, ext_id) not in in_file_ext:
                    wanted_ext.add((source, ext_id))
            elif ref not in in_file_slug:
                wanted_slugs.add(ref)
    db_slug = dict(Product.objects.filter(slug__in=wanted_slugs).values_list("slug", "id"))
    db_ext: dict[tuple[str, str], int] = {}
    if wanted_ext:
        sources = {s for s, _ in wanted_ext}
        for source, ext_id, product_id in ExternalId.objects.filter(
            source__in=sources, external_id__in={i for _, i in wanted_ext}
        ).values_list("source", "external_id", "product_id"):
            db_ext[(source, ext_id)] = product_id

    for i, entry in enumerate(entries):
        if "dependencies" not in entry:
            continue
        nodes: list[Node] = []
        for ref in entry["dependencies"]:
            source, sep, ext_id = ref.partition(":")
            target: Node | None = None
            if sep and (source, ext_id) in in_file_ext:
                target = plan.node(in_file_ext[(source, ext_id)])
            elif sep and (source, ext_id) in db_ext:
                target = ("p", db_ext[(source, ext_id)])
            elif not sep and ref in in_file_slug:
                target = plan.node(in_file_slug[ref])
            elif not sep and ref in db_slug:
                target = ("p", db_slug[ref])
            if target is None:
                plan.upsert.refuse(
                    i, "dependencies", f"No product '{ref}' in the file or the catalogue."
                )
            elif target not in nodes:
                nodes.append(target)
        own = plan.node(i)
        refusal = self_dependency_refusal(
            product_id=0 if own in nodes else None, dependency_ids=[0]
        )
        if refusal is not None:
            plan.upsert.refuse(i, refusal.field, refusal.message, refusal.rule)
            continue
        plan.dependencies[i] = nodes

    # The dependency graph once the file is written: the catalogue's edges, with the file's
    # rows' replaced by theirs.
    through = Product.dependencies.through
    edges: dict[Node, list[Node]] = defaultdict(list)
    for source_id, target_id in through.objects.values_list("from_product_id", "to_product_id"):
        edges[("p", source_id)].append(("p", target_id))
    current = {i: sorted(edges.get(plan.node(i), [])) for i in plan.dependencies}
    for i, nodes in plan.dependencies.items():
        edges[plan.node(i)] = nodes
    row_of = {plan.node(i): i for i in range(len(plans))}
    cycles = _cycles(edges, [plan.node(i) for i in plan.dependencies])

    # Slugs for people to read: of what changes, and of each cycle's products.
    ids = {
        n[1] for nodes in [*plan.dependencies.values(), *current.values(), *cycles] for n in nodes
    }
    slugs = dict(Product.objects.filter(id__in=ids).values_list("id", "slug"))
    for cycle in cycles:
        names = [_node_slug(n, plan, row_of, slugs) for n in cycle]
        refusal = dependency_cycle_refusal([*names, names[0]])
        for node in cycle:
            if node in row_of and row_of[node] in plan.dependencies:
                plan.upsert.refuse(row_of[node], refusal.field, refusal.message, refusal.rule)
    for i, nodes in plan.dependencies.items():
        if plans[i].existing is None:
            continue
        old = sorted(slugs.get(n[1], "?") for n in current[i])
        new = sorted(_node_slug(n, plan, row_of, slugs) for n in nodes)
        if old != new:
            plan.dependency_changes[i] = (old, new)


def _node_slug(node: Node, plan: FilePlan, row_of: dict[Node, int], slugs=None) -> str:
    if node in row_of:
        return plan.slug(row_of[node])
    if slugs and node[1] in slugs:
        return slugs[node[1]]
    return str(node[1])


def _cycles(edges: dict[Node, list[Node]], starts: list[Node]) -> list[list[Node]]:
    """Cycles reachable from `starts` (each found once), by an iterative depth-first walk."""
    state: dict[Node, int] = {}  # 1: on the path, 2: done
    found: list[list[Node]] = []
    for start in starts:
        if start in state:
            continue
        path: list[Node] = [start]
        stack = [iter(edges.get(start, ()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                found.append(path[path.index(nxt) :])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
    return found


# --- Preview --------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def preview_of(plan: FilePlan) -> dict[str, Any]:
    """Counts per action and each row's action, its changes (old, new) or its errors."""
    counts = dict.fromkeys(ACTIONS, 0)
    team_ids: set[int] = set()
    people_ids: set[int] = set()
    changes_of = {}
    for p in plan.upsert.plans:
        if p.existing is not None and p.index not in plan.upsert.errors:
            changes = row_changes(p)
            changes_of[p.index] = changes
            if "team_id" in changes.columns:
                team_ids.update(v for v in changes.columns["team_id"] if v)
            if changes.owner:
                people_ids.update(v for v in changes.owner if v)
    team_slug = dict(Team.objects.filter(id__in=team_ids).values_list("id", "slug"))
    email = dict(Person.objects.filter(id__in=people_ids).values_list("id", "email"))
    rows = []
    for p, entry in zip(plan.upsert.plans, plan.entries, strict=True):
        body: dict[str, Any] = {
            "sheet": PRODUCTS,
            "line": entry["line"],
            "slug": plan.slug(p.index) or "",
            "name": p.clean.get("name") or (p.existing.product["name"] if p.existing else ""),
        }
        errs = plan.upsert.errors.get(p.index)
        if errs:
            body.update(action="error", errors=errs.errors)
            if errs.rule:
                body["rule"] = errs.rule
        elif p.existing is None:
            body["action"] = "create"
        else:
            changes = changes_of[p.index]
            shown: dict[str, list[Any]] = {}
            for column, (old, new) in changes.columns.items():
                if column == "team_id":
                    shown["team"] = [team_slug.get(old), team_slug.get(new)]
                else:
                    shown[column] = [_jsonable(old), _jsonable(new)]
            if changes.owner:
                shown["owner.email"] = [email.get(v) for v in changes.owner]
            if p.index in plan.dependency_changes:
                shown["dependencies"] = [*plan.dependency_changes[p.index]]
            body["action"] = "update" if shown else "unchanged"
            if shown:
                body["changes"] = shown
        counts[body["action"]] += 1
        rows.append(body)
    return {"counts": counts, "rows": rows}


def catalogue_fingerprint() -> str:
    """A digest of everything an import plan reads: every product's id and version, and
    counts and last changes of units, people, teams, clusters, external ids, dependencies."""
    qn = connection.ops.quote_name

    def table(model) -> str:
        return qn(model._meta.db_table)

    through = Product.dependencies.through
    versioned = [
        f"(SELECT count(*) || ':' || coalesce(sum(version), 0) || ':' "
        f"|| coalesce(max(updated_at)::text, '') FROM {table(m)})"
        for m in (Person, Team, Cluster)
    ]
    sql = (
        "SELECT md5(concat_ws('|', "
        f"(SELECT string_agg(id || ':' || version, ',' ORDER BY id) FROM {table(Product)}), "
        f"(SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') "
        f"FROM {table(OwnershipUnit)}), "
        f"(SELECT count(*) || ':' || coalesce(max(id), 0) FROM {table(ExternalId)}), "
        f"(SELECT count(*) || ':' || coalesce(max(id), 0) FROM {table(through)}), "
        + ", ".join(versioned)
        + "))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


# --- Services -------------------------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back what a preview wrote (people, teams, clusters) once its plan is made."""

    def __init__(self, preview: dict[str, Any]):
        super().__init__("preview")
        self.preview = preview


def _plan_all(*, actor, sheets: dict[str, list], entries: list[dict]) -> tuple[dict, FilePlan]:
    """Write the sheets, plan the products; the preview of both, sheets' rows first."""
    sheet_rows = apply_sheets(actor=actor, sheets=sheets)
    plan = plan_file(entries)
    preview = preview_of(plan)
    for row in sheet_rows:
        preview["counts"][row["action"]] += 1
    preview["rows"] = sheet_rows + preview["rows"]
    return preview, plan


def import_preview(*, actor, filename: str, data: bytes) -> ImportUpload:
    """Read a file and plan it against the catalogue (leaders only). Stores the upload and
    its plan, never the catalogue; a file that cannot be read is refused (400 `file`)."""
    require_leader(actor, "import the catalogue")
    read = read_sheets(filename, data)
    entries = [entry_of(line, cells) for line, cells in read[PRODUCTS][1]]
    sheets = {
        key: [sheet_entry(key, line, cells) for line, cells in rows]
        for key, (_header, rows) in read.items()
        if key != PRODUCTS and rows
    }
    with transaction.atomic():
        fingerprint = catalogue_fingerprint()  # before planning: a change in between is a 409
        if sheets:
            try:
                with transaction.atomic():
                    raise _DryRun(_plan_all(actor=actor, sheets=sheets, entries=entries)[0])
            except _DryRun as dry:
                preview = dry.preview
        else:
            preview = preview_of(plan_file(entries))
        return ImportUpload.objects.create(
            created_by=actor,
            filename=filename[:255],
            fingerprint=fingerprint,
            rows=entries,
            sheets=sheets,
            preview=preview,
        )


def import_confirm(*, actor, upload: ImportUpload, fingerprint: str) -> ImportUpload:
    """Write a previewed upload, all or nothing (leaders only), through the bulk upsert's
    writer. 409 `import_plan_changed` if the catalogue changed since the preview (or the
    fingerprint given is not the preview's), 409 `import_done` if it was confirmed already."""
    require_leader(actor, "import the catalogue")
    try:
        return _confirm(actor=actor, upload_id=upload.pk, fingerprint=fingerprint)
    except IntegrityError as exc:
        raise RuleViolation(
            "Another change to the same products landed while the import was written; nothing "
            "was stored. Preview the file again.",
            field="file",
            rule="import_plan_changed",
        ) from exc


@transaction.atomic
def _confirm(*, actor, upload_id: int, fingerprint: str) -> ImportUpload:
    upload = ImportUpload.objects.select_for_update().get(pk=upload_id)
    if upload.state == ImportState.CONFIRMED:
        raise RuleViolation(
            "This import was confirmed already.", field="upload", rule="import_done"
        )
    if upload.preview.get("counts", {}).get("error"):
        raise ValidationFailed(
            {"file": ["The preview has rows with errors; fix the file and upload it again."]}
        )
    lock_catalogue()
    if fingerprint != upload.fingerprint or catalogue_fingerprint() != upload.fingerprint:
        raise RuleViolation(
            "The catalogue changed since this preview; upload the file again for a fresh one.",
            field="fingerprint",
            rule="import_plan_changed",
        )
    preview, plan = _plan_all(actor=actor, sheets=upload.sheets, entries=upload.rows)
    if preview["counts"]["error"]:  # the catalogue is as previewed, so this is not expected
        if plan.upsert.errors:
            raise BulkValidationFailed(plan.upsert.error_rows())
        raise ValidationFailed({"file": ["A row of the people, teams or clusters is refused."]})
    result = upsert_write(actor=actor, plan=plan.upsert)
    changed_deps = _write_dependencies(actor=actor, plan=plan, result=result)
    counts = {"created": result.created, "updated": result.updated}
    # A row whose only change is its dependencies counts as updated, not unchanged.
    counts["updated"] += changed_deps
    counts["unchanged"] = result.unchanged - changed_deps
    upload.state = ImportState.CONFIRMED
    upload.confirmed_at = timezone.now()
    upload.result = {
        **counts,
        "sheets": {
            key: {
                a: sum(1 for r in preview["rows"] if r.get("sheet") == key and r["action"] == a)
                for a in ("create", "update", "unchanged")
            }
            for key in upload.sheets
        },
        "rows": [
            {"index": r.index, "id": r.id, "slug": r.slug, "action": r.action}
            for r in sorted(result.rows, key=lambda r: r.index)
        ],
    }
    upload.save(update_fields=["state", "confirmed_at", "result"])
    return upload


def _write_dependencies(*, actor, plan: FilePlan, result: BulkUpsertResult) -> int:
    """Set the dependencies of the rows that change them (new products' too). Answers how many
    of the rows the bulk writer found unchanged had only their dependencies changed."""
    id_of = {r.index: r.id for r in result.rows}
    action_of = {r.index: r.action for r in result.rows}
    to_set = {
        i: nodes
        for i, nodes in plan.dependencies.items()
        if i in plan.dependency_changes or plan.upsert.plans[i].existing is None
    }
    to_set = {i: n for i, n in to_set.items() if n or i in plan.dependency_changes}
    if not to_set:
        return 0
    through = Product.dependencies.through

    def product_id(node: Node) -> int:
        return node[1] if node[0] == "p" else id_of[node[1]]

    sources = [id_of[i] for i in to_set]
    through.objects.filter(from_product_id__in=sources).delete()
    through.objects.bulk_create(
        [
            through(from_product_id=id_of[i], to_product_id=product_id(node))
            for i, nodes in to_set.items()
            for node in nodes
        ]
    )
    changed = [i for i in to_set if i in plan.dependency_changes]
    if changed:
        # A changed product is a new version: an edit made on the old one gets its 412.
        Product.objects.filter(id__in=[id_of[i] for i in changed]).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
        events.record_batch(
            [
                events.Entry(
                    "product.updated",
                    id_of[i],
                    {"dependencies": [*plan.dependency_changes[i]]},
                )
                for i in changed
            ],
            actor=actor,
        )
    return sum(1 for i in changed if action_of[i] == "unchanged")


# --- The template ---------------------------------------------------------------------------


def template_columns() -> tuple[ExportColumn, ...]:
    return PRODUCT_EXPORT.columns


def template_rows() -> list[list[Any]]:
    """The header and one example row."""
    return [list(COLUMNS), [EXAMPLE_ROW.get(c, "") for c in COLUMNS]]
