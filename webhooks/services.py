"""Writes of the webhooks app: endpoints registered, changed, paused, deleted and re-keyed by
leaders; the fan-out of committed events into deliveries; the sending of due deliveries.

Delivery is at least once: a delivery row changes state only under a row lock taken with
SKIP LOCKED, so two workers never send the same attempt at once, but a worker that dies
after the receiver answered and before the outcome is stored sends it again later. Receivers
de-duplicate by the `X-Portfolio-Delivery` header (docs/api.md, "Webhooks").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from portfolio import outbox
from portfolio.errors import NotFound, ValidationFailed
from portfolio.events import EVENT_TYPES
from portfolio.models import Event
from portfolio.permissions import AnyUser, require_leader
from portfolio.versioning import check_version
from webhooks import guard, nudge, sender
from webhooks.models import (
    ALL_EVENTS,
    DESCRIPTION_MAX_LENGTH,
    OPEN_STATUSES,
    SECRET_MAX_LENGTH,
    SECRET_MIN_LENGTH,
    URL_MAX_LENGTH,
    Delivery,
    DeliveryStatus,
    Endpoint,
    FanOutCursor,
)
from webhooks.signing import generate_secret

logger = logging.getLogger(__name__)

NOTIFY_TASK = "webhooks.tasks.notify_endpoint_paused"
PING = "ping"

# --- Endpoints ------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed({"url": ["Give the URL to send the webhooks to."]})
    if len(url) > URL_MAX_LENGTH:
        raise ValidationFailed({"url": [f"Keep the URL to {URL_MAX_LENGTH} characters."]})
    guard.resolve(url)
    return url


def _clean_types(event_types: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(t).strip() for t in event_types))
    if ALL_EVENTS in wanted:
        if len(wanted) > 1:
            raise ValidationFailed(
                {"event_types": ['Send "all" alone, or list the types you want.']}
            )
        return [ALL_EVENTS]
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            {"event_types": [f"Not an event type: {', '.join(unknown)} (see docs/api.md)."]}
        )
    return wanted


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            {"description": [f"Keep the description to {DESCRIPTION_MAX_LENGTH} characters."]}
        )
    return description


def _clean_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return generate_secret()
    if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH or secret != secret.strip():
        raise ValidationFailed(
            {
                "secret": [
                    f"Give a secret of {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters "
                    "without spaces around it, or leave it out to have one made."
                ]
            }
        )
    return secret


def _latest_position() -> int:
    last = Event.objects.filter(position__isnull=False).aggregate(last=Max("position"))["last"]
    return int(last or 0)


def _locked(actor: AnyUser, endpoint_id: int) -> Endpoint:
    endpoint = (
        Endpoint.objects.editable_by(actor).select_for_update().filter(pk=endpoint_id).first()
    )
    if endpoint is None:
        raise NotFound("No such webhook endpoint: it may have been deleted.")
    return endpoint


@transaction.atomic
def endpoint_create(
    *,
    actor: AnyUser,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    secret: str | None = None,
    active: bool = True,
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it and its secret (shown to the leader this once). It is
    sent the events committed from now on."""
    user = require_leader(actor, "register webhooks")
    endpoint = Endpoint.objects.create(
        url=_clean_url(url),
        event_types=_clean_types(event_types),
        description=_clean_description(description),
        secret=_clean_secret(secret),
        active=active,
        paused_at=None if active else timezone.now(),
        start_position=_latest_position(),
        created_by=user,
    )
    return endpoint, endpoint.secret


def _set_active(endpoint: Endpoint, active: bool) -> None:
    if active and not endpoint.active:
        # Resumed: its failures so far are forgotten, and the next pause is told again.
        endpoint.consecutive_failures = 0
        endpoint.paused_at = None
        endpoint.paused_reason = ""
        endpoint.pause_notice_sent_at = None
    elif not active and endpoint.active:
        endpoint.paused_at = timezone.now()
        endpoint.paused_reason = ""
    endpoint.active = active


@transaction.atomic
def endpoint_update(
    *,
    actor: AnyUser,
    endpoint_id: int,
    version: int | None = None,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> Endpoint:
    """Change an endpoint; fields left None stay. Resuming a paused endpoint sends what is
    still pending for it, in order."""
    require_leader(actor, "change webhooks")
    endpoint = _locked(actor, endpoint_id)
    check_version(endpoint, version, name="This webhook endpoint")
    if url is not None:
        endpoint.url = _clean_url(url)
    if event_types is not None:
        endpoint.event_types = _clean_types(event_types)
    if description is not None:
        endpoint.description = _clean_description(description)
    if active is not None:
        _set_active(endpoint, active)
    # An explicit edit, paused/resumed or not: the version grows ("url" is a versioned field).
    endpoint.save(update_fields=_ALL_FIELDS)
    return endpoint


_ALL_FIELDS = [
    "url",
    "event_types",
    "description",
    "active",
    "paused_at",
    "paused_reason",
    "consecutive_failures",
    "pause_notice_sent_at",
    "updated_at",
]


@transaction.atomic
def endpoint_delete(*, actor: AnyUser, endpoint_id: int, version: int | None = None) -> None:
    """Delete an endpoint and its delivery log; nothing more is sent to it."""
    require_leader(actor, "delete webhooks")
    endpoint = _locked(actor, endpoint_id)
    check_version(endpoint, version, name="This webhook endpoint")
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(
    *, actor: AnyUser, endpoint_id: int, secret: str | None = None, version: int | None = None
) -> tuple[Endpoint, str]:
    """Give the endpoint a new secret (made here unless given); the old one stops signing at
    once. Returns the endpoint and the new secret, shown this once."""
    require_leader(actor, "rotate a webhook secret")
    endpoint = _locked(actor, endpoint_id)
    check_version(endpoint, version, name="This webhook endpoint")
    endpoint.secret = _clean_secret(secret)
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint, endpoint.secret


def _delivery_body(
    *, id: int, type: str, at: dt.datetime, actor_id: int | None, actor_name: str,
    object_type: str, object_id: int, changed: Any, data: Any,
) -> str:  # fmt: skip
    actor = None if actor_id is None and not actor_name else {"id": actor_id, "name": actor_name}
    body = {
        "id": id,
        "type": type,
        "occurred_at": at,
        "actor": actor,
        "object": {"type": object_type, "id": object_id},
        "changed": changed or {},
        "data": data,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


@transaction.atomic
def endpoint_ping(*, actor: AnyUser, endpoint_id: int) -> Delivery:
    """Queue a `ping` delivery to the endpoint (a paused endpoint gets it once resumed)."""
    require_leader(actor, "test webhooks")
    endpoint = _locked(actor, endpoint_id)
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        position=0,
        event_type=PING,
        object_type="endpoint",
        object_id=endpoint.pk,
        body=_delivery_body(
            id=0,
            type=PING,
            at=now,
            actor_id=actor.pk,
            actor_name=actor.get_username(),
            object_type="endpoint",
            object_id=endpoint.pk,
            changed={},
            data={"url": endpoint.url},
        ),  # fmt: skip
    )
    nudge.after_commit()
    return delivery


@transaction.atomic
def delivery_redeliver(*, actor: AnyUser, endpoint_id: int, delivery_id: int) -> Delivery:
    """Send a delivery's body again, as a new delivery (a new `X-Portfolio-Delivery` id: the
    receiver is asked to process it again), in the order of its event."""
    require_leader(actor, "redeliver webhooks")
    endpoint = _locked(actor, endpoint_id)
    original = Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if original is None:
        raise NotFound("No such delivery for this endpoint.")
    copy = Delivery.objects.create(
        endpoint=endpoint,
        event_id=original.event_id,
        position=original.position,
        event_type=original.event_type,
        object_type=original.object_type,
        object_id=original.object_id,
        body=original.body,
        redelivery_of=original,
    )
    nudge.after_commit()
    return copy


# --- Fan-out --------------------------------------------------------------------------------

FANOUT_BATCH = 1000
_EVENT_COLUMNS = (
    "id", "position", "type", "at", "actor_id", "actor_name", "object_type", "object_id",
    "changed", "data",
)  # fmt: skip


def _cursor() -> FanOutCursor | None:
    """The cursor, locked; None while another worker fans out. Made on first use, starting
    where the earliest endpoint started (or at the latest event)."""
    cursor = FanOutCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()
    if cursor is not None or FanOutCursor.objects.filter(pk=1).exists():
        return cursor
    first = Endpoint.objects.order_by("start_position").values_list("start_position", flat=True)
    start = next(iter(first[:1]), None)
    try:
        with transaction.atomic():
            FanOutCursor.objects.create(
                pk=1, position=start if start is not None else _latest_position()
            )
    except IntegrityError:
        pass
    return FanOutCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()


def fan_out(*, limit: int = FANOUT_BATCH) -> int:
    """Turn up to `limit` committed events past the cursor into deliveries, one per event and
    active endpoint that wants its type, and move the cursor past them; all in one
    transaction. Returns how many events were read (0: nothing new, or another worker holds
    the cursor)."""
    with transaction.atomic():
        cursor = _cursor()
        if cursor is None:
            return 0
        events = list(
            Event.objects.filter(position__gt=cursor.position)
            .order_by("position")
            .values(*_EVENT_COLUMNS)[:limit]
        )
        if not events:
            return 0
        endpoints = list(Endpoint.objects.filter(active=True).only("event_types", "start_position"))
        deliveries = []
        for event in events:
            body: str | None = None
            for endpoint in endpoints:
                if event["position"] <= endpoint.start_position or not endpoint.wants(
                    event["type"]
                ):
                    continue
                if body is None:
                    body = _delivery_body(
                        id=event["id"], type=event["type"], at=event["at"],
                        actor_id=event["actor_id"], actor_name=event["actor_name"],
                        object_type=event["object_type"], object_id=event["object_id"],
                        changed=event["changed"], data=event["data"],
                    )  # fmt: skip
                deliveries.append(
                    Delivery(
                        endpoint_id=endpoint.pk,
                        event_id=event["id"],
                        position=event["position"],
                        event_type=event["type"],
                        object_type=event["object_type"],
                        object_id=event["object_id"],
                        body=body,
                    )
                )
        Delivery.objects.bulk_create(deliveries, batch_size=1000)
        cursor.position = events[-1]["position"]
        cursor.save(update_fields=["position", "updated_at"])
    return len(events)


# --- Sending --------------------------------------------------------------------------------

SEND_BATCH = 100


def _retry_delay(attempts: int) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None when spent."""
    schedule: Sequence[float] = settings.WEBHOOK_RETRY_SCHEDULE
    return float(schedule[attempts - 1]) if attempts <= len(schedule) else None


def _claim(limit: int) -> list[Delivery]:
    """Lock the due deliveries (SKIP LOCKED), count the attempt and lease them for the send:
    until WEBHOOK_LEASE seconds pass no other worker takes them."""
    now = timezone.now()
    earlier_open = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        object_type=OuterRef("object_type"),
        object_id=OuterRef("object_id"),
        status__in=OPEN_STATUSES,
    ).filter(
        Q(position__lt=OuterRef("position"))
        | Q(position=OuterRef("position"), id__lt=OuterRef("id"))
    )
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now, endpoint__active=True)
            .exclude(Exists(earlier_open))
            .select_related("endpoint")
            .order_by("next_attempt_at", "id")[:limit]
        )
        lease = now + dt.timedelta(seconds=settings.WEBHOOK_LEASE)
        for row in rows:
            row.attempts += 1
            row.last_attempt_at = now
            row.next_attempt_at = lease
        # One plain UPDATE (bulk_update's CASE per row costs ten times more here).
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=lease
        )
    return rows


def _send(delivery: Delivery) -> sender.Outcome:
    endpoint = delivery.endpoint
    return sender.post(
        url=endpoint.url,
        body=delivery.body.encode(),
        secret=endpoint.secret,
        headers={
            "X-Portfolio-Event": delivery.event_type,
            "X-Portfolio-Delivery": str(delivery.pk),
        },
    )


def _record(claimed: Sequence[Delivery], outcomes: Sequence[sender.Outcome]) -> dict[str, int]:
    """Store the outcomes of the attempts (those still ours: same attempt count), update the
    endpoints' failure counts and pause those that keep failing."""
    now = timezone.now()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    with transaction.atomic():
        # Endpoints before deliveries, the order a deletion of an endpoint locks them in; a
        # no-key lock, so the fan-out's inserts of deliveries (their foreign key) need not wait.
        endpoint_ids = sorted({d.endpoint_id for d in claimed})
        endpoints = {
            e.pk: e
            for e in Endpoint.objects.select_for_update(no_key=True)
            .filter(pk__in=endpoint_ids)
            .order_by("pk")
        }
        current = dict(
            Delivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d in claimed])
            .values_list("pk", "attempts")
        )
        failures: dict[int, tuple[bool, int]] = {}  # endpoint: (reset to 0 first, failures)
        given_up: set[int] = set()
        changed = []
        for delivery, outcome in zip(claimed, outcomes, strict=True):
            if current.get(delivery.pk) != delivery.attempts:
                continue  # deleted, or retaken after the lease ran out: not ours to write
            delivery.response_code = outcome.status
            delivery.duration_ms = outcome.duration_ms
            delivery.error = outcome.error
            reset, count = failures.get(delivery.endpoint_id, (False, 0))
            if outcome.ok:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                failures[delivery.endpoint_id] = (True, 0)
            else:
                failures[delivery.endpoint_id] = (reset, count + 1)
                delay = _retry_delay(delivery.attempts)
                if delay is None:
                    delivery.status = DeliveryStatus.FAILED
                    given_up.add(delivery.endpoint_id)
                else:
                    delivery.status = DeliveryStatus.RETRYING
                    delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
            counts[str(delivery.status)] = counts.get(str(delivery.status), 0) + 1
            changed.append(delivery)
        _store_outcomes(changed)
        for pk, (reset, count) in failures.items():
            endpoint = endpoints.get(pk)
            if endpoint is None:
                continue
            endpoint.consecutive_failures = (0 if reset else endpoint.consecutive_failures) + count
            fields = ["consecutive_failures"]
            if endpoint.active and (
                endpoint.consecutive_failures >= settings.WEBHOOK_PAUSE_AFTER or pk in given_up
            ):
                _pause_for_failures(endpoint, given_up=pk in given_up)
                fields += ["active", "paused_at", "paused_reason"]
            endpoint.save(update_fields=fields)
    return counts


_OUTCOME_ROW = "(%s::bigint, %s, %s::integer, %s::integer, %s, %s::timestamptz, %s::timestamptz)"


def _store_outcomes(rows: Sequence[Delivery]) -> None:
    """Each row's outcome in one UPDATE ... FROM (VALUES ...): a batch costs one statement."""
    if not rows:
        return
    params: list[Any] = []
    for d in rows:
        params += [d.pk, d.status, d.response_code, d.duration_ms, d.error, d.delivered_at,
                   d.next_attempt_at]  # fmt: skip
    values = ", ".join([_OUTCOME_ROW] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE webhooks_delivery AS d
                   SET status = v.status, response_code = v.code, duration_ms = v.ms,
                       error = v.error, delivered_at = v.delivered_at, next_attempt_at = v.next_at
                  FROM (VALUES {values}) AS v(id, status, code, ms, error, delivered_at, next_at)
                 WHERE d.id = v.id""",
            params,
        )


def _pause_for_failures(endpoint: Endpoint, *, given_up: bool) -> None:
    endpoint.active = False
    endpoint.paused_at = timezone.now()
    endpoint.paused_reason = (
        "A delivery failed at every attempt of the retry schedule."
        if given_up
        else f"{endpoint.consecutive_failures} deliveries failed in a row."
    )
    outbox.enqueue(NOTIFY_TASK, endpoint.pk, outbox_key=f"webhook-paused:{endpoint.pk}")


def deliver_due(*, limit: int = SEND_BATCH) -> dict[str, int]:
    """Send up to `limit` due deliveries (on WEBHOOK_SEND_THREADS connections at once) and
    store their outcomes. Returns the counts by outcome; {} when nothing was due."""
    claimed = _claim(limit)
    if not claimed:
        return {}
    threads = max(1, min(settings.WEBHOOK_SEND_THREADS, len(claimed)))
    if threads == 1:
        outcomes = [_send(d) for d in claimed]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(_send, claimed))
    return _record(claimed, outcomes)


PRUNE_BATCH = 5000


def prune_deliveries(*, now: dt.datetime | None = None) -> int:
    """Delete finished deliveries (delivered or failed) older than WEBHOOK_LOG_DAYS, in
    batches of PRUNE_BATCH (short transactions). Open ones are never pruned. Returns how many
    were deleted; safe to run again."""
    days = settings.WEBHOOK_LOG_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Delivery.objects.filter(created_at__lt=cutoff)
                .exclude(status__in=OPEN_STATUSES)
                .order_by("id")
                .values_list("id", flat=True)[:PRUNE_BATCH]
            )
            if not ids:
                return deleted
            Delivery.objects.filter(id__in=ids).delete()
            deleted += len(ids)


def pause_notice_claim(*, endpoint_id: int) -> Endpoint | None:
    """The paused endpoint whose leaders are still to be told, locked (call in a transaction);
    None once told, resumed or deleted."""
    endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.active or endpoint.pause_notice_sent_at is not None:
        return None
    return endpoint


def pause_notice_record(*, endpoint: Endpoint) -> None:
    endpoint.pause_notice_sent_at = timezone.now()
    endpoint.save(update_fields=["pause_notice_sent_at"])


def outcome_counts(results: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for key, value in result.items():
            total[key] = total.get(key, 0) + value
    return total
