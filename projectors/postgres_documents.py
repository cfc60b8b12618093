"""Document read models: folded per batch in memory, written in bulk with COPY."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from psycopg import Connection, Cursor
from psycopg.rows import dict_row

from projectors.document_view import DocumentView, OriginalView, PageView, evolve
from projectors.text import clean, clean_json, text_search_config, vocabulary_words
from schemas.events import EventEnvelope


class DocumentBatch:
    """Folds the document events of one batch and writes each document once."""

    def __init__(self, conn: Connection[Any], batch: list[EventEnvelope]) -> None:
        self._conn = conn
        ids = {e.aggregate_id for e in batch if e.type.startswith("Document.")}
        self._before = _load_views(conn, ids)
        self._views = dict(self._before)
        self._history: list[tuple[Any, ...]] = []

    def apply(self, envelope: EventEnvelope) -> None:
        """Folds one document event into the batch, or raises why it cannot."""
        view = self._views.get(envelope.aggregate_id)
        self._views[envelope.aggregate_id] = evolve(view, envelope)
        self._history.append(_history_row(envelope))

    def write(self) -> None:
        """Writes history rows, changed documents, replaced pages and new words."""
        changed = [v for k, v in self._views.items() if self._before.get(k) != v]
        repaged = [v for v in changed if _pages_changed(self._before.get(v.id), v)]
        if not (self._history or changed):
            return
        repaged_ids = {v.id for v in repaged}
        cursor = self._conn.cursor()
        cursor.execute(_STAGING)
        _copy(cursor, "staged_history", _HISTORY_COLUMNS, self._history)
        documents = (_row(v, v.id in repaged_ids) for v in changed)
        _copy(cursor, "staged_documents", _STAGED_DOCUMENT_COLUMNS, documents)
        pages = [_page_row(v, page) for v in repaged for page in v.pages]
        _copy(
            cursor, "staged_pages", ("document_id", "number", "text", "config"), pages
        )
        _copy(cursor, "staged_words", ("owner_id", "word"), _words(changed, repaged))
        cursor.execute(_MERGE_HISTORY)
        if repaged:
            cursor.execute(
                "DELETE FROM read_model.pages WHERE document_id = ANY(%s)",
                (list(repaged_ids),),
            )
            cursor.execute(_MERGE_PAGES)
        # Documents come after their pages: the body vector is made of the pages'.
        cursor.execute(_MERGE_DOCUMENTS)
        cursor.execute(_MERGE_WORDS)
        cursor.execute(
            "TRUNCATE staged_history, staged_documents, staged_pages, staged_words"
        )


def _copy(
    cursor: Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _pages_changed(before: DocumentView | None, after: DocumentView) -> bool:
    if before is None:
        return bool(after.pages)
    return (before.pages, before.lang) != (after.pages, after.lang)


def _history_row(envelope: EventEnvelope) -> tuple[Any, ...]:
    data = json.dumps(envelope.data)
    if "\\u0000" in data:
        data = json.dumps(clean_json(envelope.data))
    return (
        envelope.aggregate_id,
        envelope.version,
        envelope.position,
        envelope.type,
        envelope.schema_version,
        envelope.timestamp,
        envelope.actor,
        data,
    )


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


def _row(view: DocumentView, repaged: bool) -> tuple[Any, ...]:
    return (
        view.id,
        view.owner_id,
        clean(view.title),
        view.folder_id,
        [clean(tag) for tag in view.tags],
        view.lang,
        view.ocr_status,
        view.ocr_reason,
        view.page_count,
        view.original.sha256,
        clean(view.original.filename),
        view.original.content_type,
        view.original.size,
        view.pdf_sha256,
        view.archive_sha256,
        view.trashed,
        view.created_at,
        view.updated_at,
        view.version,
        text_search_config(view.lang),
        repaged,
    )


def _page_row(view: DocumentView, page: PageView) -> tuple[Any, ...]:
    return (view.id, page.number, clean(page.text), text_search_config(view.lang))


def _load_views(conn: Connection[Any], ids: set[UUID]) -> dict[UUID, DocumentView]:
    if not ids:
        return {}
    cursor = conn.cursor(row_factory=dict_row)
    pages: dict[UUID, list[PageView]] = {}
    cursor.execute(
        "SELECT document_id, number, text FROM read_model.pages"
        " WHERE document_id = ANY(%s) ORDER BY document_id, number",
        (list(ids),),
    )
    for row in cursor:
        pages.setdefault(row["document_id"], []).append(
            PageView(number=row["number"], text=row["text"])
        )
    cursor.execute(
        f"SELECT {', '.join(_DOCUMENT_COLUMNS)} FROM read_model.documents"
        " WHERE id = ANY(%s)",
        (list(ids),),
    )
    return {row["id"]: view_of_row(row, pages.get(row["id"], [])) for row in cursor}


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


_HISTORY_COLUMNS = (
    "document_id",
    "version",
    "position",
    "type",
    "schema_version",
    "timestamp",
    "actor",
    "data",
)
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
_STAGED_DOCUMENT_COLUMNS = (*_DOCUMENT_COLUMNS, "config", "repaged")
# Staging tables live as long as the connection; each write empties them after use.
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staged_history
    (LIKE read_model.document_events INCLUDING DEFAULTS);
CREATE TEMP TABLE IF NOT EXISTS staged_documents
    (LIKE read_model.documents INCLUDING DEFAULTS);
ALTER TABLE staged_documents ADD COLUMN IF NOT EXISTS config regconfig,
    ADD COLUMN IF NOT EXISTS repaged boolean;
CREATE TEMP TABLE IF NOT EXISTS staged_pages
    (document_id uuid, number integer, text text, config regconfig);
CREATE TEMP TABLE IF NOT EXISTS staged_words (owner_id uuid, word text);
"""
_MERGE_HISTORY = (
    "INSERT INTO read_model.document_events SELECT * FROM staged_history"
    " ON CONFLICT DO NOTHING"
)
# A document whose pages did not change keeps its body vector: the new one is NULL.
_MERGE_DOCUMENTS = f"""
INSERT INTO read_model.documents ({", ".join(_DOCUMENT_COLUMNS)},
    search_config, search_vector, body_vector, match_vector)
SELECT {", ".join(_DOCUMENT_COLUMNS)}, config, v.meta, v.body,
    v.meta || coalesce(v.body, '')
FROM staged_documents s, LATERAL (
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
_MERGE_PAGES = (
    "INSERT INTO read_model.pages (document_id, number, text, search_vector)"
    " SELECT document_id, number, text, to_tsvector(config, text) FROM staged_pages"
)
_MERGE_WORDS = (
    "INSERT INTO read_model.vocabulary (owner_id, word)"
    " SELECT owner_id, word FROM staged_words ON CONFLICT DO NOTHING"
)
