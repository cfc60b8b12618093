"""How far the PostgreSQL read models have got, committed with what got them there."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import Connection, Cursor

from projectors.postgres import project
from projectors.postgres_documents import DocumentBatch
from schemas.events import EventEnvelope
from schemas.subjects import event_subject

logger = logging.getLogger(__name__)

PROJECTOR = "postgres"
# Held by a live batch and by a rebuild, so the two never interleave.
PROJECTION_LOCK = 7202
_SELECT_POSITION = (
    "SELECT position FROM read_model.positions WHERE projector = %s FOR UPDATE"
)


def lock_projection(conn: Connection[Any]) -> None:
    """Waits for the projection lock; it is released when the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PROJECTION_LOCK,))


def current_position(conn: Connection[Any], projector: str = PROJECTOR) -> int:
    """Returns the position a projector has reached, locking it until commit."""
    return _position_of(conn.execute(_SELECT_POSITION, (projector,)))


def record_position(
    conn: Connection[Any], position: int, projector: str = PROJECTOR
) -> None:
    """Stores the position; a trigger tells listeners once the transaction commits."""
    conn.execute(
        "INSERT INTO read_model.positions (projector, position) VALUES (%s, %s)"
        " ON CONFLICT (projector) DO UPDATE SET position = EXCLUDED.position",
        (projector, position),
    )


def project_batch(
    conn: Connection[Any], envelopes: Iterable[EventEnvelope], *, isolate: bool = False
) -> int:
    """Applies the envelopes past the stored position, all or none; returns it.

    The statements of a batch go in a pipeline: one round trip reads the position
    and the documents the batch touches, one writes the batch and commits. With
    ``isolate`` each envelope gets its own savepoint instead, so one the database
    rejects is logged and skipped rather than failing the whole batch.
    """
    batch = list(envelopes)
    with contextlib.ExitStack() as stack:
        if not isolate:
            stack.enter_context(conn.pipeline())
        stack.enter_context(conn.transaction())
        lock_projection(conn)
        stored = conn.execute(_SELECT_POSITION, (PROJECTOR,))
        documents = None if isolate else DocumentBatch(conn, batch)
        reached = _position_of(stored)
        fresh = {e.position: e for e in batch if e.position > reached}
        if not fresh:
            return reached
        ordered = [fresh[position] for position in sorted(fresh)]
        if isolate:
            _project_one_by_one(conn, ordered)
        else:
            project(conn, ordered, documents)
        reached = ordered[-1].position
        record_position(conn, reached)
    return reached


def _position_of(cursor: Cursor[Any]) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _project_one_by_one(conn: Connection[Any], envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        try:
            with conn.transaction():
                project(conn, [envelope])
        except psycopg.Error as e:
            logger.error(
                "skipped an event the database rejects: subject %s, position %s,"
                " aggregate %s: %s",
                event_subject(envelope.type),
                envelope.position,
                envelope.aggregate_id,
                e,
            )
