from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from infra.embedded import free_port
from infra.settings import Settings
from projectors.opensearch import OpenSearchSink
from projectors.opensearch_documents import OpenSearchProjection
from projectors.opensearch_index import Indices, ensure_indices, open_client
from query_api.opensearch_search import OpenSearchSearch
from schemas.events import EventEnvelope
from tests.query_api.conftest import query_api
from tests.query_api.search_contract import SMALL_COUNT_LIMIT, Engine, SearchContract


@pytest.fixture
def prefix() -> str:
    """Returns alias names of this test's own indices."""
    return f"test-{uuid.uuid4().hex[:12]}"


class TestOpenSearchSearch(SearchContract):
    @pytest.fixture
    async def engine(self, opensearch_url: str, prefix: str) -> AsyncIterator[Engine]:
        client = open_client(opensearch_url, 30.0)
        indices = Indices.aliases(prefix)
        await ensure_indices(client, indices)
        projection = OpenSearchProjection(client, indices)

        async def index(envelopes: list[EventEnvelope]) -> None:
            await projection.apply(envelopes)

        port = OpenSearchSearch(opensearch_url, prefix=prefix)
        counting = OpenSearchSearch(
            opensearch_url, prefix=prefix, count_limit=SMALL_COUNT_LIMIT
        )
        yield Engine(port, index, counting)
        await port.close()
        await counting.close()
        await client.indices.delete(index=f"{prefix}-*")
        await client.close()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections on a port and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
        for writer in held:
            writer.close()


@pytest.mark.parametrize("node", ["closed", "silent"])
async def test_search_answers_503_at_once_when_opensearch_is_down_or_silent(
    settings: Settings, node: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        port = (
            free_port()
            if node == "closed"
            else await stack.enter_async_context(silent_server())
        )
        down = settings.model_copy(
            update={
                "opensearch_url": f"http://127.0.0.1:{port}",
                "opensearch_timeout_seconds": 0.5,
            }
        )
        api = await stack.enter_async_context(query_api(down))
        ada = api.log.register("ada")
        api.project()

        started = time.monotonic()
        response = await api.get(ada, "/api/search", {"q": "fox"})
        seconds = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("search is unavailable: ")
    assert seconds < 2.0


async def test_search_waits_for_the_index_to_reach_the_position_asked_for(
    settings: Settings, opensearch_url: str, prefix: str
) -> None:
    configured = settings.model_copy(
        update={"opensearch_url": opensearch_url, "opensearch_prefix": prefix}
    )
    async with query_api(configured) as api:
        ada = api.log.register("ada")
        document_id = api.log.upload(ada, "Invoice")
        api.log.ocr(document_id, "the quick brown fox")
        api.project()
        params = {"q": "fox"}
        position = {"Paperledger-Position": str(api.log.position)}

        behind = await api.get(ada, "/api/search", params, position)
        assert settings.database_url
        sink = OpenSearchSink(opensearch_url, settings.database_url, prefix=prefix)
        await sink.position()
        await sink.apply(api.log.envelopes)
        await sink.close()
        caught_up = await api.get(ada, "/api/search", params, position)

    assert behind.status_code == 504
    assert caught_up.status_code == 200
    assert [item["document_id"] for item in caught_up.json()["items"]] == [
        str(document_id)
    ]
    assert caught_up.headers["Paperledger-Position"] == str(api.log.position)
