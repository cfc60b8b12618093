"""Applies events to the PostgreSQL read-model tables in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from psycopg import Connection
from pydantic import ValidationError

from projectors.errors import ProjectionError
from projectors.postgres_documents import DocumentBatch
from projectors.records import log_event
from projectors.text import clean, text_search_config
from schemas import events as ev
from schemas.events import EventEnvelope, UnknownEventError, validate_event

logger = logging.getLogger(__name__)


def project(
    conn: Connection[Any],
    envelopes: Iterable[EventEnvelope],
    documents: DocumentBatch | None = None,
) -> int:
    """Applies envelopes in order and returns how many changed the read models.

    ``documents`` is the batch's documents as already read, if the caller has
    them; otherwise they are read here.
    """
    batch = list(envelopes)
    documents = documents or DocumentBatch(conn, batch)
    applied = 0
    for envelope in batch:
        try:
            _apply(conn, documents, envelope)
        except UnknownEventError:
            log_event(logger, logging.WARNING, "skipped an unknown event", envelope)
        except (ValidationError, ProjectionError) as e:
            log_event(logger, logging.ERROR, "skipped an invalid event", envelope, e)
        else:
            applied += 1
    documents.write()
    return applied


def _apply(
    conn: Connection[Any], documents: DocumentBatch, envelope: EventEnvelope
) -> None:
    if envelope.type.startswith("Document."):
        documents.apply(envelope)
        return
    data = validate_event(envelope)
    match data:
        case ev.UserRegistered():
            _register_user(conn, envelope, data)
        case ev.UserTokenIssued():
            _issue_token(conn, envelope, data)
        case ev.UserTokenRevoked(token_id=token_id):
            conn.execute(
                "UPDATE read_model.api_tokens SET revoked = true"
                " WHERE token_id = %s AND user_id = %s",
                (token_id, envelope.aggregate_id),
            )
        case ev.FolderCreated():
            _create_folder(conn, envelope, data)
        case _:
            raise ProjectionError(f"{envelope.type} has no read model")


def _register_user(
    conn: Connection[Any], envelope: EventEnvelope, data: ev.UserRegistered
) -> None:
    conn.execute(
        "INSERT INTO read_model.users"
        " (id, name, home_folder_id, inbox_folder_id, created_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            envelope.aggregate_id,
            clean(data.name),
            data.home_folder_id,
            data.inbox_folder_id,
            envelope.timestamp,
        ),
    )


def _issue_token(
    conn: Connection[Any], envelope: EventEnvelope, data: ev.UserTokenIssued
) -> None:
    conn.execute(
        "INSERT INTO read_model.api_tokens"
        " (token_hash, token_id, user_id, label, created_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            data.token_hash,
            data.token_id,
            envelope.aggregate_id,
            clean(data.label),
            envelope.timestamp,
        ),
    )


def _create_folder(
    conn: Connection[Any], envelope: EventEnvelope, data: ev.FolderCreated
) -> None:
    if envelope.owner_id is None:
        raise ProjectionError("Folder.Created without an owner")
    conn.execute(
        "INSERT INTO read_model.folders"
        " (id, owner_id, title, parent_id, created_at, updated_at, version)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            envelope.aggregate_id,
            envelope.owner_id,
            clean(data.title),
            data.parent_id,
            envelope.timestamp,
            envelope.timestamp,
            envelope.version,
        ),
    )


__all__ = ["project", "text_search_config"]
