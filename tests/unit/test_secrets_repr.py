"""Secrets never show in a repr, where a log line or a traceback could pick them up."""

from __future__ import annotations

from connector.domain.clock import SystemClock
from connector.receive.empower import EmpowerReceiver
from connector.receive.rxscale import RxScaleReceiver
from connector.settings import Settings, isolated
from connector.store.database import Database
from connector.web.context import ServiceState, WebContext

SIGNING = "whsec_canary_signing_secret_0123"
HOOK_KEY = "canary-empower-hook-key-0123"
RX_API = "canary-rxscale-api-key"
EMP_API = "canary-empower-api-key"
DB_PASSWORD = "canary-db-password"


def test_no_secret_in_the_reprs_of_settings_or_the_web_context() -> None:
    settings = isolated(
        Settings,
        database_url=f"postgresql://connector:{DB_PASSWORD}@db/connector",
        rxscale={"api_key": RX_API, "webhook_secrets": [SIGNING]},
        empower={"api_key": EMP_API, "webhook_keys": [HOOK_KEY]},
    )
    database = Database(settings.database_url)
    context = WebContext(
        database=database,
        rxscale=RxScaleReceiver(database, [SIGNING]),
        empower=EmpowerReceiver(database, [HOOK_KEY]),
        clock=SystemClock(),
        on_enqueued=lambda: None,
        state=ServiceState(),
        max_body_bytes=1024,
    )
    shown = " ".join([repr(settings), str(settings), repr(context), database.describe()])
    for secret in (SIGNING, HOOK_KEY, RX_API, EMP_API, DB_PASSWORD):
        assert secret not in shown
    assert DB_PASSWORD not in database.describe()
