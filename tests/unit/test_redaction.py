from __future__ import annotations

import io
import json

import structlog

from connector.domain.errors import Partner, PermanentError
from connector.domain.redaction import REDACTED, scrub
from connector.logging import configure_logging


def test_scrub_removes_every_known_value_ignoring_case() -> None:
    text = "Patient JANE DOE (jane@x.org, born 1980-01-02) has an invalid zip"
    cleaned = scrub(text, {"Jane Doe", "jane@x.org", "1980-01-02", "  "})
    assert "jane" not in cleaned.lower()
    assert "1980" not in cleaned
    assert cleaned.count(REDACTED) == 3
    assert cleaned.endswith("has an invalid zip")


def test_scrub_prefers_the_longest_match() -> None:
    assert scrub("Main St 5", {"Main St", "Main St 5"}) == REDACTED


def test_partner_error_keeps_its_kind_with_a_new_message() -> None:
    error = PermanentError(Partner.EMPOWER, "create_order", "bad Jane", status=422, request_id="r1")
    clean = error.with_message("bad [redacted]")
    assert isinstance(clean, PermanentError)
    assert (clean.status, clean.request_id, clean.message) == (422, "r1", "bad [redacted]")
    assert str(clean) == "bad [redacted]"
    assert error.message == "bad Jane"


def test_log_redaction_masks_patient_keys_at_any_depth() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    try:
        structlog.get_logger("connector.test").info(
            "something_happened",
            email="jane@x.org",
            order_uid="po-1",
            nested={"patient_data": {"display_name": "Jane"}, "ok": 1},
            items=[{"first_name": "Jane"}],
        )
    finally:
        configure_logging("warning", "json")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "something_happened"
    assert line["email"] == REDACTED
    assert line["order_uid"] == "po-1"
    assert line["nested"] == {"patient_data": REDACTED, "ok": 1}
    assert line["items"] == [{"first_name": REDACTED}]
    assert {"timestamp", "level", "logger"} <= set(line)
    assert line["timestamp"].endswith("Z")
