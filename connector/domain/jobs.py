"""Jobs: the units of work the worker claims from the database (the outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

JsonObject = dict[str, Any]


class JobKind(StrEnum):
    ACCEPT_ORDER = "accept_order"  # fetch the order; RxScale `pending review`
    PLACE_ORDER = "place_order"  # patient, prescriptions and order at Empower
    MARK_IN_PROGRESS = "mark_in_progress"  # RxScale `in-progress`
    EMPOWER_NEWS = "empower_news"  # apply one piece of Empower news to its order
    HOLD_ORDER = "hold_order"  # RxScale `on-hold` with the reason
    CANCEL_ORDER = "cancel_order"  # RxScale cancelled it: cancel at Empower, or never place
    RECONCILE = "reconcile"  # look for what webhooks never told us
    REFRESH_ORDER = "refresh_order"  # ask Empower about one order and apply the answer
    SYNC_STOCK = "sync_stock"  # copy Empower's availability to RxScale's pharmacy SKUs
    REDRIVE = "redrive"  # give orders whose work died or vanished another run
    PRUNE = "prune"  # delete done jobs, old dedupe rows and old history (retention)


# Jobs that run before the earlier queued jobs of their order (never beside a running one):
# a cancellation must reach Empower within seconds, whatever else the order has queued.
OVERTAKING_KINDS = frozenset({JobKind.CANCEL_ORDER})


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # permanent error: retrying cannot help
    DEAD = "dead"  # out of time, or crashing its worker: a person must look


class Priority(IntEnum):
    """Due jobs are claimed in this order first, then oldest first."""

    LIVE = 0  # the work of known orders, and periodic work
    # News about no order we know (yet): it waits for a placement to commit, or is about
    # an order placed by other means. Anyone holding Empower's key can send any amount of
    # it, so it never delays a live order.
    PARKED = 1


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to enqueue. `unique_key` makes enqueueing the same work twice a no-op."""

    kind: JobKind
    order_uid: str | None
    payload: JsonObject = field(default_factory=dict)
    unique_key: str | None = None
    delay_seconds: float = 0.0
    priority: Priority = Priority.LIVE


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: JobKind
    order_uid: str | None
    payload: JsonObject
    attempts: int
    state: JobState
    run_at: datetime
    created_at: datetime
    last_error: str | None = None
    lease_owner: str | None = None
    # When the job first failed (its retry window runs from there), and how often its
    # worker vanished while running it.
    first_failed_at: datetime | None = None
    lease_expiries: int = 0
    redrives: int = 0  # how often re-drive gave it another run after it died
