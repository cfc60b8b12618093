from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from infra.postgres import create_read_models
from projectors.postgres import project
from query_api.postgres_search import PostgresSearch
from schemas.events import EventEnvelope
from tests.conftest import Services
from tests.query_api.search_contract import Engine, SearchContract


@pytest.fixture(scope="class")
def shared_database_url(services: Services) -> str:
    """Returns a database for the whole class; each test's users are new to it."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = services.postgres.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = services.postgres.url.rsplit("/", 1)[0] + f"/{name}"
    create_read_models(url)
    return url


@pytest.fixture(scope="class")
async def pool(shared_database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        shared_database_url, open=False
    )
    await pool.open()
    yield pool
    await pool.close()


class TestPostgresSearch(SearchContract):
    @pytest.fixture
    async def engine(
        self, shared_database_url: str, pool: AsyncConnectionPool[Any]
    ) -> Engine:
        def apply(envelopes: list[EventEnvelope]) -> None:
            # Every test numbers its events from 1, so positions are not checked.
            with psycopg.connect(shared_database_url) as conn, conn.transaction():
                project(conn, envelopes)

        async def index(envelopes: list[EventEnvelope]) -> None:
            await asyncio.to_thread(apply, envelopes)

        return Engine(PostgresSearch(pool), index)
