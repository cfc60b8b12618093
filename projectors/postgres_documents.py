"""Document read models: folded per batch in memory, written in a few statements.

Each table gets one statement per batch whose rows travel as one JSON parameter,
so a batch costs the same few round trips whatever its size, and they pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row

from projectors.document_view import DocumentView, OriginalView, PageView, evolve
from projectors.text import clean, clean_json, text_search_config, vocabulary_words
from schemas.events import EventEnvelope


class HeldDocuments:
    """Every document of a rebuild, held in memory without pages and written last.

    A rebuild writes each document once, after its last event, instead of once
    per chunk that changes it.
    """

    def __init__(self) -> None:
        self.views: dict[UUID, DocumentView] = {}
        self._repaged: set[UUID] = set()

    def keep(self, changed: list[DocumentView], repaged: set[UUID]) -> None:
        """Holds the documents a chunk changed; their pages are written already."""
        for view in changed:
            self.views[view.id] = view.model_copy(update={"pages": ()})
        self._repaged |= repaged

    def write(self, conn: Connection[Any], chunk: int = 5000) -> None:
        """Writes every held document; run it after the last chunk's pages."""
        views = list(self.views.values())
        for start in range(0, len(views), chunk):
            rows = [
                _row(v, v.id in self._repaged) for v in views[start : start + chunk]
            ]
            conn.execute(_MERGE_DOCUMENTS, (_json(rows),))


class DocumentBatch:
    """Folds the document events of one batch and writes each document once.

    Documents are read from the tables, or, in a rebuild, from ``held``, which
    then also takes the changed documents instead of the tables. Pages are read
    only for documents an OCR outcome of this batch may change.
    """

    def __init__(
        self,
        conn: Connection[Any],
        batch: list[EventEnvelope],
        held: HeldDocuments | None = None,
    ) -> None:
        self._conn = conn
        self._held = held
        ids = {e.aggregate_id for e in batch if e.type.startswith("Document.")}
        paged = {e.aggregate_id for e in batch if e.type in _PAGE_EVENTS}
        loaded, pages = _load_views(conn, ids if held is None else set(), paged)
        if held is not None:
            loaded = {i: held.views[i] for i in ids if i in held.views}
        self._before = loaded
        for document_id, document_pages in pages.items():
            if view := self._before.get(document_id):
                self._before[document_id] = view.model_copy(
                    update={"pages": document_pages}
                )
        self._views = dict(self._before)
        self._history: list[dict[str, Any]] = []

    def apply(self, envelope: EventEnvelope) -> None:
        """Folds one document event into the batch, or raises why it cannot."""
        view = self._views.get(envelope.aggregate_id)
        self._views[envelope.aggregate_id] = evolve(view, envelope)
        self._history.append(_history_row(envelope))

    def changed(self) -> list[DocumentView]:
        """Returns the documents this batch changed, as they now stand."""
        return [v for k, v in self._views.items() if self._before.get(k) != v]

    def write(self) -> None:
        """Writes history rows, replaced pages, new words and changed documents.

        Changed documents go to ``held`` instead, where the batch has one.
        """
        changed = self.changed()
        repaged = [v for v in changed if _pages_changed(self._before.get(v.id), v)]
        if not (self._history or changed):
            return
        repaged_ids = {v.id for v in repaged}
        execute = self._conn.execute
        history = _json(self._history)
        if "\\u0000" in history:
            history = _json(
                [{**row, "data": clean_json(row["data"])} for row in self._history]
            )
        execute(_MERGE_HISTORY, (history,))
        if repaged:
            execute(_DELETE_PAGES, (list(repaged_ids),))
            pages = [_page_row(v, page) for v in repaged for page in v.pages]
            execute(_MERGE_PAGES, (_json(pages),))
        if self._held is not None:
            self._held.keep(changed, repaged_ids)
        else:
            # Documents come after their pages: the body vector is the pages'.
            documents = [_row(v, v.id in repaged_ids) for v in changed]
            execute(_MERGE_DOCUMENTS, (_json(documents),))
        words = [{"owner_id": o, "word": w} for o, w in _words(changed, repaged)]
        execute(_MERGE_WORDS, (_json(words),))


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=str, separators=(",", ":"))


def _pages_changed(before: DocumentView | None, after: DocumentView) -> bool:
    if before is None:
        return bool(after.pages)
    return (before.pages, before.lang) != (after.pages, after.lang)


def _history_row(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "document_id": envelope.aggregate_id,
        "version": envelope.version,
        "position": envelope.position,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "timestamp": envelope.timestamp,
        "actor": envelope.actor,
        "data": envelope.data,
    }


def _words(
    changed: list[DocumentView], repaged: list[DocumentView]
) -> Iterable[tuple[Any, ...]]:
    """Returns the (owner, word) pairs of the titles, tags and new pages."""
    texts: dict[UUID, list[str]] = {}
    for view in changed:
        texts.setdefault(view.owner_id, []).extend((view.title, *view.tags))
    for view in repaged:
        texts[view.owner_id].extend(page.text for page in view.pages)
    return (
        (owner, word)
        for owner, owner_texts in texts.items()
        for word in vocabulary_words(map(clean, owner_texts))
    )


def _row(view: DocumentView, repaged: bool) -> dict[str, Any]:
    return {
        "id": view.id,
        "owner_id": view.owner_id,
        "title": clean(view.title),
        "folder_id": view.folder_id,
        "tags": [clean(tag) for tag in view.tags],
        "lang": view.lang,
        "ocr_status": view.ocr_status,
        "ocr_reason": view.ocr_reason,
        "page_count": view.page_count,
        "original_sha256": view.original.sha256,
        "original_filename": clean(view.original.filename),
        "content_type": view.original.content_type,
        "size": view.original.size,
        "pdf_sha256": view.pdf_sha256,
        "archive_sha256": view.archive_sha256,
        "trashed": view.trashed,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "version": view.version,
        "config": text_search_config(view.lang),
        "repaged": repaged,
    }


def _page_row(view: DocumentView, page: PageView) -> dict[str, Any]:
    return {
        "document_id": view.id,
        "number": page.number,
        "text": clean(page.text),
        "config": text_search_config(view.lang),
    }


def _load_views(
    conn: Connection[Any], ids: set[UUID], paged: set[UUID]
) -> tuple[dict[UUID, DocumentView], dict[UUID, tuple[PageView, ...]]]:
    """Returns the stored views of ``ids``, without pages, and the pages of ``paged``.

    Both queries are sent before either is read, so in a pipeline they share a
    round trip.
    """
    documents = conn.cursor(row_factory=dict_row)
    if ids:
        documents.execute(_SELECT_DOCUMENTS, (list(ids),))
    pages = conn.cursor(row_factory=dict_row)
    if paged:
        pages.execute(_SELECT_PAGES, (list(paged),))
    views = {row["id"]: view_of_row(row, ()) for row in documents} if ids else {}
    found: dict[UUID, list[PageView]] = {}
    for row in pages if paged else ():
        found.setdefault(row["document_id"], []).append(
            PageView(number=row["number"], text=row["text"])
        )
    return views, {k: tuple(v) for k, v in found.items()}


def view_of_row(row: dict[str, Any], pages: Sequence[PageView]) -> DocumentView:
    """Returns the document view a ``read_model.documents`` row and its pages hold."""
    original = OriginalView(
        sha256=row.pop("original_sha256"),
        filename=row.pop("original_filename"),
        content_type=row.pop("content_type"),
        size=row.pop("size"),
    )
    row["tags"] = tuple(row["tags"])
    return DocumentView(**row, pages=tuple(pages), original=original)


_PAGE_EVENTS = frozenset({"Document.OcrCompleted", "Document.OcrFailed"})
_DOCUMENT_COLUMNS = (
    "id",
    "owner_id",
    "title",
    "folder_id",
    "tags",
    "lang",
    "ocr_status",
    "ocr_reason",
    "page_count",
    "original_sha256",
    "original_filename",
    "content_type",
    "size",
    "pdf_sha256",
    "archive_sha256",
    "trashed",
    "created_at",
    "updated_at",
    "version",
)
_DOCUMENT_TYPES = (
    "uuid",
    "uuid",
    "text",
    "uuid",
    "text[]",
    "text",
    "text",
    "text",
    "integer",
    "text",
    "text",
    "text",
    "bigint",
    "text",
    "text",
    "boolean",
    "timestamptz",
    "timestamptz",
    "integer",
)
_SELECT_DOCUMENTS = (
    f"SELECT {', '.join(_DOCUMENT_COLUMNS)} FROM read_model.documents"
    " WHERE id = ANY(%s)"
)
_SELECT_PAGES = (
    "SELECT document_id, number, text FROM read_model.pages"
    " WHERE document_id = ANY(%s) ORDER BY document_id, number"
)
# The data is taken as json and cast: quicker than json_to_recordset making jsonb.
_MERGE_HISTORY = """
INSERT INTO read_model.document_events
    (document_id, version, position, type, schema_version, timestamp, actor, data)
SELECT document_id, version, position, type, schema_version, timestamp, actor,
    data::jsonb
FROM json_to_recordset(%s::json) AS h(document_id uuid, version integer,
    position bigint, type text, schema_version integer, timestamp timestamptz,
    actor text, data json)
ON CONFLICT DO NOTHING
"""
_DOCUMENT_RECORD = ", ".join(
    f"{name} {kind}"
    for name, kind in zip(_DOCUMENT_COLUMNS, _DOCUMENT_TYPES, strict=True)
)
# A document whose pages did not change keeps its body vector: the new one is NULL.
_MERGE_DOCUMENTS = f"""
INSERT INTO read_model.documents ({", ".join(_DOCUMENT_COLUMNS)},
    search_config, search_vector, body_vector, match_vector)
SELECT {", ".join(_DOCUMENT_COLUMNS)}, config, v.meta, v.body,
    v.meta || coalesce(v.body, '')
FROM json_to_recordset(%s::json)
    AS s({_DOCUMENT_RECORD}, config regconfig, repaged boolean),
LATERAL (
    SELECT setweight(to_tsvector(config, title), 'A')
        || setweight(to_tsvector(config, array_to_string(tags, ' ')), 'B') AS meta,
        CASE WHEN s.repaged THEN read_model.body_vector(s.id) END AS body
) AS v
ON CONFLICT (id) DO UPDATE SET {
    ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in (*_DOCUMENT_COLUMNS[1:], "search_config", "search_vector")
    )
},
    body_vector = coalesce(EXCLUDED.body_vector, documents.body_vector),
    match_vector = EXCLUDED.search_vector
        || coalesce(EXCLUDED.body_vector, documents.body_vector, '')
"""
_DELETE_PAGES = "DELETE FROM read_model.pages WHERE document_id = ANY(%s)"
_MERGE_PAGES = """
INSERT INTO read_model.pages (document_id, number, text, search_vector)
SELECT document_id, number, text, to_tsvector(config, text)
FROM json_to_recordset(%s::json)
    AS p(document_id uuid, number integer, text text, config regconfig)
"""
_MERGE_WORDS = """
INSERT INTO read_model.vocabulary (owner_id, word)
SELECT owner_id, word FROM json_to_recordset(%s::json) AS w(owner_id uuid, word text)
ON CONFLICT DO NOTHING
"""
