"""The query API application: read-only routes over the read models."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg import AsyncConnection, IsolationLevel
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.blobs import BlobStore
from infra.nats import connect
from infra.problems import install_problem_handlers
from infra.settings import Settings, require
from query_api.models import Health
from query_api.opensearch_search import OpenSearchSearch
from query_api.positions import PositionWatcher
from query_api.postgres_search import PostgresSearch
from query_api.routes import documents, files, folders, search, users
from query_api.session import POSITION_HEADER

logger = logging.getLogger(__name__)

# How many searches on PostgreSQL may count beside their pages at once; more
# wait for one of those connections, none of which waits on anything else.
COUNT_CONNECTIONS = 4


def create_app(settings: Settings) -> FastAPI:
    """Returns the query API wired to the services named in ``settings``."""
    app = FastAPI(
        title="Paperledger query API",
        description="Read documents, folders, history and search results.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(PositionHeaderMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    for module in (users, folders, documents, files, search):
        app.include_router(module.router)

    @app.get("/health", tags=["health"])
    async def health() -> Health:
        """Tells that the query API is up; needs no token."""
        return Health()

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    database_url = require(settings.database_url, "database_url")
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=20,
        open=False,
        configure=_snapshot_reads,
    )
    await pool.open(wait=True)
    client = await connect(require(settings.nats_url, "nats_url"), "query-api")
    app.state.pool = pool
    # Reads that wait for a position wake on the projectors' notifications.
    app.state.positions = PositionWatcher(database_url)
    watching = asyncio.create_task(app.state.positions.run())
    app.state.blobs = BlobStore(client.jetstream())
    opensearch = _opensearch(settings)
    # On PostgreSQL the count of a common word's search runs beside its page, on a
    # connection of this pool, opened when needed: a search holds one connection
    # of the main pool and never waits on that pool for a second.
    count_pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        database_url, min_size=0, max_size=COUNT_CONNECTIONS, open=False
    )
    await count_pool.open()
    app.state.search = opensearch or PostgresSearch(pool, count_pool=count_pool)
    if opensearch is not None:
        app.state.search_read_models = ("postgres", "opensearch")
    logger.info("query API ready")
    try:
        yield
    finally:
        if opensearch is not None:
            await opensearch.close()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await client.close()
        await count_pool.close()
        await pool.close()


def _opensearch(settings: Settings) -> OpenSearchSearch | None:
    """Returns the OpenSearch adapter where a cluster is configured."""
    if not settings.opensearch_url:
        return None
    logger.info("searching in OpenSearch")
    return OpenSearchSearch(
        settings.opensearch_url,
        timeout=settings.opensearch_timeout_seconds,
        prefix=settings.opensearch_prefix,
    )


async def _snapshot_reads(conn: AsyncConnection[Any]) -> None:
    # One request reads one consistent snapshot, position included.
    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)


class PositionHeaderMiddleware:
    """Adds the read models' position, as read for the request, to its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_position(message: Message) -> None:
            position = scope.get("state", {}).get("read_position")
            if message["type"] == "http.response.start" and position is not None:
                headers = list(message.get("headers", []))
                headers.append(
                    (POSITION_HEADER.lower().encode(), str(position).encode())
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_position)


class HeadAsGetMiddleware:
    """Answers HEAD like GET, with the same headers and no body (RFC 9110 9.3.2)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
