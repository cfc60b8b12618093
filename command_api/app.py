"""The command API's FastAPI application and what it holds open while it runs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from command_api import errors
from command_api.application import Paperledger
from command_api.nats import follow_revocations, serve_commands
from command_api.routes import router
from infra.auth import TokenCache
from infra.blobs import BlobStore
from infra.http import FORM_OVERHEAD_BYTES, BodyLimit, PendingLimit
from infra.nats import connect, ensure_blob_bucket
from infra.postgres import create_read_models, eventsourcing_env
from infra.problems import install_problem_handlers, problem_response
from infra.settings import Settings, require

logger = logging.getLogger(__name__)


_STATUS = {
    errors.NotFoundError: (404, "Not Found"),
    errors.ConflictError: (409, "Conflict"),
    errors.InvalidCommandError: (422, "Unprocessable Content"),
    errors.UnreadableFileError: (422, "Unprocessable Content"),
    errors.UnsupportedFileError: (415, "Unsupported Media Type"),
    errors.FileTooLargeError: (413, "Content Too Large"),
}


def create_app(settings: Settings) -> FastAPI:
    """Returns the command API bound to the services ``settings`` names."""
    database_url = require(settings.database_url, "database_url")
    nats_url = require(settings.nats_url, "nats_url")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        create_read_models(database_url)
        app.state.ledger = Paperledger(
            env=eventsourcing_env(database_url),
            group_commit=settings.group_commit,
            cache_size=settings.aggregate_cache_size,
        )
        app.state.tokens = TokenCache()
        # Every request looks its token up; one connection would queue them all.
        app.state.pool = AsyncConnectionPool(
            database_url,
            min_size=2,
            max_size=10,
            open=False,
            kwargs={"autocommit": True},
        )
        await app.state.pool.open()
        client = await connect(nats_url, "command-api")
        js = client.jetstream()
        await ensure_blob_bucket(js)
        app.state.blobs = BlobStore(js)
        subscriptions = await serve_commands(client, app.state.ledger)
        subscriptions.append(await follow_revocations(client, app.state.tokens))
        logger.info("command API ready")
        try:
            yield
        finally:
            for subscription in subscriptions:
                await subscription.drain()  # type: ignore[no-untyped-call]
            await client.close()
            await app.state.pool.close()
            app.state.ledger.close()

    app = FastAPI(
        title="Paperledger command API",
        summary="Every write: folders, uploads, renames, tags, trash.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)

    @app.exception_handler(errors.CommandError)
    async def _command_error(_: Request, exc: errors.CommandError) -> JSONResponse:
        status, title = _STATUS.get(type(exc), (400, "Bad Request"))
        return problem_response(status, title, str(exc))

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    )
    app.add_middleware(PendingLimit, max_pending=settings.max_pending_writes)
    return app
