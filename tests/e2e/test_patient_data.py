"""No patient data in the logs or the database, whatever path an order takes.

Orders carry recognisable patient values; after they complete, go on hold for an unmapped
product, or go on hold because Empower refused the patient (quoting the name back), the
captured log output and every byte the database wrote are searched for those values.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from connector.domain.lifecycle import OrderState
from connector.logging import configure_logging
from tests.e2e.conftest import MakeStack

PATIENT = {
    "uid": "pat-canary",
    "display_name": "Zebulon Quixotic",
    "email": "zebulon.canary@example.invalid",
    "date_of_birth": "1913-07-29",
}
ADDRESS = {
    "first_name": "Zebulon",
    "last_name": "Quixotic",
    "street": "Kanarienvogelgasse",
    "house_number": "77",
    "zip_code": "K7N4R",
    "city": "Quixburg",
    "country": "DE",
    "additional_address": "Hinterhaus Kanarie",
    "province": "Canaria",
}
SCAN = base64.b64encode(b"%PDF-1.4 canary prescription scan ZQX-4711").decode()
CANARIES = [
    "Zebulon",
    "Quixotic",
    "zebulon.canary@example.invalid",
    "1913-07-29",
    "Kanarienvogelgasse",
    "K7N4R",
    "Quixburg",
    "Hinterhaus Kanarie",
    SCAN,
    "canary prescription scan",
]


def found_in(haystack: str) -> list[str]:
    lowered = haystack.lower()
    return [c for c in CANARIES if c.lower() in lowered]


async def test_patient_values_reach_neither_logs_nor_database(
    make_stack: MakeStack, database_url: str
) -> None:
    captured = io.StringIO()
    configure_logging("debug", "json", stream=captured)
    try:
        stack = await make_stack()
        with_scan = {"prescription_file": {"filename": "rx.pdf", "content_base64": SCAN}}
        ok = stack.sandbox.rxscale.add_order(patient=PATIENT, address=ADDRESS)
        stack.sandbox.rxscale.orders[ok].document.update(with_scan)
        unmapped = stack.sandbox.rxscale.add_order(
            patient=PATIENT,
            address=ADDRESS,
            items=[{"uid": "oi-x", "amount": 1, "sku": {"uid": "sku-x"}, "pharmacy_sku": None}],
        )
        refused = stack.sandbox.rxscale.add_order(patient=PATIENT, without_address=True)
        await stack.wait_for_states([ok], {OrderState.DELIVERED})
        await stack.wait_for_states([unmapped, refused], {OrderState.ON_HOLD})
        states = {uid: r.state for uid, r in (await stack.records()).items()}
        rows = await _all_rows(stack.daemon.database.engine, stack.daemon.database.is_sqlite)
        await stack.stop()
    finally:
        configure_logging("warning", "json")

    assert states == {
        ok: OrderState.DELIVERED,
        unmapped: OrderState.ON_HOLD,
        refused: OrderState.ON_HOLD,
    }
    log_text = captured.getvalue()
    assert "order_state_changed" in log_text
    assert "empower_order_placed" in log_text
    assert found_in(log_text) == []
    assert found_in(rows) == []
    if database_url.startswith("sqlite"):
        database_file = Path(make_url(database_url).database or "")
        files = sorted(database_file.parent.glob(database_file.name + "*"))
        assert files, "the SQLite database file should exist"
        raw = b"".join(f.read_bytes() for f in files).decode("utf-8", "replace")
        assert ok in raw  # the search looks in the right place
        assert found_in(raw) == []


async def _all_rows(engine: object, is_sqlite: bool) -> str:
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(engine, AsyncEngine)
    tables = ("orders", "order_events", "received_webhooks", "jobs")
    dumped: list[str] = []
    async with engine.connect() as connection:
        for table in tables:
            result = await connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            dumped.extend(str(tuple(row)) for row in result)
    return "\n".join(dumped)
