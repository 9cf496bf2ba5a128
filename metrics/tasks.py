"""Background upkeep of the readings table: partitions, roll-ups, retention."""

from __future__ import annotations

import time

from celery import shared_task

from metrics.partitions import partitions_drop_expired, partitions_ensure, retention_cutoff
from metrics.rollups import rollups_refresh

# A run stops taking new batches of pending days after this long; the next run goes on.
ROLLUP_BUDGET_SECONDS = 60.0


def readings_maintain_run() -> dict[str, int]:
    """Partitions ahead, expired raw months dropped (rolled up first), then the pending
    roll-ups, batch by batch. Each step is re-runnable and does only what is missing."""
    created = partitions_ensure()
    dropped = partitions_drop_expired()
    cutoff = retention_cutoff()
    deadline = time.monotonic() + ROLLUP_BUDGET_SECONDS
    rolled = 0
    while time.monotonic() < deadline:
        days = rollups_refresh(final_before=cutoff)
        rolled += days
        if not days:
            break
    return {"created": len(created), "dropped": len(dropped), "rolled_days": rolled}


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=240, time_limit=280)
def readings_maintain() -> dict[str, int]:
    """The beat's `readings-maintain` (every READINGS_MAINTAIN_EVERY seconds)."""
    return readings_maintain_run()
