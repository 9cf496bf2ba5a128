"""What a review packet holds, frozen at generation time, and its HTML and PDF renderings.

`build_packet_data` reads everything the meeting looks at into plain JSON (a fixed handful of
queries, whatever the unit's size). `render_packet_html` draws it, charts included, from that
JSON alone, so a packet never changes after it is made; `render_packet_pdf` prints the HTML.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from analytics.dashboard import evidence_lines
from analytics.models import (
    READINESS_CHECKS,
    OwnerLoad,
    Readiness,
    SignalStatus,
    Snapshot,
    SplitSignal,
)
from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus
from funding.models import FundingMode, InvestmentRequest, RequestStatus
from funding.services import capacity
from metrics import charts
from metrics.models import Metric
from metrics.selectors import Bucket, bucket_width, series_many
from metrics.status import metric_status
from portfolio.models import PortfolioSettings
from products.models import STAGE_FOCUS, ManagementModel, Product, Stage
from reviews.models import DecisionKind, Review, ReviewStatus, quarter_bounds

FORMAT_VERSION = 1
TREND_DAYS = 91
TREND_POINTS = 60
TOP_ITEMS = 10
AGE_BUCKETS = [(30, "under 30 days"), (90, "30 to 90 days"), (180, "90 to 180 days")]
SUPPORT_TEMPLATE = "support-tickets"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def build_packet_data(review: Review, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the review of `review.unit` looks at, as JSON-ready data."""
    now = now or timezone.now()
    review = Review.objects.select_related(
        "cycle", "unit__cluster", "unit__product", "unit__owner", "owner"
    ).get(pk=review.pk)
    unit = review.unit
    settings = PortfolioSettings.load()
    members = list(Product.objects.filter(unit_id=unit.pk).select_related("team").order_by("name"))
    member_ids = [p.pk for p in members]
    year, quarter = previous_quarter(review.cycle.year, review.cycle.quarter)
    last_q_start, last_q_end = quarter_bounds(year, quarter)
    owner = unit.owner
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "generated_at": now.isoformat(),
        "cycle": {"id": review.cycle_id, "label": review.cycle.label},
        "review": {"id": review.pk, "scheduled_on": review.scheduled_on.isoformat()},
        "unit": {
            "id": unit.pk,
            "name": unit.name,
            "kind": unit.kind,
            "reasons": unit.cluster.get_reasons_display() if unit.cluster is not None else [],
        },
        "owner": (
            {"id": owner.pk, "name": owner.name, "email": owner.email, "active": owner.active}
            if owner
            else None
        ),
        "teams": sorted({p.team.name for p in members if p.team is not None}),
        "members": [_member(p, now) for p in members],
        "last_quarter": {
            "label": f"Q{quarter} {year}",
            "start": last_q_start.isoformat(),
            "end": last_q_end.isoformat(),
        },
    }
    data["metrics"] = _metrics(member_ids, now, settings.stale_interval_multiple)
    data["backlog"] = _backlog(unit.pk, now, last_q_start, last_q_end)
    data["support"] = _support(data["metrics"], data["backlog"])
    snapshot = Snapshot.objects.latest_done()
    data["analytics_as_of"] = _iso(snapshot.started_at) if snapshot else None
    data["owner_load"] = _owner_load(snapshot, owner, settings)
    data["signals"] = _signals(unit)
    data["readiness"] = _readiness(snapshot, member_ids)
    data["funding"] = _funding(unit, review.cycle.year, settings)
    data["previous"] = _previous(review)
    return data


def _member(p: Product, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "slug": p.slug,
        "stage": p.lifecycle_stage,
        "stage_label": Stage(p.lifecycle_stage).label,
        "since": p.stage_changed_at.date().isoformat(),
        "days_in_stage": max((now - p.stage_changed_at).days, 0),
        "focus": STAGE_FOCUS[p.lifecycle_stage],
        "project": p.management_model == ManagementModel.PROJECT,
        "strategic": p.strategic,
        "team": p.team.name if p.team is not None else None,
    }


def _metrics(member_ids: list[int], now: dt.datetime, stale_multiple: int) -> list[dict[str, Any]]:
    # The status comes from the Python rules (metrics.status; a test holds them equal to the
    # SQL ones): a packet reads a handful of metrics, so no SQL expression is worth compiling.
    rows = list(
        Metric.objects.filter(product_id__in=member_ids)
        .order_by("product__name", "name")
        .values(
            "id",
            "product__name",
            "name",
            "key",
            "level",
            "dimension",
            "unit",
            "better",
            "target",
            "warning",
            "critical",
            "template",
            "last_value",
            "last_read_at",
            "expected_interval",
        )
    )
    start = now - dt.timedelta(days=TREND_DAYS)
    width = bucket_width(now - start, TREND_POINTS)
    trend = series_many([r["id"] for r in rows], start, now, width)
    return [
        {
            "id": r["id"],
            "product": r["product__name"],
            "name": r["name"],
            "key": r["key"],
            "level": r["level"],
            "dimension": r["dimension"],
            "unit": r["unit"],
            "better": r["better"],
            "target": r["target"],
            "warning": r["warning"],
            "critical": r["critical"],
            "template": r["template"],
            "last_value": r["last_value"],
            "last_read_at": _iso(r["last_read_at"]),
            "status": str(
                metric_status(
                    better=r["better"],
                    target=r["target"],
                    warning=r["warning"],
                    critical=r["critical"],
                    last_value=r["last_value"],
                    last_read_at=r["last_read_at"],
                    expected_interval=r["expected_interval"],
                    now=now,
                    stale_multiple=stale_multiple,
                )
            ),
            "trend": {
                "start": start.isoformat(),
                "end": now.isoformat(),
                "width_seconds": int(width.total_seconds()),
                "buckets": [
                    [b.start.isoformat(), b.avg, b.low, b.high, b.count]
                    for b in trend.get(r["id"], [])
                ],
            },
        }
        for r in rows
    ]


BACKLOG_SQL = f"""
    SELECT count(*) FILTER (WHERE status = ANY(%(open)s)),
           sum(estimate) FILTER (WHERE status = ANY(%(open)s)),
           count(*) FILTER (WHERE status = ANY(%(open)s) AND updated_at < %(stale)s),
           count(*) FILTER (WHERE status = ANY(%(open)s) AND created_at > %(b0)s),
           count(*) FILTER (WHERE status = ANY(%(open)s) AND created_at <= %(b0)s
                                  AND created_at > %(b1)s),
           count(*) FILTER (WHERE status = ANY(%(open)s) AND created_at <= %(b1)s
                                  AND created_at > %(b2)s),
           count(*) FILTER (WHERE status = ANY(%(open)s) AND created_at <= %(b2)s),
           count(*) FILTER (WHERE status = 'done' AND finished_at >= %(q_start)s
                                  AND finished_at < %(q_end)s AND dimension = 'improvement'),
           count(*) FILTER (WHERE status = 'done' AND finished_at >= %(q_start)s
                                  AND finished_at < %(q_end)s AND dimension = 'operations'),
           count(*) FILTER (WHERE status = 'done' AND finished_at >= %(q_start)s
                                  AND finished_at < %(q_end)s AND dimension = 'support')
      FROM {BacklogItem._meta.db_table}
     WHERE unit_id = %(unit)s
"""


def _backlog(unit_id: int, now: dt.datetime, q_start: dt.date, q_end: dt.date) -> dict[str, Any]:
    """Backlog health in two statements: one conditional aggregate, one for the top items."""
    tz = timezone.get_current_timezone()
    params: dict[str, Any] = {
        "unit": unit_id,
        "open": [str(s) for s in OPEN_STATUSES],
        "stale": now - dt.timedelta(days=180),
        **{f"b{i}": now - dt.timedelta(days=days) for i, (days, _l) in enumerate(AGE_BUCKETS)},
        "q_start": dt.datetime.combine(q_start, dt.time.min, tzinfo=tz),
        "q_end": dt.datetime.combine(q_end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    }
    with connection.cursor() as cursor:
        cursor.execute(BACKLOG_SQL, params)
        n, estimate, stale, *counts = cursor.fetchone()
    ages, done = counts[: len(AGE_BUCKETS) + 1], counts[len(AGE_BUCKETS) + 1 :]
    labels = [label for _days, label in AGE_BUCKETS] + [f"over {AGE_BUCKETS[-1][0]} days"]
    top = (
        BacklogItem.objects.filter(unit_id=unit_id, status__in=OPEN_STATUSES)
        .order_by("rank")
        .values("title", "product__name", "status", "type", "dimension", "estimate", "created_at")[
            :TOP_ITEMS
        ]
    )
    return {
        "open": n,
        "open_estimate": float(estimate or 0),
        "ages": [{"label": label, "count": c} for label, c in zip(labels, ages, strict=True)],
        "finished_last_quarter": dict(
            zip(("improvement", "operations", "support"), done, strict=True)
        ),
        "top": [
            {
                "title": t["title"],
                "product": t["product__name"],
                "status": ItemStatus(t["status"]).label,
                "type": t["type"],
                "dimension": t["dimension"],
                "estimate": float(t["estimate"]) if t["estimate"] is not None else None,
                "age_days": max((now - t["created_at"]).days, 0),
            }
            for t in top
        ],
        "stale_open": stale,
    }


def _support(metrics: list[dict], backlog: dict) -> dict[str, Any]:
    tickets = [
        {
            "product": m["product"],
            "value": m["last_value"],
            "unit": m["unit"],
            "status": m["status"],
            "target": m["target"],
        }
        for m in metrics
        if m["template"] == SUPPORT_TEMPLATE
        or (m["dimension"] == "support" and "ticket" in m["key"])
    ]
    return {
        "tickets": tickets,
        "support_items_finished_last_quarter": backlog["finished_last_quarter"]["support"],
    }


def _owner_load(snapshot, owner, settings: PortfolioSettings) -> dict[str, Any] | None:
    if owner is None:
        return None
    ceiling = {"max_active": settings.max_active_units, "max_stable": settings.max_stable_units}
    if snapshot is None:
        return {"status": None, **ceiling}
    load = OwnerLoad.objects.filter(snapshot=snapshot, person=owner).first()
    if load is None:
        return {"status": None, **ceiling}
    return {
        "status": load.status,
        "status_label": load.get_status_display(),
        "active": load.active_units,
        "stable": load.stable_units,
        "consecutive_over": load.consecutive_over,
        "design_problem": load.design_problem,
        "suggestions": load.suggestions,
        **ceiling,
    }


def _money(value) -> str:
    return f"{value:,.2f}"


def _funding(unit, year: int, settings: PortfolioSettings) -> dict[str, Any]:
    room = capacity(unit, year)
    requests = InvestmentRequest.objects.filter(unit=unit, fiscal_year=year).exclude(
        status__in=[RequestStatus.DRAFT, RequestStatus.WITHDRAWN]
    )
    return {
        "fiscal_year": year,
        "currency": settings.currency,
        "mode": FundingMode(room.mode).label if room.mode else None,
        "operations": _money(room.operations),
        "improvement": _money(room.improvement),
        "committed": _money(room.committed),
        "waiting": _money(room.waiting),
        "remaining": _money(room.remaining),
        "requests": [
            {
                "product": r["product__name"],
                "amount": _money(r["amount"]),
                "purpose": r["purpose"],
                "status": RequestStatus(r["status"]).label,
                "reason": r["decision_reason"],
            }
            for r in requests.order_by("-amount", "id").values(
                "product__name", "amount", "purpose", "status", "decision_reason"
            )
        ],
    }


def _signals(unit) -> list[dict[str, Any]]:
    if not unit.cluster_id:
        return []
    signals = SplitSignal.objects.filter(
        cluster_id=unit.cluster_id, status=SignalStatus.OPEN
    ).select_related("product")
    return [
        {
            "kind": s.kind,
            "kind_label": s.get_kind_display(),
            "member": s.product.name,
            "evidence": evidence_lines(s.kind, s.evidence),
            "since": s.opened_at.date().isoformat(),
        }
        for s in signals.order_by("kind", "product__name")
    ]


def _readiness(snapshot, member_ids: list[int]) -> list[dict[str, Any]]:
    if snapshot is None:
        return []
    rows = Readiness.objects.filter(snapshot=snapshot, product_id__in=member_ids).select_related(
        "product"
    )
    return [
        {
            "product": r.product.name,
            "score": r.score,
            "checks": [[label, getattr(r, name)] for name, label in READINESS_CHECKS],
        }
        for r in rows.order_by("product__name")
    ]


def _previous(review: Review) -> dict[str, Any] | None:
    previous = (
        Review.objects.filter(
            unit_id=review.unit_id,
            status=ReviewStatus.CLOSED,
            scheduled_on__lt=review.scheduled_on,
        )
        .exclude(pk=review.pk)
        .select_related("cycle")
        .order_by("-scheduled_on")
        .first()
    )
    if previous is None:
        return None
    decisions = list(previous.decisions.order_by("created_at").values("kind", "rationale"))
    actions = list(
        previous.action_items.order_by("created_at").values("title", "done", "backlog_item__status")
    )
    done = [a["done"] or a["backlog_item__status"] == ItemStatus.DONE for a in actions]

    return {
        "cycle": previous.cycle.label,
        "held_on": previous.scheduled_on.isoformat(),
        "decisions": [
            {"kind": DecisionKind(d["kind"]).label, "rationale": d["rationale"]} for d in decisions
        ],
        "actions": [
            {
                "title": a["title"],
                "done": is_done,
                "on_backlog": a["backlog_item__status"] is not None,
            }
            for a, is_done in zip(actions, done, strict=True)
        ],
        "actions_done": sum(done),
    }


# --- Rendering -----------------------------------------------------------------------------------


def _chart(metric: dict[str, Any]) -> str:
    trend = metric["trend"]
    buckets = [
        Bucket(dt.datetime.fromisoformat(s), avg, low, high, n)
        for s, avg, low, high, n in trend["buckets"]
    ]
    return charts.trend_chart(
        buckets,
        start=dt.datetime.fromisoformat(trend["start"]),
        end=dt.datetime.fromisoformat(trend["end"]),
        width_step=dt.timedelta(seconds=trend["width_seconds"]),
        unit=metric["unit"],
        target=metric["target"],
        warning=metric["warning"],
        critical=metric["critical"],
        title=f"{metric['product']}: {metric['name']}",
        width=560,
        height=150,
        compact=True,
    )


ATTENTION = ("amber", "red", "stale")


def _sparkline(metric: dict[str, Any]) -> str:
    points = [(dt.datetime.fromisoformat(b[0]), b[1]) for b in metric["trend"]["buckets"]]
    return charts.sparkline(
        points,
        status=metric["status"],
        width=110,
        height=24,
        label=f"{metric['name']}, last {TREND_DAYS} days",
    )


def render_packet_html(data: dict[str, Any]) -> str:
    """The packet as one self-contained HTML page (styles inline), from its data alone.

    Every metric gets its trend as a sparkline in the table; the ones that need the meeting's
    attention (amber, red, stale) also get the full chart with target and thresholds.
    """
    metrics = [
        {
            **m,
            "sparkline": _sparkline(m),
            "chart": _chart(m) if m["status"] in ATTENTION else "",
        }
        for m in data.get("metrics", [])
    ]
    context = {
        "p": data,
        "metrics": metrics,
        "generated_label": _when(data.get("generated_at")),
        "analytics_label": _when(data.get("analytics_as_of")),
        # The way back from the page (hidden in the PDF); a packet knows its review and cycle.
        "review_url": _url("review-detail", data.get("review", {}).get("id")),
        "cycle_url": _url("review-cycle", data.get("cycle", {}).get("id")),
    }
    return render_to_string("reviews/packet.html", context)


def _url(name: str, pk: int | None) -> str:
    return reverse(name, args=[pk]) if pk else ""


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    moment = dt.datetime.fromisoformat(iso)
    return f"{moment:%d %b %Y, %H:%M} ({moment.tzname() or 'UTC'})"


def render_packet_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
