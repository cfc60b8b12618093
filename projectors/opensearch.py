"""Keeps the OpenSearch indices current: ``python -m projectors.opensearch``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from opensearchpy.exceptions import TransportError
from psycopg import AsyncConnection

from infra.settings import Settings, require
from projectors.errors import SinkUnavailableError
from projectors.opensearch_documents import OpenSearchProjection
from projectors.opensearch_index import (
    DEFAULT_PREFIX,
    Indices,
    ensure_indices,
    open_client,
)
from projectors.runner import run_projector
from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

PROJECTOR = "opensearch"
# Held by a batch and by a rebuild, so a rebuild never misses what a batch wrote.
OPENSEARCH_LOCK = 7203
# A bulk of a few hundred documents of many pages takes a while on a busy node.
WRITE_TIMEOUT_SECONDS = 60.0


class OpenSearchSink:
    """The OpenSearch indices, with their position stored in PostgreSQL.

    A batch is written while the position row is locked and the position moves
    only once OpenSearch took the whole batch; a batch cut short by a failure is
    written again, which the version guard makes harmless.
    """

    name = PROJECTOR

    def __init__(
        self, opensearch_url: str, database_url: str, *, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._database_url = database_url
        self._client = open_client(opensearch_url, WRITE_TIMEOUT_SECONDS)
        self._indices = Indices.aliases(prefix)
        self._projection = OpenSearchProjection(self._client, self._indices)
        self._conn: AsyncConnection[Any] | None = None

    async def position(self) -> int:
        """Returns the position reached, once the indices exist."""
        try:
            await ensure_indices(self._client, self._indices)
        except TransportError as e:
            raise SinkUnavailableError(f"OpenSearch: {e}") from e
        try:
            conn = await self._connection()
            return await read_position(conn)
        except psycopg.Error as e:
            await self._disconnect()
            raise SinkUnavailableError(f"PostgreSQL: {e}") from e

    async def apply(self, envelopes: list[EventEnvelope]) -> None:
        """Writes the envelopes past the stored position, then stores the position."""
        try:
            conn = await self._connection()
            async with conn.transaction():
                await lock_projection(conn)
                reached = await read_position(conn, lock=True)
                fresh = {e.position: e for e in envelopes if e.position > reached}
                if not fresh:
                    return
                ordered = [fresh[position] for position in sorted(fresh)]
                await self._projection.apply(ordered)
                await record_position(conn, ordered[-1].position)
        except psycopg.Error as e:
            await self._disconnect()
            raise SinkUnavailableError(f"PostgreSQL: {e}") from e
        logger.debug("batch of %s indexed up to %s", len(ordered), ordered[-1].position)

    async def close(self) -> None:
        """Closes the OpenSearch client and the database connection."""
        await self._client.close()
        await self._disconnect()

    async def _connection(self) -> AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(
                self._database_url, autocommit=True
            )
        return self._conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def lock_projection(conn: AsyncConnection[Any]) -> None:
    """Waits for the OpenSearch projection lock, held until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (OPENSEARCH_LOCK,))


async def read_position(conn: AsyncConnection[Any], *, lock: bool = False) -> int:
    """Returns the position the OpenSearch indices have reached."""
    query = "SELECT position FROM read_model.positions WHERE projector = %s"
    cursor = await conn.execute(query + (" FOR UPDATE" if lock else ""), (PROJECTOR,))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def record_position(conn: AsyncConnection[Any], position: int) -> None:
    """Stores the position the OpenSearch indices have reached."""
    await conn.execute(
        "INSERT INTO read_model.positions (projector, position) VALUES (%s, %s)"
        " ON CONFLICT (projector) DO UPDATE SET position = EXCLUDED.position",
        (PROJECTOR, position),
    )


def _sink(settings: Settings) -> OpenSearchSink:
    return OpenSearchSink(
        require(settings.opensearch_url, "opensearch_url"),
        require(settings.database_url, "database_url"),
        prefix=settings.opensearch_prefix,
    )


if __name__ == "__main__":
    asyncio.run(run_projector("projector-opensearch", _sink))
