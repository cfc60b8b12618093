"""Read your writes: how far the read models are, and waiting until they get there."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg import AsyncConnection

from infra.problems import Problem

POLL_SECONDS = 0.01


async def read_position(conn: AsyncConnection[Any]) -> int:
    """Returns the event position the PostgreSQL read models have reached."""
    cursor = await conn.execute(
        "SELECT position FROM read_model.positions WHERE projector = 'postgres'"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def wait_for_position(
    conn: AsyncConnection[Any], position: int, seconds: float
) -> None:
    """Returns once the read models reach ``position``, or raises a 504 problem."""
    deadline = time.monotonic() + seconds
    while True:
        reached = await read_position(conn)
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
