"""The schema. Nothing here holds patient data: ids, tokens, statuses, tracking, times."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connector.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

UID_LENGTH = 255
TOKEN_LENGTH = 255


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class OrderRow(Base):
    """The mapping between one RxScale pharmacy order and its Empower tokens."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rxscale_uid: Mapped[str] = mapped_column(String(UID_LENGTH), unique=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    placement_generation: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    empower_patient_token: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH), index=True)
    empower_prescription_tokens: Mapped[list[str]] = mapped_column(JSON)
    empower_order_id: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH), unique=True)
    empower_request_id: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH), unique=True)
    empower_status: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH))
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    # The last time Empower told us about the order, or we asked it (reconciliation).
    empower_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrderCountRow(Base):
    """How many orders are in each state, kept in step with every move, so that the
    metrics read a handful of rows however many orders there have ever been."""

    __tablename__ = "order_counts"

    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class OrderEventRow(Base):
    """Append-only history of every order: state changes and the news that did not move it."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rxscale_uid: Mapped[str] = mapped_column(
        String(UID_LENGTH), ForeignKey("orders.rxscale_uid"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(index=True)


class ReceivedWebhookRow(Base):
    """Every authentic delivery, once: the unique key makes repeats harmless."""

    __tablename__ = "received_webhooks"
    __table_args__ = (UniqueConstraint("source", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(UID_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class JobRow(Base):
    """The outbox: work to do against the partners, claimed by workers under a lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_priority_run_at", "state", "priority", "run_at"),
        Index("ix_jobs_order_uid_state", "order_uid", "state"),
        # At most one running job per order, whatever the number of workers or replicas.
        Index(
            "uq_jobs_one_running_per_order",
            "order_uid",
            unique=True,
            sqlite_where=text("state = 'running'"),
            postgresql_where=text("state = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    unique_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    run_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    first_failed_at: Mapped[datetime | None]
    lease_expiries: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    redrives: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)


class RateSlotRow(Base):
    """One request to a partner under a limit shared by replicas (PostgreSQL only)."""

    __tablename__ = "rate_slots"
    __table_args__ = (Index("ix_rate_slots_bucket_started_at", "bucket", "started_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


# Typed handles for Core statements (`Model.__table__` is typed as a plain FromClause).
orders_table = cast(Table, OrderRow.__table__)
order_counts_table = cast(Table, OrderCountRow.__table__)
order_events_table = cast(Table, OrderEventRow.__table__)
received_webhooks_table = cast(Table, ReceivedWebhookRow.__table__)
jobs_table = cast(Table, JobRow.__table__)
