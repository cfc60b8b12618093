"""Rebuilds the OpenSearch indices from the event store while searches go on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from opensearchpy import AsyncOpenSearch
from psycopg import AsyncConnection

from projectors.opensearch import lock_projection, record_position
from projectors.opensearch_documents import OpenSearchProjection
from projectors.opensearch_index import (
    DEFAULT_PREFIX,
    Indices,
    bodies,
    new_stamp,
    open_client,
)
from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

CHUNK = 2000
TIMEOUT_SECONDS = 120.0


async def rebuild_opensearch(
    url: str,
    envelopes: Iterable[EventEnvelope],
    *,
    database_url: str | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> int:
    """Indexes ``envelopes`` into new indices, then swaps the aliases to them.

    Searches read the old indices until the swap, which is one atomic alias
    change; the old indices are dropped after it. With ``database_url`` the live
    projector waits meanwhile and goes on from the rebuilt position. Returns how
    many events were read.
    """
    started = time.monotonic()
    client = open_client(url, TIMEOUT_SECONDS)
    aliases = Indices.aliases(prefix)
    fresh = aliases.concrete(new_stamp())
    try:
        async with _projection_locked(database_url) as conn:
            await _create(client, fresh)
            count, last = await _index_all(client, fresh, envelopes)
            await _open_for_search(client, fresh)
            old = await _swap(client, aliases, fresh)
            if conn is not None:
                await record_position(conn, last)
        if old:
            await client.indices.delete(index=",".join(old))
    finally:
        await client.close()
    seconds = time.monotonic() - started
    logger.info("rebuilt OpenSearch from %s events in %.1f s", count, seconds)
    return count


@contextlib.asynccontextmanager
async def _projection_locked(
    database_url: str | None,
) -> AsyncIterator[AsyncConnection[Any] | None]:
    if database_url is None:
        yield None
        return
    conn = await AsyncConnection.connect(database_url)
    async with conn, conn.transaction():
        await lock_projection(conn)
        yield conn


async def _create(client: AsyncOpenSearch, indices: Indices) -> None:
    for index, body in bodies(indices):
        # Refreshing while indexing everything would only slow it down.
        settings = {**body["settings"], "refresh_interval": "-1"}
        await client.indices.create(index=index, body={**body, "settings": settings})


async def _index_all(
    client: AsyncOpenSearch, indices: Indices, envelopes: Iterable[EventEnvelope]
) -> tuple[int, int]:
    projection = OpenSearchProjection(client, indices, refresh=False)
    iterator = iter(envelopes)
    count = last = 0
    while chunk := await asyncio.to_thread(_next_chunk, iterator):
        await projection.apply(chunk)
        count += len(chunk)
        last = max(last, *(e.position for e in chunk))
    return count, last


def _next_chunk(iterator: Iterator[EventEnvelope]) -> list[EventEnvelope]:
    return list(itertools.islice(iterator, CHUNK))


async def _open_for_search(client: AsyncOpenSearch, indices: Indices) -> None:
    names = ",".join(name for name, _ in bodies(indices))
    await client.indices.put_settings(
        index=names, body={"index": {"refresh_interval": None}}
    )
    await client.indices.refresh(index=names)


async def _swap(client: AsyncOpenSearch, aliases: Indices, fresh: Indices) -> list[str]:
    """Points every alias at its new index in one change; returns the old indices."""
    actions: list[dict[str, Any]] = []
    old: list[str] = []
    for alias, index in aliases.pairs(fresh):
        if await client.indices.exists_alias(name=alias):
            current = list(await client.indices.get_alias(name=alias))
            old += current
            actions += [{"remove": {"index": i, "alias": alias}} for i in current]
        actions.append({"add": {"index": index, "alias": alias}})
    await client.indices.update_aliases(body={"actions": actions})
    logger.info(
        "aliases now point at %s", ", ".join(i for _, i in aliases.pairs(fresh))
    )
    return old
