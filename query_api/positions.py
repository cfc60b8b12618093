"""Read your writes: how far the read models are, and waiting until they get there."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg import AsyncConnection

from infra.problems import Problem

POLL_SECONDS = 0.01
# The projectors whose read models a read uses; search may add its index's.
READ_MODELS: tuple[str, ...] = ("postgres",)


async def read_position(
    conn: AsyncConnection[Any], projectors: tuple[str, ...] = READ_MODELS
) -> int:
    """Returns the event position all of ``projectors`` have reached."""
    cursor = await conn.execute(
        "SELECT projector, position FROM read_model.positions"
        " WHERE projector = ANY(%s)",
        (list(projectors),),
    )
    reached = {str(name): int(position) for name, position in await cursor.fetchall()}
    return min(reached.get(name, 0) for name in projectors)


async def wait_for_position(
    conn: AsyncConnection[Any],
    position: int,
    seconds: float,
    projectors: tuple[str, ...] = READ_MODELS,
) -> None:
    """Returns once the read models reach ``position``, or raises a 504 problem."""
    deadline = time.monotonic() + seconds
    while True:
        reached = await read_position(conn, projectors)
        # Each look ends its transaction, so the next one sees newer commits.
        await conn.rollback()
        if reached >= position:
            return
        if time.monotonic() >= deadline:
            raise Problem(
                504,
                "Gateway Timeout",
                f"read models have not reached position {position}"
                f" within {seconds:g} s",
                position=reached,
            )
        await asyncio.sleep(POLL_SECONDS)
