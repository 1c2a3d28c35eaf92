"""reconcile and refresh_order: find what the webhooks never told us.

Reconciliation takes in every RxScale order `waiting for pharmacy` that the connector has
not seen (its webhook was lost), and asks Empower about every placed order it has heard
nothing of for too long (its SHIPMENT webhook may have been lost). Both go through the
partners' clients, so they respect the rate limits like everything else.
"""

from __future__ import annotations

from datetime import timedelta

from connector.domain.jobs import Job
from connector.domain.lifecycle import AWAITING_EMPOWER, RxScaleStatus
from connector.domain.news import news_from_empower_order
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.records import OrderRecord
from connector.domain.workflow import refresh
from connector.store import orders
from connector.work.base import Dependencies, Handler, OrderHandler, log
from connector.work.news import EmpowerNewsApplier

MAX_PAGES = 10_000  # a runaway guard: 2 million orders waiting would be news in itself
PAGE_SIZE = 200


class Reconcile(Handler):
    async def run(self, job: Job) -> Outcome:
        waiting = await self._waiting_at_rxscale()
        silent_since = self.deps.clock.now() - timedelta(seconds=self.deps.stale_after_seconds)
        async with self.deps.database.connect() as connection:
            unseen = await orders.unknown_uids(connection, waiting)
            quiet = await orders.quiet_orders(connection, AWAITING_EMPOWER, silent_since)
        run = job.payload.get("bucket", job.id)
        log.info(
            "reconciliation_done",
            waiting_at_rxscale=len(waiting),
            taken_in=len(unseen),
            asked_at_empower=len(quiet),
        )
        return Outcome(
            intake=tuple(unseen),
            follow_ups=tuple(refresh(uid, run) for uid in quiet),
            detail={"taken_in": len(unseen), "asked_at_empower": len(quiet)},
        )

    async def _waiting_at_rxscale(self) -> list[str]:
        uids: list[str] = []
        page = 0
        while page < MAX_PAGES:
            listing = await self.deps.rxscale.list_orders(
                status=RxScaleStatus.WAITING_FOR_PHARMACY.value, page=page, limit=PAGE_SIZE
            )
            uids.extend(order.uid for order in listing.orders)
            page += 1
            if page >= listing.pages or not listing.orders:
                break
        return list(dict.fromkeys(uids))  # a page boundary may shift under us


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
        return await self.applier.apply(record, news)
