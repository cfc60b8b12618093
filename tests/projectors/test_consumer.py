from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from nats.js import JetStreamContext

from infra.nats import connect
from infra.postgres import create_read_models
from projectors.consumer import PENDING_BYTES, PostgresProjector
from projectors.positions import project_batch
from projectors.rebuild import rebuild
from schemas.subjects import ALL_EVENTS
from tests.projectors.conftest import dump
from tests.projectors.events import EventLog, publish

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_url, "test-publisher")
    yield client.jetstream()
    await client.close()


def busy_history(users: int = 4, documents: int = 40) -> EventLog:
    """Returns a history with users, folders and documents in every state."""
    log = EventLog()
    for u in range(users):
        user = log.register(f"user{u}")
        folder_id = log.folder(user, "Taxes", user.home_folder_id)
        for d in range(documents):
            document_id = log.upload(user, f"Doc {d}", folder_id=folder_id)
            log.add("Document.Tagged", document_id, {"tag": f"t{d % 3}"})
            log.ocr(document_id, f"page one of {d}", "page two")
            if d % 4 == 0:
                log.add("Document.Renamed", document_id, {"title": f"Renamed {d}"})
    return log


def document_events(log: EventLog) -> int:
    return sum(e.type.startswith("Document.") for e in log.envelopes)


def position_of(database_url: str) -> int:
    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT position FROM read_model.positions WHERE projector = 'postgres'"
            ).fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


async def reach(database_url: str, position: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while position_of(database_url) < position:
        assert time.monotonic() < deadline, f"position {position} not reached"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(
    database_url: str, nats_url: str, pending_bytes: int = PENDING_BYTES
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    projector = PostgresProjector(
        database_url, nats_url, fetch_timeout=0.2, pending_bytes=pending_bytes
    )
    task = asyncio.create_task(projector.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_the_projector_follows_the_stream(
    database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    create_read_models(database_url)
    log = busy_history(users=2, documents=5)
    await publish(js, log.envelopes)

    async with running(database_url, nats_url):
        await reach(database_url, log.position)

    expected = dump(database_url)
    assert len(expected["documents"]) == 10
    assert len(expected["document_events"]) == document_events(log)


async def test_messages_the_client_drops_are_read_again_and_none_is_lost(
    database_url: str,
    nats_url: str,
    js: JetStreamContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_read_models(database_url)
    log = busy_history(users=2, documents=60)
    await publish(js, log.envelopes)

    # The client holds a few messages at most, so it drops most of a burst.
    async with running(database_url, nats_url, pending_bytes=16 * 1024):
        await reach(database_url, log.position, within=60.0)

    dropped = [r for r in caplog.records if "dropped by the client" in r.getMessage()]
    assert dropped
    assert len(dump(database_url)["documents"]) == 120
    assert len(dump(database_url)["document_events"]) == document_events(log)


async def test_a_malformed_message_is_skipped_and_the_loop_goes_on(
    database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    create_read_models(database_url)
    log = EventLog()
    user = log.register("ada")
    await publish(js, log.envelopes)
    await js.publish(f"{ALL_EVENTS[:-1]}Document.Uploaded", b"{not json")
    await js.publish(f"{ALL_EVENTS[:-1]}Document.Uploaded", b'{"position": 0}')
    log.upload(user, "After the garbage")
    await publish(js, log.envelopes[-1:])

    async with running(database_url, nats_url):
        await reach(database_url, log.position)

    with psycopg.connect(database_url) as conn:
        titles = conn.execute("SELECT title FROM read_model.documents").fetchall()
    assert titles == [("After the garbage",)]


async def test_the_projector_waits_for_postgresql_and_loses_nothing(
    other_database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    missing = other_database_url + "_not_yet"
    log = busy_history(users=1, documents=3)
    await publish(js, log.envelopes)

    async with running(missing, nats_url):
        await asyncio.sleep(1.0)
        with psycopg.connect(other_database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{missing.rsplit("/", 1)[1]}"')
        create_read_models(missing)
        await reach(missing, log.position)

    assert len(dump(missing)["document_events"]) == document_events(log)


def test_rebuild_replaces_the_read_models_with_the_projection_of_the_events(
    database_url: str, other_database_url: str
) -> None:
    log = busy_history(users=2, documents=5)
    create_read_models(other_database_url)
    rebuild(other_database_url, busy_history(users=1, documents=2).envelopes)

    count = rebuild(other_database_url, log.envelopes)
    create_read_models(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_batch(conn, log.envelopes)

    assert count == log.position
    assert dump(other_database_url) == dump(database_url)


def test_a_rebuild_leaves_every_read_model_table_analysed_and_vacuumed(
    other_database_url: str,
) -> None:
    create_read_models(other_database_url)

    rebuild(other_database_url, busy_history(users=1, documents=3).envelopes)

    with psycopg.connect(other_database_url, autocommit=True) as conn:
        untouched = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'read_model'"
            " AND (last_vacuum IS NULL OR last_analyze IS NULL)"
        ).fetchall()
    assert untouched == []


def test_a_rebuild_in_many_chunks_equals_the_live_projection_in_batches(
    database_url: str, other_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = busy_history(users=2, documents=6)
    for n, envelope in enumerate(list(log.envelopes)):
        if envelope.type == "Document.OcrCompleted" and n % 3 == 1:
            log.ocr(envelope.aggregate_id, "read again", "and again")
        elif envelope.type == "Document.OcrCompleted" and n % 3 == 2:
            failed = {"pdf_sha256": log.pdf_of(envelope.aggregate_id), "reason": "x"}
            log.add("Document.OcrFailed", envelope.aggregate_id, failed, actor="ocr")
    monkeypatch.setattr("projectors.rebuild.CHUNK", 7)

    rebuild(other_database_url, log.envelopes)
    create_read_models(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for start in range(0, len(log.envelopes), 5):
            project_batch(conn, log.envelopes[start : start + 5])

    assert dump(other_database_url) == dump(database_url)


async def test_a_projector_killed_mid_stream_converges_to_a_rebuild(
    database_url: str, other_database_url: str, nats_url: str, js: JetStreamContext
) -> None:
    log = busy_history(users=4, documents=50)
    half = len(log.envelopes) // 2
    await publish(js, log.envelopes[:half])

    first = start_projector(database_url, nats_url)
    await reach(database_url, 1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = position_of(database_url)
    await publish(js, log.envelopes[half:])
    second = start_projector(database_url, nats_url)
    try:
        await reach(database_url, log.position, within=30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0

    rebuild(other_database_url, log.envelopes)
    assert killed_at < log.position
    assert dump(database_url) == dump(other_database_url)


def start_projector(database_url: str, nats_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PAPERLEDGER_DATABASE_URL": database_url,
        "PAPERLEDGER_NATS_URL": nats_url,
    }
    return subprocess.Popen([sys.executable, "-m", "projectors"], cwd=ROOT, env=env)
