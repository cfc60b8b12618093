"""Applies batches of events to the OpenSearch indices with one bulk request each."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from uuid import UUID

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError
from pydantic import ValidationError

from projectors.document_view import DocumentView, evolve
from projectors.errors import ProjectionError, SinkUnavailableError
from projectors.opensearch_index import (
    Indices,
    document_source,
    folder_source,
    trash_source,
    view_of_document,
    view_of_trash,
)
from projectors.records import log_event
from schemas import events as ev
from schemas.events import EventEnvelope, UnknownEventError, validate_event

logger = logging.getLogger(__name__)

Place = Literal["documents", "trash"]
T = TypeVar("T")
# A bulk item that failed with one of these is retried with the whole batch.
_TRANSIENT = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Stored:
    """A document's view as the indices hold it, and which index holds it."""

    view: DocumentView
    place: Place


class OpenSearchProjection:
    """Folds each batch onto the stored views and writes what changed in one bulk.

    Every write carries the document's version as an external version, so a
    replayed batch or an older event after a newer one cannot regress a document;
    a trashed document leaves the searchable index for the trash index, guarded
    the same way, so a late older event cannot bring it back.
    """

    def __init__(
        self, client: AsyncOpenSearch, indices: Indices, *, refresh: bool = True
    ) -> None:
        self._client = client
        self._indices = indices
        self._refresh = refresh
        # Folders never move, so a folder's ancestry can be kept once seen.
        self._paths: dict[str, list[str]] = {}

    async def apply(self, envelopes: list[EventEnvelope]) -> None:
        """Applies the envelopes in order; raises ``SinkUnavailableError``."""
        actions: list[dict[str, Any]] = []
        for envelope in envelopes:
            if envelope.type == "Folder.Created":
                actions += await self._folder(envelope)
        by_document: dict[UUID, list[EventEnvelope]] = {}
        for envelope in envelopes:
            if envelope.type.startswith("Document."):
                by_document.setdefault(envelope.aggregate_id, []).append(envelope)
        stored = await self._load(by_document)
        changed = [
            (view, stored.get(document_id))
            for document_id, events in by_document.items()
            if (view := _fold(stored.get(document_id), events)) is not None
        ]
        await self._resolve_paths({str(view.folder_id) for view, _ in changed})
        for view, before in changed:
            actions += self._write(view, before)
        if actions:
            await self._bulk(actions)

    async def _folder(self, envelope: EventEnvelope) -> list[dict[str, Any]]:
        try:
            data = validate_event(envelope)
        except (UnknownEventError, ValidationError) as e:
            log_event(logger, logging.ERROR, "skipped an invalid event", envelope, e)
            return []
        assert isinstance(data, ev.FolderCreated)
        if envelope.owner_id is None:
            log_event(
                logger, logging.ERROR, "skipped a folder without an owner", envelope
            )
            return []
        parent: list[str] = []
        if data.parent_id is not None:
            await self._resolve_paths({str(data.parent_id)})
            parent = self._paths[str(data.parent_id)]
        folder_id = str(envelope.aggregate_id)
        self._paths[folder_id] = [*parent, folder_id]
        source = folder_source(envelope.owner_id, self._paths[folder_id])
        return _index(self._indices.folders, folder_id, envelope.version, source)

    async def _load(self, ids: Iterable[UUID]) -> dict[UUID, Stored]:
        """Returns the stored views of the documents, wherever they are."""
        wanted = [str(i) for i in ids]
        if not wanted:
            return {}
        body = {
            "docs": [
                {"_index": index, "_id": i}
                for index in (self._indices.documents, self._indices.trash)
                for i in wanted
            ]
        }
        found = await _call(self._client.mget(body=body))
        stored: dict[UUID, Stored] = {}
        for n, doc in enumerate(found["docs"]):
            place: Place = "documents" if n < len(wanted) else "trash"
            if not doc.get("found"):
                continue
            source = doc["_source"]
            view = (
                view_of_trash(source) if place == "trash" else view_of_document(source)
            )
            known = stored.get(view.id)
            if known is None or known.view.version < view.version:
                stored[view.id] = Stored(view, place)
        return stored

    async def _resolve_paths(self, folder_ids: set[str]) -> None:
        """Fills in the ancestry of folders not seen yet from the folders index."""
        missing = [i for i in folder_ids if i not in self._paths]
        if not missing:
            return
        body = {"ids": missing}
        found = await _call(self._client.mget(body=body, index=self._indices.folders))
        for doc in found["docs"]:
            if doc.get("found"):
                self._paths[doc["_id"]] = list(doc["_source"]["path"])
        for folder_id in missing:
            if folder_id not in self._paths:
                logger.warning(
                    "folder %s is unknown; indexed without ancestry", folder_id
                )
                self._paths[folder_id] = [folder_id]

    def _write(self, view: DocumentView, before: Stored | None) -> list[dict[str, Any]]:
        document_id, version = str(view.id), view.version
        if view.trashed:
            actions = _index(
                self._indices.trash, document_id, version, trash_source(view)
            )
            if before is not None and before.place == "documents":
                actions += _delete(self._indices.documents, document_id, version)
            return actions
        source = document_source(view, self._paths[str(view.folder_id)])
        actions = _index(self._indices.documents, document_id, version, source)
        if before is not None and before.place == "trash":
            actions += _delete(self._indices.trash, document_id, version)
        return actions

    async def _bulk(self, actions: list[dict[str, Any]]) -> None:
        answer = await _call(self._client.bulk(body=actions, refresh=self._refresh))
        if not answer.get("errors"):
            return
        for item in answer["items"]:
            ((operation, result),) = item.items()
            status = int(result.get("status", 0))
            if status in _TRANSIENT:
                raise SinkUnavailableError(f"OpenSearch answered {status} to a write")
            if status >= 400 and status not in (404, 409):
                # 409 is the version guard at work; anything else is a bad document.
                logger.error(
                    "OpenSearch rejected %s of %s in %s: %s",
                    operation,
                    result.get("_id"),
                    result.get("_index"),
                    result.get("error"),
                )


def _fold(stored: Stored | None, events: list[EventEnvelope]) -> DocumentView | None:
    """Returns the document after its events, or None if nothing changed."""
    before = stored.view if stored else None
    view = before
    for envelope in events:
        try:
            view = evolve(view, envelope)
        except UnknownEventError:
            log_event(logger, logging.WARNING, "skipped an unknown event", envelope)
        except (ValidationError, ProjectionError) as e:
            log_event(logger, logging.ERROR, "skipped an invalid event", envelope, e)
    return None if view is None or view == before else view


def _index(
    index: str, document_id: str, version: int, source: dict[str, Any]
) -> list[dict[str, Any]]:
    meta = {"_index": index, "_id": document_id, "version": version}
    return [{"index": {**meta, "version_type": "external"}}, source]


def _delete(index: str, document_id: str, version: int) -> list[dict[str, Any]]:
    meta = {"_index": index, "_id": document_id, "version": version}
    return [{"delete": {**meta, "version_type": "external"}}]


async def _call(request: Awaitable[T]) -> T:
    """Awaits a request, turning an unreachable or failing cluster into one error."""
    try:
        return await request
    except TransportConnectionError as e:
        raise SinkUnavailableError(f"OpenSearch is unreachable: {e}") from e
    except TransportError as e:
        raise SinkUnavailableError(f"OpenSearch failed: {e}") from e
