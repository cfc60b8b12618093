from __future__ import annotations

import asyncio
import contextlib
import copy
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from nats.js import JetStreamContext
from opensearchpy import AsyncOpenSearch

from command_api.application import Paperledger
from infra import cli
from infra.embedded import free_port
from infra.nats import connect
from infra.postgres import create_read_models, eventsourcing_env
from infra.settings import get_settings
from projectors.consumer import StreamConsumer
from projectors.opensearch import OpenSearchSink
from projectors.opensearch_documents import OpenSearchProjection
from projectors.opensearch_index import (
    DOCUMENTS_BODY,
    Indices,
    ensure_indices,
    open_client,
)
from projectors.opensearch_rebuild import rebuild_opensearch
from query_api.opensearch_search import OpenSearchSearch
from query_api.search import SearchQuery
from tests.projectors.events import EventLog, User, publish


@dataclass
class Cluster:
    """A client of the test node and this test's own aliases."""

    url: str
    prefix: str
    client: AsyncOpenSearch

    @property
    def indices(self) -> Indices:
        return Indices.aliases(self.prefix)

    def projection(self) -> OpenSearchProjection:
        return OpenSearchProjection(self.client, self.indices)

    async def source(self, index: str, document_id: uuid.UUID) -> dict[str, Any] | None:
        answer = await self.client.mget(body={"ids": [str(document_id)]}, index=index)
        doc = answer["docs"][0]
        return doc["_source"] if doc.get("found") else None

    async def count(self) -> int:
        await self.client.indices.refresh(index=self.indices.documents)
        answer = await self.client.count(index=self.indices.documents)
        return int(answer["count"])


@pytest.fixture
async def cluster(opensearch_url: str) -> AsyncIterator[Cluster]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    client = open_client(opensearch_url, 30.0)
    await ensure_indices(client, Indices.aliases(prefix))
    yield Cluster(opensearch_url, prefix, client)
    await client.indices.delete(index=f"{prefix}-*")
    await client.close()


def library() -> tuple[EventLog, User, uuid.UUID]:
    log = EventLog()
    ada = log.register("ada")
    document_id = log.upload(ada, "Invoice")
    log.ocr(document_id, "the quick brown fox", "pay in thirty days")
    return log, ada, document_id


async def test_a_redelivered_batch_changes_nothing(cluster: Cluster) -> None:
    log, _, document_id = library()
    projection = cluster.projection()
    await projection.apply(log.envelopes)
    before = await cluster.source(cluster.indices.documents, document_id)

    await projection.apply(log.envelopes)

    assert await cluster.source(cluster.indices.documents, document_id) == before
    assert await cluster.count() == 1


async def test_an_older_event_after_a_newer_one_changes_nothing(
    cluster: Cluster,
) -> None:
    log, _, document_id = library()
    older = log.add("Document.Renamed", document_id, {"title": "Older"})
    log.add("Document.Renamed", document_id, {"title": "Newer"})
    await cluster.projection().apply(log.envelopes)

    await cluster.projection().apply([older])

    source = await cluster.source(cluster.indices.documents, document_id)
    assert source is not None
    assert (source["title"], source["version"]) == ("Newer", 4)


async def test_a_trashed_document_leaves_the_index_and_a_late_event_cannot_revive_it(
    cluster: Cluster,
) -> None:
    log, _, document_id = library()
    tagged = log.add("Document.Tagged", document_id, {"tag": "tax"})
    log.add("Document.Trashed", document_id, {})
    await cluster.projection().apply(log.envelopes)

    await cluster.projection().apply([tagged])

    assert await cluster.source(cluster.indices.documents, document_id) is None
    assert await cluster.source(cluster.indices.trash, document_id) is not None


async def test_a_restored_document_comes_back_with_its_pages(cluster: Cluster) -> None:
    log, ada, document_id = library()
    log.add("Document.Trashed", document_id, {})
    await cluster.projection().apply(log.envelopes)
    log.add("Document.Restored", document_id, {})

    await cluster.projection().apply(log.envelopes[-1:])

    found = await search(cluster, ada, "fox")
    assert [(hit.document_id, hit.pages) for hit in found] == [(document_id, (1,))]
    assert await cluster.source(cluster.indices.trash, document_id) is None


async def test_an_index_made_before_a_field_was_added_gets_it_and_takes_writes(
    opensearch_url: str,
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    client = open_client(opensearch_url, 30.0)
    aliases = Indices.aliases(prefix)
    older = copy.deepcopy(DOCUMENTS_BODY)
    del older["mappings"]["properties"]["body"]
    await client.indices.create(
        index=f"{aliases.documents}-0",
        body={**older, "aliases": {aliases.documents: {}}},
    )
    try:
        await ensure_indices(client, aliases)
        log, ada, document_id = library()

        await OpenSearchProjection(client, aliases).apply(log.envelopes)

        cluster = Cluster(opensearch_url, prefix, client)
        found = await search(cluster, ada, "fox")
        assert [(hit.document_id, hit.pages) for hit in found] == [(document_id, (1,))]
    finally:
        await client.indices.delete(index=f"{prefix}-*")
        await client.close()


async def test_a_batch_of_many_documents_is_indexed_in_one_bulk(
    cluster: Cluster,
) -> None:
    log = EventLog()
    ada = log.register("ada")
    folder = log.folder(ada, "Taxes", ada.home_folder_id)
    for n in range(300):
        document_id = log.upload(ada, f"Document {n}", folder_id=folder)
        log.ocr(document_id, f"page one of {n}", "page two")

    await cluster.projection().apply(log.envelopes)

    assert await cluster.count() == 300
    source = await cluster.source(cluster.indices.documents, document_id)
    assert source is not None
    assert source["folder_path"] == [str(ada.home_folder_id), str(folder)]


async def search(cluster: Cluster, user: User, text: str) -> list[Any]:
    port = OpenSearchSearch(cluster.url, prefix=cluster.prefix)
    try:
        return list((await port.search(user.id, SearchQuery(text))).hits)
    finally:
        await port.close()


def stored_position(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT position FROM read_model.positions WHERE projector = 'opensearch'"
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.asynccontextmanager
async def projector(
    opensearch_url: str, database_url: str, nats_url: str, prefix: str
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    sink = OpenSearchSink(opensearch_url, database_url, prefix=prefix)
    consumer = StreamConsumer(sink, nats_url, fetch_timeout=0.2)
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def reach(database_url: str, position: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while stored_position(database_url) < position:
        assert time.monotonic() < deadline, f"position {position} not reached"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def forwarder(port: int, target_port: int) -> AsyncIterator[None]:
    """Listens on ``port`` and relays every connection to the node."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", target_port
        )

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer)
        )

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    async with server:
        yield


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_url, "test-publisher")
    yield client.jetstream()
    await client.close()


async def test_the_projector_follows_the_stream_and_stores_its_position(
    cluster: Cluster, database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    create_read_models(database_url)
    log, ada, document_id = library()
    await publish(js, log.envelopes)

    async with projector(cluster.url, database_url, nats_url, cluster.prefix):
        await reach(database_url, log.position)

    assert [hit.document_id for hit in await search(cluster, ada, "fox")] == [
        document_id
    ]


async def test_an_unreachable_opensearch_holds_the_position_until_it_answers(
    cluster: Cluster, database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    create_read_models(database_url)
    log, ada, document_id = library()
    await publish(js, log.envelopes)
    port = free_port()
    node_port = int(cluster.url.rsplit(":", 1)[1])

    async with projector(
        f"http://127.0.0.1:{port}", database_url, nats_url, cluster.prefix
    ):
        await asyncio.sleep(1.5)
        held = stored_position(database_url)
        async with forwarder(port, node_port):
            await reach(database_url, log.position)

    assert held == 0
    assert [hit.document_id for hit in await search(cluster, ada, "fox")] == [
        document_id
    ]


async def test_a_rebuild_swaps_aliases_and_drops_old_indices_while_searches_go_on(
    cluster: Cluster, database_url: str
) -> None:
    create_read_models(database_url)
    log, ada, document_id = library()
    await cluster.projection().apply(log.envelopes)
    before = set(await cluster.client.indices.get_alias(name=cluster.indices.documents))
    log.add("Document.Renamed", document_id, {"title": "Rebuilt invoice"})
    answers: list[int] = []
    done = asyncio.Event()

    async def keep_searching() -> None:
        while not done.is_set():
            answers.append(len(await search(cluster, ada, "fox")))

    searching = asyncio.create_task(keep_searching())
    count = await rebuild_opensearch(
        cluster.url, log.envelopes, database_url=database_url, prefix=cluster.prefix
    )
    done.set()
    await searching

    after = set(await cluster.client.indices.get_alias(name=cluster.indices.documents))
    assert count == log.position
    assert after.isdisjoint(before)
    assert not await cluster.client.indices.exists(index=",".join(before))
    assert answers
    assert set(answers) == {1}
    assert [hit.title for hit in await search(cluster, ada, "fox")] == [
        "Rebuilt invoice"
    ]
    assert stored_position(database_url) == log.position


def test_paperledger_rebuild_also_rebuilds_the_opensearch_index(
    opensearch_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    ledger = Paperledger(env=eventsourcing_env(database_url))
    try:
        user = ledger.user(ledger.register_user("ada").id)
    finally:
        ledger.close()
    for name, value in {
        "DATABASE_URL": database_url,
        "OPENSEARCH_URL": opensearch_url,
        "OPENSEARCH_PREFIX": prefix,
    }.items():
        monkeypatch.setenv(f"PAPERLEDGER_{name}", value)
    get_settings.cache_clear()

    try:
        status = cli.main(["rebuild"])
    finally:
        get_settings.cache_clear()

    folders = asyncio.run(_folder_ids(opensearch_url, prefix))
    assert status == 0
    assert folders == {str(user.home_folder_id), str(user.inbox_folder_id)}
    assert stored_position(database_url) > 0


async def _folder_ids(url: str, prefix: str) -> set[str]:
    client = open_client(url, 30.0)
    try:
        answer = await client.search(index=f"{prefix}-folders", body={"size": 10})
        await client.indices.delete(index=f"{prefix}-*")
    finally:
        await client.close()
    return {hit["_id"] for hit in answer["hits"]["hits"]}
