"""The order as accepting it fetched it, handed to the placement that runs straight after,
so that one GET at RxScale serves both steps.

It lives in this process's memory only, for seconds, and is taken once: patient data is
never written to the database, so the hand-off cannot be a job's payload. Whenever it is
missing (a restart, another replica, a retry, a placement that waited too long), placement
fetches the order itself, as it always did.

Why a few seconds old is still "checked just before placing": the fetch was followed by a
successful `pending review` write, and a cancellation that RxScale announces meanwhile is
queued as a job that overtakes the placement (and moves the order out of `accepted`, which
placement requires).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from connector.domain.order import PharmacyOrder

# Long enough for the `pending review` write to wait its turn under RxScale's rate limit;
# short enough that a cancellation has had no real chance to go unheard.
FRESH_FOR_SECONDS = 10.0
# Orders held at once: more than the worker runs in parallel, few enough that the memory
# of prescription files stays small.
CAPACITY = 32


@dataclass(frozen=True, slots=True)
class _Fetched:
    order: PharmacyOrder
    generation: int
    at: datetime


class FetchedOrders:
    def __init__(
        self, *, fresh_for_seconds: float = FRESH_FOR_SECONDS, capacity: int = CAPACITY
    ) -> None:
        self.fresh_for_seconds = fresh_for_seconds
        self.capacity = capacity
        self._held: OrderedDict[str, _Fetched] = OrderedDict()

    def keep(self, order: PharmacyOrder, generation: int, at: datetime) -> None:
        self._held.pop(order.uid, None)
        self._held[order.uid] = _Fetched(order, generation, at)
        while len(self._held) > self.capacity:
            self._held.popitem(last=False)

    def take(self, uid: str, generation: int, now: datetime) -> PharmacyOrder | None:
        """The order fetched for this generation, if it is fresh; it is handed over once."""
        fetched = self._held.pop(uid, None)
        if fetched is None or fetched.generation != generation:
            return None
        if (now - fetched.at).total_seconds() > self.fresh_for_seconds:
            return None
        return fetched.order

    def __len__(self) -> int:
        return len(self._held)
