"""The portfolio analytics, computed set-based in SQL: one statement per rule over the whole
portfolio, writing its rows straight into the snapshot tables (INSERT ... SELECT).

A run (`run_snapshot`) is a sequence of steps. Each step commits on its own, so a page can
show the progress; readers only ever see finished snapshots, and a failed run is deleted
whole. Runs are serialised by a PostgreSQL advisory lock: a second run at the same time
skips (or, asked to, waits) and never makes a second snapshot.

Rules (DOMAIN.md, thresholds from PortfolioSettings):
- members: products run as products (not projects), not retired, in a current unit.
- active unit: a member in introduction, growth or retirement, under significant change, or
  with high support demand (its support ticket volume worse than the red line, or in the top
  quartile of the portfolio when at least four products report one). Otherwise stable.
- owner load: `triaging` from `triaging_active_units` active units; `over` above
  `max_active_units` active or `max_stable_units` stable; `at_ceiling` with both exactly
  full; else `ok`. Over (or triaging) in `design_problem_consecutive` snapshots in a row is
  a portfolio design problem.
- split signals per cluster: crowding (one member over `crowding_share_pct` % of the open
  estimate or of the top `crowding_top_items` items while another finished nothing in
  `crowding_idle_days` days, in `crowding_snapshots_required` of the last
  `crowding_snapshots_window` weekly snapshots); dominance (one member over max(share %,
  multiple x fair share) of the finished operations and support effort of the last
  `dominance_window_days` days, an item's effort being its estimate, or 1 day without one);
  strategic (a member flagged strategic, or with an investment request above the governance
  threshold, submitted or approved, this fiscal year).
- candidates: no accountable owner (6 points), open items untouched for
  `orphan_item_age_days` days (2 points plus one per item, up to 5), high support demand
  (3 points), no review closed in the last `orphan_review_quarters` quarters for a product
  older than that (2 points), reactive funding this fiscal year (2 points); ranked by score.
- readiness: owner named, user base documented (groups and an approximate count), key use
  cases documented, backlog started, metrics between the minimum and maximum covering all
  three dimensions, the unit's next review scheduled (today or later); the score is the share
  of the six met.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from analytics.models import (
    OVER_STATUSES,
    OwnerLoad,
    SignalKind,
    SignalObservation,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    SplitSignal,
    Trigger,
)
from backlog.models import OPEN_STATUSES, BacklogItem
from metrics.models import SEVERITY, Metric, Status
from metrics.status import severity_expression
from portfolio import events
from portfolio.models import PortfolioSettings
from products.models import ManagementModel, OwnershipUnit, Product, Stage

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x414E_4C59  # "ANLY": one analytics run at a time
EVENT_JOB = "analytics run"  # how the events of a run name who made them
CONSECUTIVE_LOOKBACK = 52
OPEN = tuple(str(s) for s in OPEN_STATUSES)

SUPPORT_TEMPLATE = "support-tickets"


@dataclass
class Context:
    snapshot: Snapshot
    settings: PortfolioSettings
    now: dt.datetime

    def params(self, **extra: Any) -> dict[str, Any]:
        s = self.settings
        return {
            "snap": self.snapshot.pk,
            "now": self.now,
            "product_model": ManagementModel.PRODUCT,
            "retired": Stage.RETIRED,
            "open": list(OPEN),
            "support_template": SUPPORT_TEMPLATE,
            "max_active": s.max_active_units,
            "max_stable": s.max_stable_units,
            "triaging": s.triaging_active_units,
            "share": s.crowding_share_pct / 100,
            "top": s.crowding_top_items,
            "idle_since": self.now - dt.timedelta(days=s.crowding_idle_days),
            "idle_days": s.crowding_idle_days,
            "dominance_share": s.dominance_share_pct / 100,
            "fair_multiple": float(s.dominance_fair_share_multiple),
            "dominance_since": self.now - dt.timedelta(days=s.dominance_window_days),
            "dominance_days": s.dominance_window_days,
            "neglect_before": self.now - dt.timedelta(days=s.orphan_item_age_days),
            "neglect_days": s.orphan_item_age_days,
            "metrics_min": s.metrics_min,
            "fiscal_year": self.now.year,
            "governance_threshold": s.governance_threshold,
            "today": self.now.date(),
            "review_since": (self.now - dt.timedelta(days=91 * s.orphan_review_quarters)).date(),
            "review_quarters": s.orphan_review_quarters,
            "reviewable_before": self.now - dt.timedelta(days=91 * s.orphan_review_quarters),
            "metrics_max": s.metrics_max,
            **extra,
        }


# --- Shared SQL fragments -----------------------------------------------------------------------

P = Product._meta.db_table
U = OwnershipUnit._meta.db_table
B = BacklogItem._meta.db_table
M = Metric._meta.db_table
R = "reviews_review"
INV = "funding_investmentrequest"
ALLOC = "funding_fundingallocation"

MEMBERS = f"""
    members AS (
        SELECT p.id, p.name, p.slug, p.lifecycle_stage, p.strategic, p.under_significant_change,
               p.unit_id, u.kind AS unit_kind, u.cluster_id, u.owner_id,
               (o.id IS NOT NULL AND o.active AND coalesce(au.is_active, true)) AS accountable,
               p.user_groups, p.user_count, p.key_use_cases, p.created_at
          FROM {P} p
          JOIN {U} u ON u.id = p.unit_id AND u.is_active
          LEFT JOIN products_person o ON o.id = u.owner_id
          LEFT JOIN auth_user au ON au.id = o.user_id
         WHERE p.management_model = %(product_model)s AND p.lifecycle_stage <> %(retired)s
    )"""

HIGH_SUPPORT = f"""
    support AS (
        SELECT m.product_id, m.last_value, m.critical, m.better
          FROM {M} m
         WHERE m.template = %(support_template)s AND m.last_value IS NOT NULL
    ),
    support_p75 AS (
        SELECT CASE WHEN count(*) >= 4
                    THEN percentile_cont(0.75) WITHIN GROUP (ORDER BY last_value) END AS v
          FROM support
    ),
    high_support AS (
        SELECT DISTINCT s.product_id
          FROM support s CROSS JOIN support_p75 q
         WHERE (s.critical IS NOT NULL AND CASE WHEN s.better = 'lower'
                                                THEN s.last_value > s.critical
                                                ELSE s.last_value < s.critical END)
            OR (q.v IS NOT NULL AND s.better = 'lower' AND s.last_value >= q.v)
    )"""


def _unit_health_sql(now: dt.datetime) -> tuple[str, list]:
    """The worst metric severity per unit, as SQL built by the ORM (one definition of status)."""
    qs = (
        Metric.objects.filter(
            product__unit__is_active=True,
            product__management_model=ManagementModel.PRODUCT,
        )
        .exclude(product__lifecycle_stage=Stage.RETIRED)
        .annotate(severity=severity_expression(now=now))
        .values("product__unit_id")
        .annotate(worst=Max("severity"))
        .values("product__unit_id", "worst")
        .order_by()
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


# --- Steps --------------------------------------------------------------------------------------


def step_units(cursor, ctx: Context) -> None:
    health_sql, health_params = _unit_health_sql(ctx.now)
    # The ORM's SQL uses %s placeholders: bind ours by position too.
    sql = f"""
        WITH {MEMBERS}, {HIGH_SUPPORT},
        member_reasons AS (
            SELECT m.unit_id, m.id, m.lifecycle_stage,
                   array_remove(ARRAY[
                       CASE WHEN m.lifecycle_stage IN ('introduction', 'growth')
                            THEN m.name || ': in ' || m.lifecycle_stage END,
                       CASE WHEN m.lifecycle_stage = 'retirement'
                            THEN m.name || ': migrating its users away (retirement)' END,
                       CASE WHEN m.under_significant_change
                            THEN m.name || ': under significant operational change' END,
                       CASE WHEN hs.product_id IS NOT NULL
                            THEN m.name || ': high support demand' END
                   ], NULL) AS reasons
              FROM members m LEFT JOIN high_support hs ON hs.product_id = m.id
        ),
        unit_reasons AS (
            SELECT unit_id, array_agg(r ORDER BY r) AS reasons
              FROM member_reasons, unnest(reasons) AS r
             GROUP BY unit_id
        ),
        health(unit_id, worst) AS ({health_sql})
        INSERT INTO analytics_unitstate
               (snapshot_id, unit_id, owner_id, cluster_id, name, stage, members, accountable,
                active, reasons, health)
        SELECT %(snap)s, u.id, u.owner_id, u.cluster_id, coalesce(c.name, up.name),
               mode() WITHIN GROUP (ORDER BY mr.lifecycle_stage),
               count(mr.id),
               (o.id IS NOT NULL AND bool_and(o.active) AND bool_and(coalesce(au.is_active, true))),
               bool_or(cardinality(mr.reasons) > 0),
               coalesce(ur.reasons, ARRAY[]::text[]),
               h.worst
          FROM {U} u
          JOIN member_reasons mr ON mr.unit_id = u.id
          LEFT JOIN products_cluster c ON c.id = u.cluster_id
          LEFT JOIN {P} up ON up.id = u.product_id
          LEFT JOIN products_person o ON o.id = u.owner_id
          LEFT JOIN auth_user au ON au.id = o.user_id
          LEFT JOIN unit_reasons ur ON ur.unit_id = u.id
          LEFT JOIN health h ON h.unit_id = u.id
         WHERE u.is_active
         GROUP BY u.id, c.name, up.name, o.id, ur.reasons, h.worst
    """
    _execute(cursor, sql, ctx.params(), health_params)


def step_owners(cursor, ctx: Context) -> None:
    cursor.execute(
        """
        INSERT INTO analytics_ownerload
               (snapshot_id, person_id, active_units, stable_units, status, consecutive_over,
                design_problem, suggestions)
        SELECT %(snap)s, owner_id, a, s,
               CASE WHEN a >= %(triaging)s THEN 'triaging'
                    WHEN a > %(max_active)s OR s > %(max_stable)s THEN 'over'
                    WHEN a = %(max_active)s AND s = %(max_stable)s THEN 'at_ceiling'
                    ELSE 'ok' END,
               0, false, '[]'::jsonb
          FROM (SELECT owner_id, count(*) FILTER (WHERE active) AS a,
                       count(*) FILTER (WHERE NOT active) AS s
                  FROM analytics_unitstate
                 WHERE snapshot_id = %(snap)s AND accountable
                 GROUP BY owner_id) AS load
        """,
        ctx.params(),
    )
    _mark_design_problems(cursor, ctx)


def _mark_design_problems(cursor, ctx: Context) -> None:
    """Count, for each owner over the ceiling now, the snapshots in a row they have been over."""
    previous = list(
        Snapshot.objects.done()
        .filter(started_at__lt=ctx.snapshot.started_at)
        .order_by("-started_at", "-id")
        .values_list("id", flat=True)[:CONSECUTIVE_LOOKBACK]
    )
    over_now = set(
        OwnerLoad.objects.filter(snapshot=ctx.snapshot, status__in=OVER_STATUSES).values_list(
            "person_id", flat=True
        )
    )
    if not over_now:
        return
    over_before: dict[int, set[int]] = defaultdict(set)
    for snap_id, person_id in OwnerLoad.objects.filter(
        snapshot_id__in=previous, status__in=OVER_STATUSES, person_id__in=over_now
    ).values_list("snapshot_id", "person_id"):
        over_before[snap_id].add(person_id)
    runs = {}
    for person_id in over_now:
        run = 1
        for snap_id in previous:
            if person_id not in over_before[snap_id]:
                break
            run += 1
        runs[person_id] = run
    needed = ctx.settings.design_problem_consecutive
    values = ", ".join(["(%s, %s)"] * len(runs))
    cursor.execute(
        f"""
        UPDATE analytics_ownerload AS l
           SET consecutive_over = v.run, design_problem = v.run >= %s
          FROM (VALUES {values}) AS v(person_id, run)
         WHERE l.snapshot_id = %s AND l.person_id = v.person_id
        """,
        [needed, *[x for pair in runs.items() for x in pair], ctx.snapshot.pk],
    )
    problems = [p for p, run in runs.items() if run >= needed]
    if problems:
        suggestions = suggest_groupings(ctx.snapshot, problems)
        loads = list(OwnerLoad.objects.filter(snapshot=ctx.snapshot, person_id__in=problems))
        for load in loads:
            load.suggestions = suggestions.get(load.person_id, [])
        OwnerLoad.objects.bulk_update(loads, ["suggestions"])


def _lines(text: str) -> set[str]:
    return {line.strip().casefold() for line in (text or "").splitlines() if line.strip()}


def suggest_groupings(snapshot: Snapshot, person_ids: list[int]) -> dict[int, list[dict]]:
    """Groups of an overloaded owner's units that share users, a business domain or a
    dependency: candidates to run as one cluster. Two queries for all owners together."""
    states = list(
        snapshot.units.filter(owner_id__in=person_ids).values("unit_id", "owner_id", "name")
    )
    unit_owner = {s["unit_id"]: s["owner_id"] for s in states}
    unit_name = {s["unit_id"]: s["name"] for s in states}
    products = list(
        Product.objects.filter(unit_id__in=unit_owner)
        .exclude(management_model=ManagementModel.PROJECT)
        .values("id", "name", "unit_id", "user_groups", "business_capabilities")
    )
    product_unit = {p["id"]: p["unit_id"] for p in products}
    deps = Product.dependencies.through.objects.filter(
        from_product_id__in=product_unit, to_product_id__in=product_unit
    ).values_list("from_product_id", "to_product_id")
    names = {p["id"]: p["name"] for p in products}
    links: dict[tuple[int, int], list[str]] = defaultdict(list)

    def link(a: int, b: int, why: str) -> None:
        if a != b and unit_owner[a] == unit_owner[b]:
            key = (min(a, b), max(a, b))
            if why not in links[key]:
                links[key].append(why)

    by_group: dict[tuple[int, str], set[int]] = defaultdict(set)
    by_domain: dict[tuple[int, str], set[int]] = defaultdict(set)
    for p in products:
        owner = unit_owner[p["unit_id"]]
        for group in _lines(p["user_groups"]):
            by_group[(owner, group)].add(p["unit_id"])
        for capability in _lines(p["business_capabilities"]):
            by_domain[(owner, capability)].add(p["unit_id"])
    for (_owner, group), units in by_group.items():
        for a in units:
            for b in units:
                link(a, b, f"same users: {group}")
    for (_owner, capability), units in by_domain.items():
        for a in units:
            for b in units:
                link(a, b, f"same business domain: {capability}")
    for src, dst in deps:
        link(product_unit[src], product_unit[dst], f"{names[src]} depends on {names[dst]}")
    # Connected units form one suggested cluster.
    parent = {u: u for u in unit_owner}

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for a, b in links:
        parent[find(a)] = find(b)
    groups: dict[int, set[int]] = defaultdict(set)
    for u in unit_owner:
        groups[find(u)].add(u)
    out: dict[int, list[dict]] = {p: [] for p in person_ids}
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda u: unit_name[u])
        why = sorted(
            {w for (a, b), ws in links.items() if a in members and b in members for w in ws}
        )
        out[unit_owner[ordered[0]]].append(
            {"units": [unit_name[u] for u in ordered], "unit_ids": ordered, "why": why}
        )
    for items in out.values():
        items.sort(key=lambda s: (-len(s["units"]), s["units"]))
    return out


CLUSTER_MEMBERS = """
    cmembers AS (SELECT * FROM members WHERE unit_kind = 'cluster')"""


def step_crowding(cursor, ctx: Context) -> None:
    cursor.execute(
        f"""
        WITH {MEMBERS}, {CLUSTER_MEMBERS},
        items AS (
            SELECT b.unit_id, b.product_id, coalesce(b.estimate, 0) AS est,
                   row_number() OVER (PARTITION BY b.unit_id ORDER BY b.rank) AS pos
              FROM {B} b JOIN cmembers m ON m.id = b.product_id AND m.unit_id = b.unit_id
             WHERE b.status = ANY(%(open)s)
        ),
        per_member AS (
            SELECT m.unit_id, m.cluster_id, m.id AS product_id, m.name,
                   coalesce(sum(i.est), 0) AS est,
                   count(i.product_id) FILTER (WHERE i.pos <= %(top)s) AS top_items
              FROM cmembers m LEFT JOIN items i ON i.product_id = m.id
             GROUP BY m.unit_id, m.cluster_id, m.id, m.name
        ),
        totals AS (
            SELECT unit_id, sum(est) AS est, sum(top_items) AS top_items, count(*) AS n
              FROM per_member GROUP BY unit_id
        ),
        shares AS (
            SELECT pm.*, pm.est / nullif(t.est, 0) AS est_share,
                   pm.top_items::numeric / nullif(t.top_items, 0) AS top_share, t.n
              FROM per_member pm JOIN totals t USING (unit_id)
        ),
        idle AS (
            SELECT s.unit_id, s.product_id, s.name
              FROM shares s
             WHERE NOT EXISTS (SELECT 1 FROM {B} b
                                WHERE b.product_id = s.product_id AND b.status = 'done'
                                  AND b.finished_at >= %(idle_since)s)
        ),
        crowders AS (
            SELECT s.*, row_number() OVER (
                       PARTITION BY s.unit_id
                       ORDER BY greatest(coalesce(s.est_share, 0), coalesce(s.top_share, 0)) DESC,
                                s.product_id) AS r
              FROM shares s
             WHERE s.n >= 2 AND (s.est_share > %(share)s OR s.top_share > %(share)s)
        )
        INSERT INTO analytics_signalobservation
               (snapshot_id, cluster_id, kind, product_id, evidence)
        SELECT %(snap)s, c.cluster_id, 'crowding', c.product_id,
               jsonb_build_object(
                   'member', c.name,
                   'estimate_share_pct', round(coalesce(c.est_share, 0) * 100, 1),
                   'top_share_pct', round(coalesce(c.top_share, 0) * 100, 1),
                   'top_items', %(top)s,
                   'threshold_pct', round(%(share)s::numeric * 100, 1),
                   'idle_days', %(idle_days)s,
                   'idle_members', (SELECT jsonb_agg(i.name ORDER BY i.name) FROM idle i
                                     WHERE i.unit_id = c.unit_id AND i.product_id <> c.product_id))
          FROM crowders c
         WHERE c.r = 1
           AND EXISTS (SELECT 1 FROM idle i
                        WHERE i.unit_id = c.unit_id AND i.product_id <> c.product_id)
        """,
        ctx.params(),
    )


def step_dominance(cursor, ctx: Context) -> None:
    cursor.execute(
        f"""
        WITH {MEMBERS}, {CLUSTER_MEMBERS},
        effort AS (
            SELECT m.unit_id, m.cluster_id, m.id AS product_id, m.name,
                   coalesce(sum(coalesce(b.estimate, 1)), 0) AS effort, count(b.id) AS items
              FROM cmembers m
              LEFT JOIN {B} b ON b.product_id = m.id AND b.status = 'done'
                             AND b.dimension IN ('operations', 'support')
                             AND b.finished_at >= %(dominance_since)s
             GROUP BY m.unit_id, m.cluster_id, m.id, m.name
        ),
        totals AS (
            SELECT unit_id, sum(effort) AS total, count(*) AS n FROM effort GROUP BY unit_id
        ),
        shares AS (
            SELECT e.*, t.total, t.n, e.effort / t.total AS share,
                   greatest(%(dominance_share)s, %(fair_multiple)s / t.n) AS line
              FROM effort e JOIN totals t USING (unit_id)
             WHERE t.total > 0 AND t.n >= 2
        )
        INSERT INTO analytics_signalobservation
               (snapshot_id, cluster_id, kind, product_id, evidence)
        SELECT %(snap)s, s.cluster_id, 'dominance', s.product_id,
               jsonb_build_object(
                   'member', s.name,
                   'share_pct', round(s.share * 100, 1),
                   'threshold_pct', round(s.line::numeric * 100, 1),
                   'fair_share_pct', round(100.0 / s.n, 1),
                   'effort_days', s.effort, 'total_days', s.total, 'items', s.items,
                   'window_days', %(dominance_days)s)
          FROM shares s
         WHERE s.share > s.line
        """,
        ctx.params(),
    )


def step_strategic(cursor, ctx: Context) -> None:
    cursor.execute(
        f"""
        WITH {MEMBERS}, {CLUSTER_MEMBERS},
        big_asks AS (
            SELECT i.product_id,
                   jsonb_agg(jsonb_build_object('amount', i.amount, 'status', i.status)
                             ORDER BY i.amount DESC) AS asks
              FROM {INV} i
             WHERE i.fiscal_year = %(fiscal_year)s AND i.status IN ('submitted', 'approved')
               AND i.amount > %(governance_threshold)s
             GROUP BY i.product_id
        )
        INSERT INTO analytics_signalobservation
               (snapshot_id, cluster_id, kind, product_id, evidence)
        SELECT %(snap)s, m.cluster_id, 'strategic', m.id,
               jsonb_build_object(
                   'member', m.name,
                   'reasons', to_jsonb(array_remove(ARRAY[
                       CASE WHEN m.strategic THEN 'flagged strategic' END,
                       CASE WHEN b.product_id IS NOT NULL
                            THEN 'asking for investment above the governance threshold' END
                   ], NULL)),
                   'requests', coalesce(b.asks, '[]'::jsonb),
                   'threshold', %(governance_threshold)s)
          FROM cmembers m
          LEFT JOIN big_asks b ON b.product_id = m.id
         WHERE m.strategic OR b.product_id IS NOT NULL
        """,
        ctx.params(),
    )


def step_candidates(cursor, ctx: Context) -> None:
    cursor.execute(
        f"""
        WITH {MEMBERS}, {HIGH_SUPPORT},
        neglect AS (
            SELECT product_id, count(*) AS n FROM {B}
             WHERE status = ANY(%(open)s) AND updated_at < %(neglect_before)s
             GROUP BY product_id
        ),
        reactive AS (
            SELECT unit_id FROM {ALLOC}
             WHERE fiscal_year = %(fiscal_year)s AND mode = 'reactive'
        ),
        unreviewed AS (
            SELECT m.id AS product_id
              FROM members m
             WHERE m.created_at < %(reviewable_before)s
               AND NOT EXISTS (SELECT 1 FROM {R} r
                                WHERE r.unit_id = m.unit_id AND r.status = 'closed'
                                  AND r.scheduled_on >= %(review_since)s)
        ),
        scored AS (
            SELECT m.id, m.unit_id, m.name,
                   CASE WHEN NOT m.accountable THEN 6 ELSE 0 END
                   + CASE WHEN ng.n > 0 THEN 2 + least(ng.n, 3) ELSE 0 END
                   + CASE WHEN hs.product_id IS NOT NULL THEN 3 ELSE 0 END
                   + CASE WHEN ur.product_id IS NOT NULL THEN 2 ELSE 0 END
                   + CASE WHEN rf.unit_id IS NOT NULL THEN 2 ELSE 0 END AS score,
                   array_remove(ARRAY[
                       CASE WHEN m.owner_id IS NULL THEN 'No owner'
                            WHEN NOT m.accountable THEN 'Its owner has left' END,
                       CASE WHEN ng.n > 0 THEN ng.n || ' open backlog item'
                            || CASE WHEN ng.n > 1 THEN 's' ELSE '' END
                            || ' untouched for ' || %(neglect_days)s || ' days or more' END,
                       CASE WHEN hs.product_id IS NOT NULL THEN 'High support demand' END,
                       CASE WHEN ur.product_id IS NOT NULL
                            THEN 'No review held in the last ' || %(review_quarters)s
                                 || ' quarters' END,
                       CASE WHEN rf.unit_id IS NOT NULL
                            THEN 'Funded reactively: money only when something breaks' END
                   ], NULL) AS reasons
              FROM members m
              LEFT JOIN neglect ng ON ng.product_id = m.id
              LEFT JOIN high_support hs ON hs.product_id = m.id
              LEFT JOIN unreviewed ur ON ur.product_id = m.id
              LEFT JOIN reactive rf ON rf.unit_id = m.unit_id
        )
        INSERT INTO analytics_candidate (snapshot_id, product_id, unit_id, rank, score, reasons)
        SELECT %(snap)s, id, unit_id, row_number() OVER (ORDER BY score DESC, name, id), score,
               reasons
          FROM scored
         WHERE score > 0
        """,
        ctx.params(),
    )


def step_readiness(cursor, ctx: Context) -> None:
    cursor.execute(
        f"""
        WITH {MEMBERS},
        started AS (SELECT DISTINCT product_id FROM {B}),
        coverage AS (
            SELECT product_id, count(*) AS n, count(DISTINCT dimension) AS d
              FROM {M} GROUP BY product_id
        ),
        checks AS (
            SELECT m.id, m.accountable AS owner_named,
                   (btrim(m.user_groups) <> '' AND m.user_count IS NOT NULL) AS users_documented,
                   btrim(m.key_use_cases) <> '' AS use_cases_documented,
                   s.product_id IS NOT NULL AS backlog_started,
                   coalesce(c.n BETWEEN %(metrics_min)s AND %(metrics_max)s AND c.d = 3, false)
                       AS metrics_covered,
                   EXISTS (SELECT 1 FROM {R} r
                            WHERE r.unit_id = m.unit_id AND r.status = 'scheduled'
                              AND r.scheduled_on >= %(today)s) AS review_scheduled
              FROM members m
              LEFT JOIN started s ON s.product_id = m.id
              LEFT JOIN coverage c ON c.product_id = m.id
        )
        INSERT INTO analytics_readiness
               (snapshot_id, product_id, owner_named, users_documented, use_cases_documented,
                backlog_started, metrics_covered, review_scheduled, score)
        SELECT %(snap)s, id, owner_named, users_documented, use_cases_documented,
               backlog_started, metrics_covered, review_scheduled,
               round(100.0 * (owner_named::int + users_documented::int
                              + use_cases_documented::int + backlog_started::int
                              + metrics_covered::int + review_scheduled::int) / 6)
          FROM checks
        """,
        ctx.params(),
    )


def step_totals(cursor, ctx: Context) -> None:
    """Portfolio-wide figures and what the run read, kept on the snapshot."""
    snap = ctx.snapshot
    now = ctx.now
    health = (
        Metric.objects.filter(
            product__unit__is_active=True, product__management_model=ManagementModel.PRODUCT
        )
        .exclude(product__lifecycle_stage=Stage.RETIRED)
        .annotate(severity=severity_expression(now=now))
        .values("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_severity = {row["severity"]: row["n"] for row in health}
    snap.results = {
        "metric_health": {s.value: by_severity.get(SEVERITY[s], 0) for s in Status},
    }
    snap.inputs = {
        "products": Product.objects.count(),
        "units": OwnershipUnit.objects.filter(is_active=True).count(),
        "backlog_items": BacklogItem.objects.count(),
        "metrics": sum(by_severity.values()),
        "products_changed_at": _iso(Product.objects.aggregate(m=Max("updated_at"))["m"]),
        "backlog_changed_at": _iso(BacklogItem.objects.aggregate(m=Max("updated_at"))["m"]),
    }
    snap.save(update_fields=["results", "inputs"])


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


STEPS: list[tuple[str, Callable]] = [
    ("Active and stable units", step_units),
    ("Owner load", step_owners),
    ("Backlog crowding", step_crowding),
    ("Operational dominance", step_dominance),
    ("Strategic members", step_strategic),
    ("Where to start", step_candidates),
    ("Onboarding readiness", step_readiness),
    ("Metric health and totals", step_totals),
]


def _execute(cursor, sql: str, named: dict[str, Any], positional: list) -> None:
    """Run SQL mixing %(name)s parameters with the ORM's positional %s ones.

    psycopg2 takes one style per statement, so the named ones are turned into positional
    placeholders in order of appearance.
    """

    values: list[Any] = []
    spans = list(re.finditer(r"%\((\w+)\)s|%s", sql))
    positional_iter = iter(positional)
    out = []
    last = 0
    for match in spans:
        out.append(sql[last : match.start()])
        out.append("%s")
        values.append(
            named[match.group(1)] if match.group(1) is not None else next(positional_iter)
        )
        last = match.end()
    out.append(sql[last:])
    cursor.execute("".join(out), values)


# --- Signals across snapshots ------------------------------------------------------------------


def weekly_snapshot_ids(ctx: Context, window: int) -> list[int]:
    """The last snapshot of each of the latest `window` weeks (this run counts as this week's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM (
                SELECT DISTINCT ON (date_trunc('week', started_at)) id, started_at
                  FROM analytics_snapshot
                 WHERE (status = 'done' OR id = %s) AND started_at <= %s
                 ORDER BY date_trunc('week', started_at) DESC, started_at DESC, id DESC
            ) AS weekly
            ORDER BY started_at DESC
            LIMIT %s
            """,
            [ctx.snapshot.pk, ctx.snapshot.started_at, window],
        )
        return [row[0] for row in cursor.fetchall()]


def update_signals(ctx: Context) -> dict[str, int]:
    """Open, refresh and clear split signals from this snapshot's observations."""
    s = ctx.settings
    weekly = weekly_snapshot_ids(ctx, s.crowding_snapshots_window)
    crowd_counts = dict(
        SignalObservation.objects.filter(kind=SignalKind.CROWDING, snapshot_id__in=weekly)
        .values("cluster_id")
        .annotate(n=Count("snapshot_id", distinct=True))
        .values_list("cluster_id", "n")
    )
    crowded = {c for c, n in crowd_counts.items() if n >= s.crowding_snapshots_required}
    raised: dict[tuple[int, str, int], dict] = {}
    # The latest observation of each crowded cluster names the member and the evidence.
    latest_crowding = (
        SignalObservation.objects.filter(
            kind=SignalKind.CROWDING, cluster_id__in=crowded, snapshot_id__in=weekly
        )
        .order_by("cluster_id", "-snapshot__started_at", "-snapshot_id")
        .distinct("cluster_id")
        .values("cluster_id", "product_id", "evidence")
    )
    for obs in latest_crowding:
        evidence = {
            **obs["evidence"],
            "weeks_seen": crowd_counts[obs["cluster_id"]],
            "weeks_window": len(weekly),
            "weeks_required": s.crowding_snapshots_required,
        }
        raised[(obs["cluster_id"], SignalKind.CROWDING, obs["product_id"])] = evidence
    for obs in SignalObservation.objects.filter(
        snapshot=ctx.snapshot, kind__in=[SignalKind.DOMINANCE, SignalKind.STRATEGIC]
    ).values("cluster_id", "kind", "product_id", "evidence"):
        raised[(obs["cluster_id"], obs["kind"], obs["product_id"])] = obs["evidence"]

    live = {
        (sig.cluster_id, sig.kind, sig.product_id): sig
        for sig in SplitSignal.objects.select_for_update().filter(
            status__in=[SignalStatus.OPEN, SignalStatus.DISMISSED]
        )
    }
    new, refreshed = [], []
    for key, evidence in raised.items():
        signal = live.get(key)
        if signal is None:
            cluster_id, kind, product_id = key
            new.append(
                SplitSignal(
                    cluster_id=cluster_id,
                    kind=kind,
                    product_id=product_id,
                    evidence=evidence,
                    opened_at=ctx.now,
                    first_snapshot=ctx.snapshot,
                    last_snapshot=ctx.snapshot,
                )
            )
        else:
            signal.evidence = evidence
            signal.last_snapshot = ctx.snapshot
            refreshed.append(signal)
    gone = [signal.pk for key, signal in live.items() if key not in raised]
    SplitSignal.objects.bulk_create(new)
    SplitSignal.objects.bulk_update(refreshed, ["evidence", "last_snapshot"])
    was = {signal.pk: signal.status for signal in live.values()}
    SplitSignal.objects.filter(pk__in=gone).update(
        status=SignalStatus.CLEARED, closed_at=ctx.now, close_note="The condition no longer holds."
    )
    # Opened and cleared signals are events (made by the run, not a person); a refreshed
    # signal's new evidence is not.
    events.record_batch(
        [events.Entry("split_signal.opened", signal.pk) for signal in new]
        + [
            events.Entry("split_signal.closed", pk, {"status": [was[pk], SignalStatus.CLEARED]})
            for pk in gone
        ],
        actor=None,
        job=EVENT_JOB,
    )
    opened, cleared = len(new), len(gone)
    refreshed_count = len(refreshed)
    return {"opened": opened, "refreshed": refreshed_count, "cleared": cleared}


# --- The run ------------------------------------------------------------------------------------


class Skipped(Exception):
    """Another run holds the lock."""


def _try_lock(wait: bool) -> bool:
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        return cursor.fetchone()[0]


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


def run_snapshot(
    *,
    trigger: str = Trigger.SCHEDULE,
    requested_by=None,
    task_id: str = "",
    wait: bool = False,
    snapshot: Snapshot | None = None,
    now: dt.datetime | None = None,
) -> Snapshot:
    """Compute every signal into a new snapshot. Raises Skipped if a run is in progress.

    `snapshot` continues a row made when the run was requested (so a page can follow it);
    without it the run makes its own. Each step commits on its own when called outside a
    transaction (the worker); inside one (a test) the steps are savepoints.
    """
    if not _try_lock(wait):
        raise Skipped("Another analytics run is in progress.")
    try:
        return _run(
            trigger=trigger,
            requested_by=requested_by,
            task_id=task_id,
            snapshot=snapshot,
            now=now,
        )
    finally:
        _unlock()


def _discard(snapshot: Snapshot, error: str) -> None:
    with transaction.atomic():
        for related in (
            snapshot.units,
            snapshot.owners,
            snapshot.observations,
            snapshot.candidates,
            snapshot.readiness,
        ):
            related.all().delete()
        Snapshot.objects.filter(pk=snapshot.pk).update(
            status=SnapshotStatus.FAILED, finished_at=timezone.now(), error=error[:2000]
        )
        if error:  # not the clean start of a retried run
            events.record("analytics_run.failed", snapshot.pk, actor=None, job=EVENT_JOB)


def _run(*, trigger, requested_by, task_id, snapshot, now) -> Snapshot:
    settings = PortfolioSettings.load()
    now = now or timezone.now()
    thresholds = {
        f.name: str(getattr(settings, f.name))
        for f in PortfolioSettings._meta.concrete_fields
        if f.name not in ("id", "updated_at", "currency")
    }
    # One transaction: a page following a retried run never sees its row "failed" between the
    # clean-up and the reset.
    with transaction.atomic():
        if snapshot is None:
            snapshot = Snapshot.objects.create(
                started_at=now,
                trigger=trigger,
                requested_by=requested_by,
                task_id=task_id,
            )
        else:
            _discard(snapshot, "")  # a retried run starts from a clean row
        Snapshot.objects.filter(pk=snapshot.pk).update(
            started_at=now,
            finished_at=None,
            error="",
            status=SnapshotStatus.RUNNING,
            steps=len(STEPS) + 1,
            step=0,
            thresholds=thresholds,
            task_id=task_id or snapshot.task_id,
        )
    snapshot.refresh_from_db()
    ctx = Context(snapshot=snapshot, settings=settings, now=now)
    try:
        for index, (label, step) in enumerate(STEPS, start=1):
            Snapshot.objects.filter(pk=snapshot.pk).update(step=index, step_label=label)
            with transaction.atomic(), connection.cursor() as cursor:
                step(cursor, ctx)
        Snapshot.objects.filter(pk=snapshot.pk).update(
            step=len(STEPS) + 1, step_label="Split signals"
        )
        with transaction.atomic():
            counts = update_signals(ctx)
            results = {**snapshot.results, "signals": counts}
            finished = timezone.now()
            Snapshot.objects.filter(pk=snapshot.pk).update(
                status=SnapshotStatus.DONE, finished_at=finished, results=results
            )
            events.record("analytics_run.finished", snapshot.pk, actor=None, job=EVENT_JOB)
    except Exception as exc:
        # Nothing half-done stays: the rows of this run go, the row says why it failed.
        logger.exception("Analytics run %s failed", snapshot.pk)
        _discard(snapshot, f"{type(exc).__name__}: {exc}")
        raise
    snapshot.refresh_from_db()
    logger.info("Analytics snapshot %s done in %s", snapshot.pk, snapshot.duration)
    return snapshot
