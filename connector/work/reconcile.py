"""reconcile and refresh_order: find what the webhooks never told us, both ways.

- RxScale → us: every order `waiting for pharmacy` that the connector has not seen (its
  webhook was lost) is taken in.
- RxScale → us: every order we placed and that has not shipped should show at RxScale as
  `pending review`, `in-progress` or `ready_for_pickup`. Those lists are paged through; an
  order missing from them, and still unshipped in our records once they are read, is read
  on its own, and one cancelled there (its `pharmacy_order_updated` lost) is cancelled at
  Empower.
- Empower → us: every placed order Empower has said nothing about for `stale_after` is
  looked up there (`refresh_order`); a shipment, a rejection or a cancellation found there
  is applied as if its webhook had come.

The RxScale side costs a page per 200 open orders and status, plus one read per order
missing from the lists (at most `MAX_MISSING_READS` a run): at 5-minute intervals, a
thousand open orders cost about 20 requests in 5 minutes against RxScale's 3,000. All of it
goes through the partners' clients, so it keeps to the rate limits like everything else.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from connector.domain.errors import RateLimitedError, TransientError
from connector.domain.jobs import Job
from connector.domain.lifecycle import AWAITING_EMPOWER, OrderState, RxScaleStatus
from connector.domain.news import news_from_empower_order
from connector.domain.order import OrderPage
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import cancellation, refresh
from connector.store import order_queries
from connector.work.base import Dependencies, Handler, OrderHandler, log
from connector.work.news import EmpowerNewsApplier

MAX_PAGES = 10_000  # a runaway guard: 2 million orders waiting would be news in itself
PAGE_SIZE = 200
MAX_MISSING_READS = 50
PAGE_ATTEMPTS = 4
PAGE_RETRY_SECONDS = 0.5
MAX_PAGE_WAIT = 10.0
PLACED_NOT_SHIPPED = (OrderState.PLACED, OrderState.IN_PROGRESS, OrderState.READY_FOR_PICKUP)
# Where an order we placed and that has not shipped shows at RxScale (on hold: someone in
# the portal holds it; it is not cancelled, so it needs no read of its own every run).
OPEN_AT_RXSCALE = (
    RxScaleStatus.PENDING_REVIEW,
    RxScaleStatus.IN_PROGRESS,
    RxScaleStatus.READY_FOR_PICKUP,
    RxScaleStatus.ON_HOLD,
)


class Reconcile(Handler):
    async def run(self, job: Job) -> Outcome:
        waiting = await self._listed_at_rxscale(RxScaleStatus.WAITING_FOR_PHARMACY)
        silent_since = self.deps.clock.now() - timedelta(seconds=self.deps.stale_after_seconds)
        async with self.deps.database.connect() as connection:
            unseen = await order_queries.unknown_uids(connection, waiting)
            quiet = await order_queries.quiet_orders(connection, AWAITING_EMPOWER, silent_since)
            unshipped = await order_queries.records_in_states(connection, PLACED_NOT_SHIPPED)
        cancelled = await self._cancelled_at_rxscale(unshipped)
        run = job.payload.get("bucket", job.id)
        log.info(
            "reconciliation_done",
            waiting_at_rxscale=len(waiting),
            taken_in=len(unseen),
            asked_at_empower=len(quiet),
            cancelled_at_rxscale=len(cancelled),
        )
        return Outcome(
            intake=tuple(unseen),
            follow_ups=(
                *(refresh(uid, run) for uid in quiet),
                *(cancellation(record) for record in cancelled),
            ),
            detail={
                "taken_in": len(unseen),
                "asked_at_empower": len(quiet),
                "cancelled_at_rxscale": len(cancelled),
            },
        )

    async def _cancelled_at_rxscale(self, unshipped: list[OrderRecord]) -> list[OrderRecord]:
        """Our placed, unshipped orders that RxScale shows cancelled."""
        if not unshipped:
            return []
        listed: set[str] = set()
        for status in OPEN_AT_RXSCALE:
            listed.update(await self._listed_at_rxscale(status))
        missing = [record for record in unshipped if record.rxscale_uid not in listed]
        missing = await self._still_unshipped(missing)
        cancelled = []
        for record in missing[:MAX_MISSING_READS]:
            order = await self.deps.rxscale.get_order(record.rxscale_uid)
            if order.status == RxScaleStatus.CANCELLED:
                log.warning("cancellation_found_by_reconciliation", order_uid=record.rxscale_uid)
                cancelled.append(record)
        return cancelled

    async def _still_unshipped(self, missing: list[OrderRecord]) -> list[OrderRecord]:
        """Those of `missing` our records still show placed and unshipped. Orders keep
        moving while the lists are paged through: one that shipped meanwhile is gone from
        them because it completed at RxScale, and reading it on its own would spend a
        request of RxScale's budget to learn what our records already say."""
        if not missing:
            return []
        async with self.deps.database.connect() as connection:
            now_unshipped = await order_queries.uids_in_states(
                connection, [record.rxscale_uid for record in missing], PLACED_NOT_SHIPPED
            )
        return [record for record in missing if record.rxscale_uid in now_unshipped]

    async def _listed_at_rxscale(self, status: RxScaleStatus) -> list[str]:
        uids: list[str] = []
        page = 0
        while page < MAX_PAGES:
            listing = await self._page(status, page)
            uids.extend(order.uid for order in listing.orders)
            page += 1
            if page >= listing.pages or not listing.orders:
                break
        return list(dict.fromkeys(uids))  # a page boundary may shift under us

    async def _page(self, status: RxScaleStatus, page: int) -> OrderPage:
        """One page, tried again in place after a transient failure: a run reads many pages,
        and failing the whole run for one page would read them all again."""
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            try:
                return await self.deps.rxscale.list_orders(
                    status=status.value, page=page, limit=PAGE_SIZE
                )
            except TransientError as exc:
                if attempt == PAGE_ATTEMPTS:
                    raise
                wait = exc.retry_after if isinstance(exc, RateLimitedError) else None
                await asyncio.sleep(min(wait or PAGE_RETRY_SECONDS * attempt, MAX_PAGE_WAIT))
        raise AssertionError("unreachable")


class RefreshOrder(OrderHandler):
    requires = AWAITING_EMPOWER

    def __init__(self, deps: Dependencies) -> None:
        super().__init__(deps)
        self.applier = EmpowerNewsApplier(deps)

    async def handle(self, job: Job, record: OrderRecord) -> Outcome:
        if record.empower_order_id is None:
            return NOTHING
        order = await self.deps.empower.get_order(record.empower_order_id)
        news = news_from_empower_order(order)
        log.info("empower_order_refreshed", empower_status=order.status)
        return await self.applier.apply(record, news, again=job.attempts > 1, from_empower_api=True)
