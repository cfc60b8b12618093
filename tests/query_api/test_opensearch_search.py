from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from projectors.opensearch_documents import OpenSearchProjection
from projectors.opensearch_index import Indices, ensure_indices, open_client
from query_api.opensearch_search import OpenSearchSearch
from schemas.events import EventEnvelope
from tests.query_api.search_contract import Engine, SearchContract


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
        yield Engine(port, index)
        await port.close()
        await client.indices.delete(index=f"{prefix}-*")
        await client.close()
