"""A running query API over read models filled through the projector."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from infra.postgres import create_read_models
from infra.settings import Settings
from projectors.positions import project_batch
from query_api.app import create_app
from tests.projectors.events import EventLog, User


@dataclass
class Api:
    """An HTTP client of the query API and the history its read models show."""

    client: httpx.AsyncClient
    database_url: str
    log: EventLog = field(default_factory=EventLog)

    def project(self) -> None:
        """Applies every event of the log that the read models lack."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            project_batch(conn, self.log.envelopes)

    async def get(
        self,
        user: User | None,
        path: str,
        params: Mapping[str, str | int | list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Sends a GET as ``user``, or without a token."""
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {user.token}"
        return await self.client.get(path, params=params, headers=headers)


@contextlib.asynccontextmanager
async def query_api(settings: Settings) -> AsyncIterator[Api]:
    """Runs the query API in-process on ``settings`` and yields a client of it."""
    assert settings.database_url
    create_read_models(settings.database_url)
    app = create_app(settings.model_copy(update={"read_wait_seconds": 0.5}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield Api(client, settings.database_url)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with query_api(settings) as api:
        yield api
