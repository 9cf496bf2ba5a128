"""Writes a person makes on the analytics: ask for a run now, split a member out of its
cluster on a signal, dismiss a signal."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from analytics.models import SignalStatus, Snapshot, SnapshotStatus, SplitSignal, Trigger
from analytics.tasks import compute_portfolio_analytics
from portfolio import events, outbox
from portfolio.errors import RuleViolation, ValidationFailed
from portfolio.permissions import AnyUser, require_leader
from products.models import Person, Product
from products.services import product_set_cluster

logger = logging.getLogger(__name__)

# A run that has not finished after this long died with its worker; a new request replaces it.
ABANDONED_AFTER = dt.timedelta(minutes=15)


@transaction.atomic
def analytics_request_run(*, actor: AnyUser) -> Snapshot:
    """Queue a run now (leaders), or return the run already under way."""
    actor = require_leader(actor, "recompute the portfolio analytics")
    now = timezone.now()
    Snapshot.objects.filter(
        status=SnapshotStatus.RUNNING, started_at__lt=now - ABANDONED_AFTER
    ).update(status=SnapshotStatus.FAILED, finished_at=now, error="The run was abandoned.")
    running = (
        Snapshot.objects.select_for_update()
        .filter(status=SnapshotStatus.RUNNING)
        .order_by("-started_at")
        .first()
    )
    if running is not None:
        return running
    snapshot = Snapshot.objects.create(
        started_at=now, trigger=Trigger.MANUAL, requested_by=actor, step_label="Queued"
    )
    # Through the outbox: while the broker is down the run stays queued and starts once it is
    # back (within OUTBOX_PENDING_AFTER plus a beat interval), instead of failing.
    outbox.enqueue(
        compute_portfolio_analytics, snapshot.pk, wait=True, outbox_key=f"analytics:{snapshot.pk}"
    )
    events.record("analytics_run.requested", snapshot, actor=actor)
    return snapshot


@transaction.atomic
def split_signal_act(
    *,
    actor: AnyUser,
    signal: SplitSignal,
    new_owner: Person | None,
    note: str = "",
    product: Product | None = None,
) -> SplitSignal:
    """The guided split: a member (the signal's own unless the leader picks another) leaves
    the cluster with its backlog items (order kept), metrics and history, under `new_owner`;
    the signal closes, pointing at the change."""

    actor = require_leader(actor, "split a product out of its cluster")
    signal = (
        SplitSignal.objects.select_for_update(of=("self",))
        .select_related("product__unit", "cluster")
        .get(pk=signal.pk)
    )
    if signal.status != SignalStatus.OPEN:
        raise RuleViolation(
            f"This signal is {signal.get_status_display().lower()}; only open signals can be "
            "acted on.",
            rule="signal_not_open",
        )
    if product is None:
        product = signal.product
        assert product.unit is not None  # a product's unit is NULL only inside product_create
        if product.unit.cluster_id != signal.cluster_id:
            raise RuleViolation(
                f"{product.name} is no longer in {signal.cluster.name}.", rule="signal_not_open"
            )
    else:
        product = Product.objects.select_related("unit").get(pk=product.pk)
        assert product.unit is not None
        if product.unit.cluster_id != signal.cluster_id:
            raise ValidationFailed(
                {"product": [f"{product.name} is not a member of {signal.cluster.name}."]}
            )
    if new_owner is None:
        raise ValidationFailed({"new_owner": ["Name the person who will own it on its own."]})
    if not new_owner.is_accountable:
        raise ValidationFailed({"new_owner": [f"{new_owner.name} has left or cannot log in."]})
    product_set_cluster(actor=actor, product=product, cluster=None, new_owner=new_owner)
    signal.status = SignalStatus.SPLIT
    signal.closed_at = timezone.now()
    signal.closed_by = actor
    signal.new_owner = new_owner
    signal.split_product = product
    signal.close_note = note
    signal.save(
        update_fields=[
            "status",
            "closed_at",
            "closed_by",
            "new_owner",
            "split_product",
            "close_note",
        ]
    )
    events.record(
        "split_signal.closed", signal, actor=actor, changed={"status": ["open", signal.status]}
    )
    return signal


@transaction.atomic
def split_signal_dismiss(*, actor: AnyUser, signal: SplitSignal, note: str) -> SplitSignal:
    """Keep the member in its cluster on purpose; the signal stays dismissed until its
    condition clears (and may then open again)."""
    actor = require_leader(actor, "dismiss a split signal")
    signal = SplitSignal.objects.select_for_update().get(pk=signal.pk)
    if signal.status != SignalStatus.OPEN:
        raise RuleViolation("Only open signals can be dismissed.", rule="signal_not_open")
    if not (note or "").strip():
        raise ValidationFailed({"note": ["Say why the member stays in the cluster."]})
    signal.status = SignalStatus.DISMISSED
    signal.closed_at = timezone.now()
    signal.closed_by = actor
    signal.close_note = note.strip()
    signal.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
    events.record(
        "split_signal.closed", signal, actor=actor, changed={"status": ["open", signal.status]}
    )
    return signal
