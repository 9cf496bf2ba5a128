"""Writes on metrics and readings. Every function owns its transaction and checks who may write.

Readings come in through one path, `readings_ingest`, whether one is typed in the browser, a
CSV file is uploaded or a monitoring system posts 10,000 at once. It validates the whole batch
in plain Python, resolves every metric with one query, and writes with one COPY into a
temporary table and one INSERT ... ON CONFLICT, so sending the same batch twice stores nothing
new. A batch with a bad row is refused whole, each bad row named.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from metrics.catalogue import BY_KEY
from metrics.models import Better, Metric, Reading
from portfolio import events
from portfolio.bulk import BulkValidationFailed, RowError, RowErrors, clean_string, printable
from portfolio.errors import Forbidden, ValidationFailed
from portfolio.models import PortfolioSettings
from portfolio.permissions import AnyUser, is_leader
from portfolio.validation import date_range_error, full_clean_or_fail, parse_id
from portfolio.versioning import check_version
from products.models import Product
from products.permissions import require_unit_editor

MAX_READINGS = 10_000
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
DEFINITION_FIELDS = (
    "key",
    "name",
    "description",
    "level",
    "dimension",
    "unit",
    "better",
    "target",
    "warning",
    "critical",
    "expected_interval",
)


# --- Definitions -------------------------------------------------------------------------------


def check_thresholds(metric: Metric) -> None:
    """Thresholds must sit on the worse side of the target, critical beyond warning."""
    errors: dict[str, list[str]] = {}
    worse = "below" if metric.better == Better.HIGHER else "above"
    for name in ("target", "warning", "critical"):
        value = getattr(metric, name)
        if value is not None and not math.isfinite(value):
            errors[name] = ["Enter a finite number."]
    if errors:
        raise ValidationFailed(errors)

    def wrong_side(value: float, line: float) -> bool:
        return value > line if metric.better == Better.HIGHER else value < line

    if metric.warning is not None and wrong_side(metric.warning, metric.target):
        errors["warning"] = [f"With '{metric.get_better_display()}' it must be {worse} the target."]
    line = metric.warning if metric.warning is not None else metric.target
    if metric.critical is not None and wrong_side(metric.critical, line):
        what = "warning threshold" if metric.warning is not None else "target"
        errors["critical"] = [
            f"With '{metric.get_better_display()}' it must be {worse} the {what} (or equal to it)."
        ]
    if errors:
        raise ValidationFailed(errors)


def _check_key_free(metric: Metric) -> None:
    taken = Metric.objects.filter(product_id=metric.product_id, key=metric.key)
    if metric.pk:
        taken = taken.exclude(pk=metric.pk)
    if taken.exists():
        raise ValidationFailed(
            {"key": [f"{metric.product.name} already has a metric called '{metric.key}'."]}
        )


@transaction.atomic
def metric_create(
    *, actor: AnyUser, product: Product, template: str | None = None, **fields: Any
) -> Metric:
    """Define a metric on a product, from a catalogue template (fields override it) or custom."""
    product = Product.objects.select_related("unit__owner").get(pk=product.pk)
    assert product.unit is not None  # a product's unit is NULL only inside product_create
    require_unit_editor(actor, product.unit, f"define metrics of {product.name}")
    values: dict[str, Any] = {}
    if template:
        if template not in BY_KEY:
            raise ValidationFailed({"template": [f"No template called '{template}'."]})
        values.update(BY_KEY[template].defaults(PortfolioSettings.load().currency))
    unknown = set(fields) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationFailed({f: ["This field cannot be set here."] for f in sorted(unknown)})
    values.update(
        {k: v for k, v in fields.items() if v is not None or k in ("warning", "critical")}
    )
    if not values.get("key") and values.get("name"):
        values["key"] = slugify(values["name"])[:60]
    metric = Metric(product=product, **values)
    full_clean_or_fail(metric, exclude=["product"])
    check_thresholds(metric)
    _check_key_free(metric)
    metric.save()
    events.record("metric.created", metric, actor=actor)
    return metric


@transaction.atomic
def metric_update(
    *, actor: AnyUser, metric: Metric, version: int | None = None, **changes: Any
) -> Metric:
    """Change a metric's definition. With `version`, refuse if it changed since then."""
    metric = (
        Metric.objects.select_for_update(of=("self",))
        .select_related("product__unit__owner")
        .get(pk=metric.pk)
    )
    assert metric.product.unit is not None
    check_version(metric, version, name=metric.name)
    require_unit_editor(actor, metric.product.unit, f"change metrics of {metric.product.name}")
    unknown = set(changes) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationFailed({f: ["This field cannot be changed here."] for f in sorted(unknown)})
    before = events.values_of(metric)
    for name, value in changes.items():
        setattr(metric, name, value)
    full_clean_or_fail(metric, exclude=["product"])
    check_thresholds(metric)
    _check_key_free(metric)
    metric.save()
    changed = events.diff(before, events.values_of(metric))
    if changed:
        events.record("metric.updated", metric, actor=actor, changed=changed)
    return metric


@transaction.atomic
def metric_delete(*, actor: AnyUser, metric: Metric, version: int | None = None) -> None:
    """Remove a metric with its readings. With `version`, refuse if it changed since then."""
    metric = (
        Metric.objects.select_for_update(of=("self",))
        .select_related("product__unit__owner")
        .get(pk=metric.pk)
    )
    assert metric.product.unit is not None
    check_version(metric, version, name=metric.name)
    require_unit_editor(actor, metric.product.unit, f"remove metrics of {metric.product.name}")
    events.record("metric.deleted", metric, actor=actor, data=None)
    metric.delete()


# --- Readings ----------------------------------------------------------------------------------


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    metrics: int = 0
    # Per row (only when asked for): "created", "updated" or "unchanged".
    outcomes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "metrics": self.metrics,
        }


@dataclass
class _Clean:
    index: int
    ref: int | str
    taken_at: dt.datetime
    value: float
    source: str
    unit: str | None


# A reading to store: metric id, time, value, source, and its index in the batch.
_Keep = tuple[int, dt.datetime, float, str, int]

# product-slug/metric-key: a product slug (up to 160) and a metric key (up to 60).
REF_RE = re.compile(r"^[-a-zA-Z0-9_]{1,160}/[-a-zA-Z0-9_]{1,60}\Z")
READING_FIELDS = frozenset({"metric", "time", "value", "source", "unit"})


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time; one without an offset is read in the server's time zone."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    parsed: dt.datetime | None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed)
    return parsed


def parse_value(value: Any) -> tuple[float | None, str | None]:
    """A reading's value, or why it is not one."""
    if isinstance(value, bool) or value is None:
        return None, "Not a number."
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e308 or isinstance(value, float) else math.inf
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None, "Not a number."
    else:
        return None, "Not a number."
    if math.isnan(number):
        return None, "NaN is not a reading; leave the reading out instead."
    if math.isinf(number):
        return None, "Infinity is not a reading."
    return number, None


def _ref(value: Any, errs: RowErrors) -> int | str | None:
    if (number := parse_id(value.strip() if isinstance(value, str) else value)) is not None:
        return number
    if isinstance(value, str):
        text = value.strip()
        if REF_RE.match(text):
            return text
    errs.add("metric", "Give the metric's id or 'product-slug/metric-key'.")
    return None


def _clean_reading(
    index: int, row: Any, default_source: str, latest: dt.datetime
) -> tuple[_Clean | None, RowErrors, int | str | None]:
    """One row's shape and types (no queries); also its metric reference when that is valid."""
    errs = RowErrors()
    if not isinstance(row, dict):
        errs.add("non_field_errors", f"Expected an object, got {type(row).__name__}.")
        return None, errs, None
    for key in sorted(set(row) - READING_FIELDS, key=str):
        errs.add(printable(str(key)), "Unknown field.")
    ref = _ref(row["metric"], errs) if "metric" in row else None
    if "metric" not in row:
        errs.add("metric", "This field is required.")
    taken_at = None
    if "time" not in row:
        errs.add("time", "This field is required.")
    else:
        taken_at = parse_time(row["time"])
        if taken_at is None:
            errs.add("time", "Not a time; use ISO 8601, e.g. 2026-11-25T10:00:00Z.")
        elif problem := date_range_error(taken_at):
            errs.add("time", problem)
        elif taken_at > latest:
            errs.add(
                "time",
                f"{taken_at.isoformat()} is in the future; readings may be at most "
                f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes ahead of the server clock.",
                rule="reading_in_future",
            )
    value = None
    if "value" not in row:
        errs.add("value", "This field is required.")
    else:
        value, problem = parse_value(row["value"])
        if problem:
            errs.add("value", problem)
    source: str | None = default_source
    if row.get("source") not in (None, ""):
        source = clean_string(row["source"], "source", errs, 60)
    unit = None
    if row.get("unit") not in (None, ""):
        unit = clean_string(row["unit"], "unit", errs, 30)
    if errs:
        return None, errs, ref
    # Without errors every field parsed (each one that did not added an error).
    assert ref is not None and taken_at is not None and value is not None and source is not None
    return _Clean(index, ref, taken_at, value, source, unit), errs, ref


def _resolve(refs: set[int | str]) -> dict[int | str, Mapping[str, Any]]:
    """Every referenced metric, by id and by 'slug/key', in one query."""
    ids = {r for r in refs if isinstance(r, int)}
    pairs = [tuple(r.split("/")) for r in refs if isinstance(r, str)]
    condition = Q(pk__in=ids)
    if pairs:
        slugs = {p[0] for p in pairs}
        keys = {p[1] for p in pairs}
        condition |= Q(product__slug__in=slugs, key__in=keys)
    rows = Metric.objects.filter(condition).values(
        "id", "key", "unit", "product__slug", "product__name", "product__unit__owner__user_id"
    )
    found: dict[int | str, Mapping[str, Any]] = {}
    for row in rows:
        found[row["id"]] = row
        found[f"{row['product__slug']}/{row['key']}"] = row
    return found


def readings_ingest(
    *,
    actor: AnyUser,
    rows: Any,
    default_source: str = "api",
    field: str = "readings",
    outcomes: bool = False,
) -> IngestResult:
    """Store readings, all or nothing; idempotent on (metric, time, source).

    A reading at a known (metric, time, source) with a new value replaces the old value (a
    correction); with the same value it is left alone. Rows are dicts with `metric` (id or
    'product-slug/metric-key'), `time`, `value`, and optionally `source` and `unit`.
    """
    if not isinstance(rows, list):
        raise ValidationFailed({field: ["Expected a list of readings."]})
    if not rows:
        raise ValidationFailed({field: ["Send at least one reading."]})
    if len(rows) > MAX_READINGS:
        raise ValidationFailed(
            {field: [f"At most {MAX_READINGS:,} readings per call; this one has {len(rows):,}."]}
        )
    latest = timezone.now() + FUTURE_TOLERANCE
    bad: list[RowError] = []
    clean: list[_Clean] = []
    refs: set[int | str] = set()
    broken: list[tuple[int, RowErrors, int | str | None]] = []
    for index, row in enumerate(rows):
        item, errs, ref = _clean_reading(index, row, default_source, latest)
        if ref is not None:
            refs.add(ref)
        if errs:
            broken.append((index, errs, ref))
        else:
            assert item is not None  # a row without errors is clean
            clean.append(item)
    metrics = _resolve(refs)
    for index, errs, ref in broken:
        if ref is not None and ref not in metrics:
            errs.add("metric", f"No metric {printable(str(ref))}.", rule="unknown_metric")
        bad.append(RowError(index, errs.errors, errs.rule))
    seen: dict[tuple[int, dt.datetime, str], _Clean] = {}
    keep: list[_Keep] = []
    for item in clean:
        metric = metrics.get(item.ref)
        errs = RowErrors()
        if metric is None:
            errs.add("metric", f"No metric {printable(str(item.ref))}.", rule="unknown_metric")
        elif item.unit is not None and item.unit.casefold() != metric["unit"].casefold():
            errs.add(
                "unit",
                f"{metric['product__name']}: {metric['key']} is measured in "
                f"'{metric['unit']}', not '{printable(item.unit)}'.",
                rule="wrong_unit",
            )
        else:
            key = (metric["id"], item.taken_at, item.source)
            first = seen.get(key)
            if first is None:
                seen[key] = item
                keep.append((metric["id"], item.taken_at, item.value, item.source, item.index))
            elif first.value != item.value:
                errs.add(
                    "time",
                    f"Row {first.index} has the same metric, time and source with another value.",
                    rule="duplicate_reading",
                )
        if errs:
            bad.append(RowError(item.index, errs.errors, errs.rule))
    if bad:
        bad.sort(key=lambda r: r.index)
        raise BulkValidationFailed(bad, field=field)
    if not is_leader(actor):
        user_id = getattr(actor, "pk", None)
        refused = sorted(
            {
                f"{m['product__slug']}/{m['key']}"
                for m in (metrics[c.ref] for c in clean)
                if m["product__unit__owner__user_id"] != user_id or user_id is None
            }
        )
        if refused:
            shown = ", ".join(refused[:10]) + (" …" if len(refused) > 10 else "")
            raise Forbidden(
                f"Only the owner of the product's unit or a portfolio leader can record readings "
                f"of {shown}.",
                field=field,
                rule="unit_owner_or_leader",
            )
    result = _write(keep, outcomes=outcomes, actor=actor)
    if outcomes:
        by_index = {k[4]: outcome for k, outcome in zip(keep, result.outcomes, strict=True)}
        result.outcomes = [by_index.get(i, "unchanged") for i in range(len(rows))]
    result.received = len(rows)
    result.unchanged = len(rows) - result.created - result.updated
    return result


@transaction.atomic
def _write(keep: list[_Keep], *, outcomes: bool, actor: AnyUser) -> IngestResult:
    now = timezone.now()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for metric_id, taken_at, value, source, _index in keep:
        writer.writerow((metric_id, taken_at.isoformat(), repr(value), source))
    buffer.seek(0)
    table = Reading._meta.db_table
    metric_table = Metric._meta.db_table
    result = IngestResult(metrics=len({k[0] for k in keep}))
    with connection.cursor() as cursor:
        # Dropped first: an enclosing transaction (a test, a larger import) may call us twice.
        cursor.execute(
            "DROP TABLE IF EXISTS pg_temp.incoming_readings; "
            "CREATE TEMP TABLE incoming_readings (metric_id integer, taken_at timestamptz, "
            "value double precision, source varchar(60)) ON COMMIT DROP"
        )
        cursor.copy_expert("COPY incoming_readings FROM STDIN WITH (FORMAT csv)", buffer)
        # Created or corrected: a corrected row keeps its first `created_at`. (`xmax = 0`
        # would say it too, but a partitioned table cannot return system columns.)
        created = "(r.created_at = %s)"
        returning = (
            f"metric_id, taken_at, source, {created}" if outcomes else f"metric_id, {created}"
        )
        cursor.execute(
            f"""
            WITH written AS (
                INSERT INTO {table} AS r (metric_id, taken_at, value, source, created_at,
                                          updated_at)
                SELECT metric_id, taken_at, value, source, %s, %s FROM incoming_readings
                ON CONFLICT (metric_id, taken_at, source) DO UPDATE
                    SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
                    WHERE r.value IS DISTINCT FROM EXCLUDED.value
                RETURNING {returning}
            )
            SELECT * FROM written
            """,
            [now, now, now],
        )
        written = cursor.fetchall()
        if outcomes:
            kinds = {(m, t, s): "created" if new else "updated" for m, t, s, new in written}
            result.outcomes = [kinds.get((k[0], k[1], k[3]), "unchanged") for k in keep]
        result.created = sum(1 for row in written if row[-1])
        result.updated = len(written) - result.created
        touched = sorted({row[0] for row in written})
        before = events.representations("metric", touched)
        if written:
            cursor.execute(
                f"""
                UPDATE {metric_table} AS m
                   SET last_value = latest.value, last_read_at = latest.taken_at
                  FROM (SELECT DISTINCT ON (metric_id) metric_id, taken_at, value
                          FROM incoming_readings
                         ORDER BY metric_id, taken_at DESC, source) AS latest
                 WHERE m.id = latest.metric_id
                   AND (m.last_read_at IS NULL OR latest.taken_at >= m.last_read_at)
                """
            )
    _record_ingest(touched, before, actor=actor)
    return result


INGEST_FIELDS = ("status", "last_value", "last_read_at")


def _record_ingest(touched: list[int], before: Mapping[int, Any], *, actor: AnyUser) -> None:
    """One event per metric whose readings changed (never one per reading): its status change
    if the readings moved it, a summary otherwise; all in one INSERT."""
    if not touched:
        return
    after = events.representations("metric", touched)
    entries, bodies = [], []
    for metric_id in touched:
        old, new = before.get(metric_id) or {}, after.get(metric_id) or {}
        changed = {k: [old.get(k), new.get(k)] for k in INGEST_FIELDS if old.get(k) != new.get(k)}
        kind = "metric.status_changed" if "status" in changed else "metric.readings_ingested"
        entries.append(events.Entry(kind, metric_id, changed))
        bodies.append(after.get(metric_id))
    events.record_batch(entries, actor=actor, data=bodies)


def reading_record(
    *, actor: AnyUser, metric: Metric, time: Any, value: Any, source: str = "manual"
) -> IngestResult:
    """One reading typed in by a person: the same rules as a batch, errors by field name."""
    assert metric.product.unit is not None
    require_unit_editor(actor, metric.product.unit, f"record readings of {metric.product.name}")
    row = {"metric": metric.pk, "time": time, "value": value, "source": source}
    try:
        return readings_ingest(actor=actor, rows=[row], default_source=source)
    except BulkValidationFailed as exc:
        raise ValidationFailed(exc.rows[0].errors) from exc


@transaction.atomic
def reading_delete(*, actor: AnyUser, reading: Reading) -> None:
    """Remove one reading (a typing mistake); the metric's latest reading follows."""
    metric = (
        Metric.objects.select_for_update(of=("self",))
        .select_related("product__unit__owner")
        .get(pk=reading.metric_id)
    )
    assert metric.product.unit is not None
    require_unit_editor(actor, metric.product.unit, f"remove readings of {metric.product.name}")
    before = events.representations("metric", [metric.pk])
    events.record(
        "metric_reading.deleted",
        reading,
        actor=actor,
        data=None,
        changed={"metric": [reading.metric_id, None], "value": [reading.value, None]},
    )
    # With its time the delete probes one monthly partition, not each of them.
    Reading.objects.filter(pk=reading.pk, taken_at=reading.taken_at).delete()
    latest = metric.readings.order_by("-taken_at", "source").values("value", "taken_at").first()
    metric.last_value = latest["value"] if latest else None
    metric.last_read_at = latest["taken_at"] if latest else None
    metric.save(update_fields=["last_value", "last_read_at"])
    after = events.representations("metric", [metric.pk]).get(metric.pk)
    old_status = (before.get(metric.pk) or {}).get("status")
    new_status = (after or {}).get("status")
    if old_status != new_status:
        events.record(
            "metric.status_changed",
            metric,
            actor=actor,
            changed={"status": [old_status, new_status]},
            data=after,
        )


# --- CSV files ---------------------------------------------------------------------------------

CSV_COLUMNS = ("metric", "time", "value")
CSV_OPTIONAL = ("source", "unit")


@dataclass
class CsvLine:
    line: int
    values: dict[str, str]
    outcome: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CsvReport:
    lines: list[CsvLine]
    result: IngestResult | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def bad_lines(self) -> list[CsvLine]:
        return [line for line in self.lines if line.errors]


def readings_import_csv(*, actor: AnyUser, data: bytes, default_source: str = "csv") -> CsvReport:
    """Read a CSV file (metric,time,value[,source][,unit]) and store it, all or nothing.

    Never raises for the file's content: the report says, line by line, what was stored or
    what is wrong (file lines count from 1, the header included).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return CsvReport([], problem="The file is not UTF-8 text; save it as CSV (UTF-8).")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return CsvReport(
            [],
            problem=f"The header must name the columns {', '.join(CSV_COLUMNS)} "
            f"(and may add {', '.join(CSV_OPTIONAL)}); missing: {', '.join(missing)}.",
        )
    reader.fieldnames = header
    lines: list[CsvLine] = []
    rows: list[dict[str, str]] = []
    try:
        for record in reader:
            if len(lines) >= MAX_READINGS:
                return CsvReport(
                    [],
                    problem=f"At most {MAX_READINGS:,} readings per file; split the file.",
                )
            values = {k: (v or "").strip() for k, v in record.items() if k in READING_FIELDS}
            if not any(values.values()):
                continue
            lines.append(CsvLine(reader.line_num, values))
            rows.append({k: v for k, v in values.items() if v != "" or k in CSV_COLUMNS})
    except csv.Error as exc:
        return CsvReport(
            [], problem=f"The file stops being valid CSV after line {reader.line_num}: {exc}."
        )
    if not rows:
        return CsvReport([], problem="The file has a header but no readings.")
    try:
        result = readings_ingest(
            actor=actor, rows=rows, default_source=default_source, field="rows", outcomes=True
        )
    except BulkValidationFailed as exc:
        for error in exc.rows:
            lines[error.index].errors = error.errors
        return CsvReport(lines, problem=exc.message)
    for line, outcome in zip(lines, result.outcomes, strict=False):
        line.outcome = outcome
    return CsvReport(lines, result=result)
