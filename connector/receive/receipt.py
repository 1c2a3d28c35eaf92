"""What became of one delivery: the receive side's answer, which the web layer turns into
an HTTP status, a log line and a metric."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    ENQUEUED = "enqueued"  # recorded, and work was queued for it
    RECORDED = "recorded"  # recorded for the record; nothing to do
    IGNORED = "ignored"  # recorded; a kind of news the connector does not act on
    UNKNOWN = "unknown"  # recorded; a kind of news the contract does not name
    DUPLICATE = "duplicate"  # the same delivery was recorded before
    UNAUTHORIZED = "unauthorized"  # wrong or missing credentials; nothing stored
    FORBIDDEN = "forbidden"  # from a source address not allowed; nothing stored
    MALFORMED = "malformed"  # authentic, but not what the contract says; nothing stored
    UNAVAILABLE = "unavailable"  # the database could not record it; the partner retries


@dataclass(frozen=True, slots=True)
class Receipt:
    verdict: Verdict
    order_uid: str | None = None
    job_ids: tuple[int, ...] = ()
    # Why it was refused, as a short code (for logs) and as a sentence (for the sender).
    reason: str | None = None
    message: str | None = None
    # The event or callback type, when it is known (for logs).
    kind: str | None = None
    # How the sender proved who it is, where there is more than one way (for logs).
    auth_form: str | None = None

    def with_auth_form(self, form: str) -> Receipt:
        return dataclasses.replace(self, auth_form=form)

    @property
    def accepted(self) -> bool:
        return self.verdict in ACCEPTED


ACCEPTED = frozenset(
    {Verdict.ENQUEUED, Verdict.RECORDED, Verdict.IGNORED, Verdict.UNKNOWN, Verdict.DUPLICATE}
)
