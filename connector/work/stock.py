"""sync_stock: copy Empower's product availability to RxScale's pharmacy SKUs.

Only SKUs whose external_id is an Empower product, and only when the figure changed, so
that our own updates (which RxScale may announce with `pharmacy_sku_stock_updated`) settle
instead of echoing.
"""

from __future__ import annotations

from connector.domain.jobs import Job
from connector.domain.outcome import NOTHING, Outcome
from connector.domain.stock import PharmacySku, plan_stock_changes
from connector.work.base import Handler, log

MAX_PAGES = 1000
PAGE_SIZE = 200


class SyncStock(Handler):
    async def run(self, job: Job) -> Outcome:
        only = job.payload.get("sku_uid")
        products = {p.product_id: p for p in await self.deps.empower.list_products()}
        skus = await self._pharmacy_skus()
        changes = plan_stock_changes(
            skus, products, only_sku=only if isinstance(only, str) else None
        )
        for change in changes:
            await self.deps.rxscale.set_stock(change.sku_uid, change.after)
        log.info("stock_synced", skus=len(skus), changed=len(changes), only_sku=only)
        return NOTHING

    async def _pharmacy_skus(self) -> list[PharmacySku]:
        skus: list[PharmacySku] = []
        for page in range(MAX_PAGES):
            listing = await self.deps.rxscale.list_skus(page=page, limit=PAGE_SIZE)
            skus.extend(listing.skus)
            if page + 1 >= listing.pages or not listing.skus:
                break
        return skus
