from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from infra.postgres import create_read_models
from projectors.positions import project_batch
from query_api.postgres_search import PostgresSearch
from schemas.events import EventEnvelope
from tests.query_api.search_contract import Engine, SearchContract


class TestPostgresSearch(SearchContract):
    @pytest.fixture
    async def engine(self, database_url: str) -> AsyncIterator[Engine]:
        create_read_models(database_url)

        def project(envelopes: list[EventEnvelope]) -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                project_batch(conn, envelopes)

        async def index(envelopes: list[EventEnvelope]) -> None:
            await asyncio.to_thread(project, envelopes)

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(database_url, open=False)
        await pool.open()
        yield Engine(PostgresSearch(pool), index)
        await pool.close()
