"""The notifier's ASGI app: ``/ws`` streams a user's events and OCR progress.

A client connects to ``/ws`` with its token in an ``Authorization: Bearer``
header or, from a browser, as ``?token=``. With ``?since=<position>`` it first
receives every one of its events after that position, then live ones, without
gaps or repeats; without it, only live ones. Refusals and close codes are
described in ``notifier.handshake`` and ``notifier.session``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from nats.aio.client import Client
from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from infra.auth import Principal, authenticate
from infra.nats import connect, ensure_stream
from infra.problems import install_problem_handlers, problem_response
from infra.settings import Settings, require
from notifier.fanout import Fanout
from notifier.handshake import BadSinceError, refuse, since_of, token_of
from notifier.redaction import redact_server_logs
from notifier.session import Session

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """The connections one notifier process holds while it runs."""

    pool: AsyncConnectionPool
    nc: Client
    js: JetStreamContext
    fanout: Fanout

    async def principal(self, token: str) -> Principal | None:
        """Returns the user of a token; raises ``psycopg.Error`` when unsure."""
        async with self.pool.connection() as conn:
            return await authenticate(conn, token)


@asynccontextmanager
async def running(settings: Settings, outbox_limit: int) -> AsyncIterator[Runtime]:
    """Connects to PostgreSQL and NATS and subscribes to the event stream."""
    database_url = require(settings.database_url, "database_url")
    pool = AsyncConnectionPool(
        database_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    nc = await connect(require(settings.nats_url, "nats_url"), "paperledger-notifier")
    js = nc.jetstream()
    fanout = Fanout(nc, js, outbox_limit)
    try:
        await ensure_stream(js)
        await fanout.start()
        logger.info("notifier streams events to websockets")
        yield Runtime(pool, nc, js, fanout)
    finally:
        await fanout.stop()
        await nc.close()
        await pool.close()


def create_app(
    settings: Settings,
    *,
    token_check_seconds: float = 60.0,
    outbox_limit: int = 1000,
) -> FastAPI:
    """Returns the notifier app; it connects to its services when it starts."""
    redact_server_logs()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings, outbox_limit) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(title="Paperledger notifier", lifespan=lifespan)
    install_problem_handlers(app)

    @app.get("/health")
    async def health() -> JSONResponse:
        """Tells whether the notifier is connected to NATS, and how many listen."""
        runtime: Runtime = app.state.runtime
        if not runtime.nc.is_connected:
            return problem_response(503, "Service Unavailable", "NATS is unreachable.")
        return JSONResponse({"status": "ok", "connections": runtime.fanout.connections})

    @app.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        runtime: Runtime = app.state.runtime
        principal = await _principal(websocket, runtime)
        if principal is None:
            return
        try:
            since = since_of(websocket)
        except BadSinceError as e:
            await refuse(websocket, 400, "Bad Request", str(e))
            return
        await _serve(websocket, runtime, principal, since, token_check_seconds)

    return app


async def _principal(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    token = token_of(websocket)
    try:
        principal = await runtime.principal(token) if token else None
    except psycopg.Error:
        logger.exception("cannot check a websocket token")
        await refuse(websocket, 503, "Service Unavailable", "Try again shortly.")
        return None
    if principal is None:
        await refuse(
            websocket,
            401,
            "Unauthorized",
            "A valid bearer token is required.",
            {"WWW-Authenticate": "Bearer"},
        )
    return principal


async def _serve(
    websocket: WebSocket,
    runtime: Runtime,
    principal: Principal,
    since: int | None,
    token_check_seconds: float,
) -> None:
    token = token_of(websocket) or ""

    async def token_is_valid() -> bool:
        try:
            now = await runtime.principal(token)
            return now is not None and now.user_id == principal.user_id
        except psycopg.Error:
            logger.warning("cannot re-check the token of %s", principal.user_id)
            return True

    # Buffering live events starts before catch-up reads the stream's end.
    outbox = await runtime.fanout.attach(principal.user_id)
    try:
        await websocket.accept()
        logger.debug("socket of %s opened, since %s", principal.user_id, since)
        session = Session(
            websocket, outbox, runtime.js, token_is_valid, token_check_seconds
        )
        await session.run(since)
    finally:
        await runtime.fanout.detach(outbox)
        logger.debug("socket of %s ended", principal.user_id)
