"""Rebuilds the PostgreSQL read models from scratch out of a stream of events."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable

import psycopg

from infra.postgres import read_model_schema
from projectors.positions import lock_projection, record_position
from projectors.postgres import project
from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

CHUNK = 2000


def rebuild(database_url: str, envelopes: Iterable[EventEnvelope]) -> int:
    """Replaces the read models with the projection of ``envelopes``; returns the count.

    Everything happens in one transaction, so readers see the old read models until
    the new ones are complete.
    """
    started = time.monotonic()
    count = 0
    last = 0
    with psycopg.connect(database_url) as conn, conn.transaction():
        lock_projection(conn)
        conn.execute("DROP SCHEMA IF EXISTS read_model CASCADE")
        conn.execute(read_model_schema().encode())
        iterator = iter(envelopes)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            project(conn, chunk)
            count += len(chunk)
            last = max(last, *(e.position for e in chunk))
        record_position(conn, last)
    seconds = time.monotonic() - started
    logger.info("rebuilt the read models from %s events in %.1f s", count, seconds)
    return count
