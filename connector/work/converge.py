"""Make a partner's resource reach a state, safely whatever happened before.

A write may have taken effect in an earlier attempt whose answer was lost, and a partner
may say so with a 409, another 4xx, or not at all. So: write; if the partner refuses (any
4xx but auth and rate limits), read the resource; if it is already where we wanted it,
that is success. Otherwise say what was found, and the caller decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from connector.domain.empower import ENDED_WITHOUT_SHIPPING, Tracking
from connector.domain.errors import PermanentError
from connector.domain.lifecycle import RxScaleStatus
from connector.work.ports import EmpowerApi, RxScaleApi


@dataclass(frozen=True, slots=True)
class Reached:
    """The resource is where we wanted it: written now, or by an earlier attempt."""


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """The partner refused the write, and the resource is somewhere else."""

    found: str
    refusal: PermanentError


Convergence = Reached | Elsewhere


async def reach(
    write: Callable[[], Awaitable[object]],
    read: Callable[[], Awaitable[str]],
    arrived: Collection[str],
    *,
    read_first: bool = False,
) -> Convergence:
    """`read_first`: an earlier attempt may have written and lost the answer (a job run
    again), so look before writing a second time."""
    if read_first and await read() in arrived:
        return Reached()
    try:
        await write()
    except PermanentError as refusal:
        found = await read()
        return Reached() if found in arrived else Elsewhere(found, refusal)
    return Reached()


async def _rxscale_status(rxscale: RxScaleApi, uid: str) -> str:
    return str((await rxscale.get_order(uid)).status)


async def reach_rxscale_status(
    rxscale: RxScaleApi,
    uid: str,
    status: RxScaleStatus,
    *,
    comment: str | None = None,
    or_beyond: Collection[RxScaleStatus] = (),
    read_first: bool = False,
) -> Convergence:
    """RxScale shows the order in `status` (or in one of `or_beyond`, which overtook it)."""
    return await reach(
        lambda: rxscale.set_status(uid, status, comment),
        lambda: _rxscale_status(rxscale, uid),
        {status, *or_beyond},
        read_first=read_first,
    )


async def complete_at_rxscale(
    rxscale: RxScaleApi, uid: str, tracking: Tracking, *, read_first: bool = False
) -> Convergence:
    """RxScale shows the order completed (`complete_order` with this tracking)."""
    return await reach(
        lambda: rxscale.complete_order(uid, tracking),
        lambda: _rxscale_status(rxscale, uid),
        {RxScaleStatus.COMPLETED},
        read_first=read_first,
    )


async def cancel_at_empower(
    empower: EmpowerApi, order_id: str, *, read_first: bool = False
) -> Convergence:
    """Empower shows the order cancelled, or rejected: either way it will never ship."""

    async def status() -> str:
        return (await empower.get_order(order_id)).status

    return await reach(
        lambda: empower.cancel_order(order_id),
        status,
        ENDED_WITHOUT_SHIPPING,
        read_first=read_first,
    )
