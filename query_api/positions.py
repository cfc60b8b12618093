"""Read your writes: how far the read models are, and waiting until they get there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from infra.problems import Problem

logger = logging.getLogger(__name__)

# The channel read_model.positions' trigger notifies, with 'projector:position'.
POSITIONS_CHANNEL = "read_model_positions"
POLL_SECONDS = 0.01
# How often the watcher reads the positions itself: a check that its connection
# lives, and a bound on how long a lost notification could delay a read.
REFRESH_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
WATCHER_NAME = "paperledger-positions"
# The projectors whose read models a read uses; search may add its index's.
READ_MODELS: tuple[str, ...] = ("postgres",)


class PositionWatcher:
    """Follows the read models' positions over one LISTEN connection.

    Reads waiting for a position wait on it instead of polling the database
    each; while its connection is down, they fall back to polling.
    """

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._positions: dict[str, int] = {}
        self._changed = asyncio.Event()
        self.listening = False

    def reached(self, projectors: tuple[str, ...] = READ_MODELS) -> int:
        """Returns the position all of ``projectors`` have reached, as last told."""
        return min(self._positions.get(name, 0) for name in projectors)

    async def changed(self, seconds: float) -> None:
        """Returns when a position changes or listening stops, or after ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    async def run(self) -> None:
        """Listens until cancelled, connecting again after a failure."""
        while True:
            try:
                await self._listen()
            except (OSError, psycopg.Error) as e:
                logger.warning(
                    "position notifications lost, reads poll until back: %s", e
                )
            finally:
                self.listening = False
                self._wake()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        async with await AsyncConnection.connect(
            self._database_url, autocommit=True, application_name=WATCHER_NAME
        ) as conn:
            await conn.execute(f"LISTEN {POSITIONS_CHANNEL}")
            # Read after LISTEN, so no change falls between the two.
            await self._refresh(conn)
            self.listening = True
            logger.info("following read-model positions on %s", POSITIONS_CHANNEL)
            while True:
                async for notify in conn.notifies(timeout=REFRESH_SECONDS):
                    self._record(notify.payload)
                await self._refresh(conn)

    async def _refresh(self, conn: AsyncConnection[Any]) -> None:
        cursor = await conn.execute(
            "SELECT projector, position FROM read_model.positions"
        )
        for name, position in await cursor.fetchall():
            self._set(str(name), int(position))

    def _record(self, payload: str) -> None:
        name, _, position = payload.rpartition(":")
        if name and position.isdigit():
            self._set(name, int(position))
        else:
            logger.warning("ignored a position notification: %r", payload)

    def _set(self, name: str, position: int) -> None:
        if self._positions.get(name) != position:
            self._positions[name] = position
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


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
    pool: AsyncConnectionPool[Any],
    position: int,
    seconds: float,
    projectors: tuple[str, ...] = READ_MODELS,
    watcher: PositionWatcher | None = None,
) -> None:
    """Returns once the read models reach ``position``, or raises a 504 problem.

    It holds no connection while the watcher listens; otherwise it polls.
    """
    deadline = time.monotonic() + seconds
    while True:
        if watcher is not None and watcher.listening:
            reached = watcher.reached(projectors)
        else:
            async with pool.connection() as conn:
                reached = await read_position(conn, projectors)
        remaining = deadline - time.monotonic()
        if reached >= position:
            return
        if remaining <= 0:
            raise Problem(
                504,
                "Gateway Timeout",
                f"read models have not reached position {position}"
                f" within {seconds:g} s",
                position=reached,
            )
        if watcher is not None and watcher.listening:
            await watcher.changed(remaining)
        else:
            await asyncio.sleep(min(POLL_SECONDS, remaining))
