"""sync_stock (connector.work.stock): Empower's availability on RxScale's pharmacy SKUs."""

from __future__ import annotations

from connector.domain.jobs import JobKind
from connector.sandbox.fixtures import CATALOGUE
from connector.work.stock import SyncStock
from tests.handlers.conftest import Bench


async def test_only_changed_figures_are_written(bench: Bench) -> None:
    sema, tirz, *_ = CATALOGUE
    bench.empower.availability[sema.product_id] = (True, 7)
    bench.empower.availability[tirz.product_id] = (False, 40)
    for product in CATALOGUE[2:]:
        bench.rxscale.skus[product.pharmacy_sku_uid]["stock"] = 250  # already right
    await SyncStock(bench.deps).run(bench.job(JobKind.SYNC_STOCK, None))
    assert sorted(bench.rxscale.stock_updates) == sorted(
        [(sema.pharmacy_sku_uid, 7), (tirz.pharmacy_sku_uid, 0)]
    )


async def test_a_stock_notice_checks_only_its_sku(bench: Bench) -> None:
    sema, tirz, *_ = CATALOGUE
    bench.empower.availability[sema.product_id] = (True, 7)
    bench.empower.availability[tirz.product_id] = (True, 9)
    job = bench.job(JobKind.SYNC_STOCK, None, {"sku_uid": tirz.pharmacy_sku_uid})
    await SyncStock(bench.deps).run(job)
    assert bench.rxscale.stock_updates == [(tirz.pharmacy_sku_uid, 9)]
