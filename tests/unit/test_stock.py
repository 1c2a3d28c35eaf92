"""Which pharmacy SKUs get a new stock figure (connector.domain.stock)."""

from __future__ import annotations

from connector.domain.stock import PharmacySku, ProductAvailability, StockChange, plan_stock_changes


def test_stock_changes_only_where_a_product_matches_and_the_figure_differs() -> None:
    skus = [
        PharmacySku("psku-a", "EMP-A", 10),
        PharmacySku("psku-b", "EMP-B", 0),
        PharmacySku("psku-c", "NOT-AT-EMPOWER", 5),
        PharmacySku("psku-d", None, 5),
        PharmacySku("psku-e", "EMP-E", 7),
    ]
    products = {
        "EMP-A": ProductAvailability("EMP-A", True, 25),
        "EMP-B": ProductAvailability("EMP-B", False, 40),  # not in stock: 0, unchanged
        "EMP-E": ProductAvailability("EMP-E", True, 7),  # unchanged
    }
    assert plan_stock_changes(skus, products) == [StockChange("psku-a", "EMP-A", 10, 25)]
    assert plan_stock_changes(skus, products, only_sku="psku-e") == []
