"""Rebuilds the PostgreSQL read models from scratch out of a stream of events."""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import Connection, sql

from infra.postgres import read_model_schema
from projectors.positions import lock_projection, record_position
from projectors.postgres import project
from projectors.postgres_documents import DocumentBatch, HeldDocuments
from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

CHUNK = 5000
# Index builds after the load sort in memory up to this much per index.
INDEX_MEMORY = "256MB"
# The history takes most rows of a load and no statement of it needs its keys.
_KEYLESS_DURING_LOAD = "read_model.document_events"
_KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %s::regclass AND contype IN ('p', 'u')
"""
# Indexes that back no constraint, which the load need not keep up to date.
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'read_model'::regnamespace
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def rebuild(database_url: str, envelopes: Iterable[EventEnvelope]) -> int:
    """Replaces the read models with the projection of ``envelopes``; returns the count.

    Everything happens in one transaction, so readers see the old read models until
    the new ones are complete. Documents are held in memory and each is written
    once, at the end; the history's keys and the indexes that back no constraint
    are built after the load.
    """
    started = time.monotonic()
    count = 0
    last = 0
    with psycopg.connect(database_url) as conn, conn.transaction():
        lock_projection(conn)
        conn.execute("DROP SCHEMA IF EXISTS read_model CASCADE")
        conn.execute(read_model_schema().encode())
        indexes = _drop_secondary_indexes(conn)
        keys = _drop_keys(conn, _KEYLESS_DURING_LOAD)
        held = HeldDocuments()
        for chunk in _read_ahead(envelopes):
            with conn.pipeline():
                project(conn, chunk, DocumentBatch(conn, chunk, held))
            count += len(chunk)
            last = max(last, *(e.position for e in chunk))
        held.write(conn)
        record_position(conn, last)
        conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        for name, definition in keys:
            conn.execute(
                f"ALTER TABLE {_KEYLESS_DURING_LOAD} ADD CONSTRAINT {name} {definition}"
            )
        for definition in indexes:
            conn.execute(definition)
    # Fresh tables have no statistics for the planner and no visibility map for
    # index-only scans until autovacuum comes by; give them both now.
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'read_model'"
        ).fetchall()
        conn.execute(
            sql.SQL("VACUUM (ANALYZE) {}").format(
                sql.SQL(", ").join(
                    sql.Identifier("read_model", name) for (name,) in tables
                )
            )
        )
    seconds = time.monotonic() - started
    logger.info("rebuilt the read models from %s events in %.1f s", count, seconds)
    return count


def _drop_secondary_indexes(conn: Connection[Any]) -> list[str]:
    """Drops the indexes that back no constraint; returns how to create them again."""
    indexes = conn.execute(_SECONDARY_INDEXES).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    return [str(definition) for _, definition in indexes]


def _drop_keys(conn: Connection[Any], table: str) -> list[tuple[str, str]]:
    """Drops a table's primary and unique keys; returns their names and definitions.

    Put back after the load, they are built once, and a duplicate fails the rebuild.
    """
    keys = [(str(n), str(d)) for n, d in conn.execute(_KEYS, (table,)).fetchall()]
    for name, _ in keys:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    return keys


def _read_ahead(envelopes: Iterable[EventEnvelope]) -> Iterator[list[EventEnvelope]]:
    """Yields chunks of ``envelopes`` while a thread reads the next one.

    Reading the event store and decoding its events overlaps with the database
    applying the chunk before.
    """
    chunks: queue.Queue[list[EventEnvelope] | Exception | None] = queue.Queue(2)
    stop = threading.Event()

    def read() -> None:
        try:
            iterator = iter(envelopes)
            while not stop.is_set() and (
                chunk := list(itertools.islice(iterator, CHUNK))
            ):
                chunks.put(chunk)
            chunks.put(None)
        except Exception as e:  # raised again where the chunks are read
            chunks.put(e)

    reader = threading.Thread(target=read, name="rebuild-reader", daemon=True)
    reader.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        reader.join()
