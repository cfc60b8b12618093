"""The OpenSearch indices of Paperledger: names, mappings and document bodies.

Three aliases, each over one concrete index, so a rebuild can swap them all at
once: ``<prefix>-documents`` holds one searchable document per live Paperledger
document, its page texts twice: as one ``body`` field that finds and ranks
documents, and as nested pages that say which pages of a hit match and give
their highlights. ``<prefix>-trash`` keeps the views of trashed
documents (stored, not searchable) so a restore has them back, and
``<prefix>-folders`` holds each folder's ancestry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import RequestError

from projectors.document_view import DocumentView, PageView

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "paperledger"
# Each document's text is analysed in its OCR language only; a query is read
# with every analyser, each against the field of its own language.
ANALYSERS: dict[str, str] = {"eng": "english", "deu": "german"}
FALLBACK_ANALYSER = "simple"
ALL_ANALYSERS = (*dict.fromkeys(ANALYSERS.values()), FALLBACK_ANALYSER)
# Words as written, lowercased: for prefixes and typo tolerance, which must not
# see stems. The fallback field is analysed this way already.
WORDS_ANALYSER = "words"
WORDS = "words"
# A hit lists its matching pages; OpenSearch caps inner hits at this window.
MAX_PAGES_LISTED = 1000


@dataclass(frozen=True)
class Indices:
    """The names of the three indices; aliases, or concrete indices in a rebuild."""

    documents: str
    trash: str
    folders: str

    @classmethod
    def aliases(cls, prefix: str = DEFAULT_PREFIX) -> Indices:
        """Returns the aliases that searches and the live projector use."""
        return cls(f"{prefix}-documents", f"{prefix}-trash", f"{prefix}-folders")

    def concrete(self, stamp: str) -> Indices:
        """Returns new concrete index names behind these aliases."""
        return Indices(
            f"{self.documents}-{stamp}",
            f"{self.trash}-{stamp}",
            f"{self.folders}-{stamp}",
        )

    def pairs(self, other: Indices) -> list[tuple[str, str]]:
        """Returns each of these names with the matching name of ``other``."""
        return [
            (self.documents, other.documents),
            (self.trash, other.trash),
            (self.folders, other.folders),
        ]


def new_stamp() -> str:
    """Returns a timestamp that names a generation of indices."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


def analyser_of(lang: str) -> str:
    """Returns the analyser, and field name, for a tesseract language code."""
    return ANALYSERS.get(lang.split("+", 1)[0], FALLBACK_ANALYSER)


def _keyword() -> dict[str, Any]:
    return {"type": "keyword"}


def _stored() -> dict[str, Any]:
    return {"type": "keyword", "index": False, "doc_values": False}


def _languages(*, highlighted: bool = False) -> dict[str, Any]:
    """Returns a text field per analyser; ``highlighted`` ones index offsets.

    With the offsets in the index, a highlight need not analyse the text again.
    """
    options = {"index_options": "offsets"} if highlighted else {}
    words = {"type": "text", "analyzer": WORDS_ANALYSER, **options}
    fields: dict[str, Any] = {
        name: {"type": "text", "analyzer": name, **options, "fields": {WORDS: words}}
        for name in ANALYSERS.values()
    }
    return {"properties": {**fields, FALLBACK_ANALYSER: words}}


def stemmed_fields(path: str, analysers: Sequence[str] = ALL_ANALYSERS) -> list[str]:
    """Returns the fields under ``path`` that match words by their stems."""
    return [f"{path}.{name}" for name in analysers]


def words_fields(path: str, analysers: Sequence[str] = ALL_ANALYSERS) -> list[str]:
    """Returns the fields under ``path`` that match words as written."""
    return [
        f"{path}.{name}.{WORDS}" if name != FALLBACK_ANALYSER else f"{path}.{name}"
        for name in analysers
    ]


_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "auto_expand_replicas": "0-1",
    "max_inner_result_window": MAX_PAGES_LISTED,
    "analysis": {
        "analyzer": {WORDS_ANALYSER: {"tokenizer": "standard", "filter": ["lowercase"]}}
    },
}

DOCUMENTS_BODY: dict[str, Any] = {
    "settings": _SETTINGS,
    "mappings": {
        "dynamic": "strict",
        # The pages keep the text in the source; the body only needs its index.
        "_source": {"excludes": ["body"]},
        "properties": {
            "id": _keyword(),
            "owner_id": _keyword(),
            "folder_id": _keyword(),
            "folder_path": _keyword(),
            "tags": _keyword(),
            "lang": _keyword(),
            "ocr_status": _keyword(),
            "created_at": {"type": "date"},
            "updated_at": {"type": "date", "index": False},
            "version": {"type": "long", "index": False},
            "page_count": {"type": "integer", "index": False},
            "title": _stored(),
            "heading": _languages(),
            # Every page's text, one value each: a phrase does not run from one
            # page into the next, as the position gap between values is wide.
            "body": _languages(),
            "pages": {
                "type": "nested",
                "properties": {
                    "number": {"type": "integer"},
                    **_languages(highlighted=True)["properties"],
                },
            },
            "view": {"type": "object", "enabled": False},
        },
    },
}

TRASH_BODY: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "owner_id": _keyword(),
            "view": {"type": "object", "enabled": False},
        },
    },
}

FOLDERS_BODY: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
    "mappings": {
        "dynamic": "strict",
        "properties": {"owner_id": _keyword(), "path": _keyword()},
    },
}


def bodies(indices: Indices) -> list[tuple[str, dict[str, Any]]]:
    """Returns each index name with the settings and mappings it is created with."""
    return [
        (indices.documents, DOCUMENTS_BODY),
        (indices.trash, TRASH_BODY),
        (indices.folders, FOLDERS_BODY),
    ]


def document_source(view: DocumentView, folder_path: list[str]) -> dict[str, Any]:
    """Returns the searchable body of a live document; the view can be read back."""
    field = analyser_of(view.lang)
    rest = view.model_dump(mode="json", exclude={"pages"})
    return {
        "id": str(view.id),
        "owner_id": str(view.owner_id),
        "folder_id": str(view.folder_id),
        "folder_path": folder_path,
        "tags": list(view.tags),
        "lang": view.lang,
        "ocr_status": view.ocr_status,
        "created_at": rest["created_at"],
        "updated_at": rest["updated_at"],
        "version": view.version,
        "page_count": view.page_count,
        "title": view.title,
        "heading": {field: [view.title, *view.tags]},
        "body": {field: [p.text for p in view.pages]},
        "pages": [{"number": p.number, field: p.text} for p in view.pages],
        "view": {
            k: v
            for k, v in rest.items()
            if k not in {"title", "tags", "lang", "ocr_status", "folder_id"}
        },
    }


def view_of_document(source: dict[str, Any]) -> DocumentView:
    """Returns the view a searchable body was made from."""
    pages = tuple(
        PageView(number=page["number"], text=_page_text(page))
        for page in source.get("pages", ())
    )
    return DocumentView.model_validate(
        {
            **source["view"],
            "title": source["title"],
            "tags": source["tags"],
            "lang": source["lang"],
            "ocr_status": source["ocr_status"],
            "folder_id": source["folder_id"],
            "pages": pages,
        }
    )


def _page_text(page: dict[str, Any]) -> str:
    for name in ALL_ANALYSERS:
        if name in page:
            return str(page[name])
    return ""


def trash_source(view: DocumentView) -> dict[str, Any]:
    """Returns the stored body of a trashed document."""
    return {"owner_id": str(view.owner_id), "view": view.model_dump(mode="json")}


def view_of_trash(source: dict[str, Any]) -> DocumentView:
    """Returns the view of a trashed document."""
    return DocumentView.model_validate(source["view"])


def folder_source(owner_id: UUID, path: list[str]) -> dict[str, Any]:
    """Returns the body of a folder: its owner and its ancestry, itself last."""
    return {"owner_id": str(owner_id), "path": path}


def open_client(url: str, timeout: float) -> AsyncOpenSearch:
    """Returns a client whose requests give up after ``timeout`` s, never retried."""
    return AsyncOpenSearch(
        hosts=[url], timeout=timeout, max_retries=0, retry_on_timeout=False
    )


async def ensure_indices(client: AsyncOpenSearch, aliases: Indices) -> None:
    """Creates the first generation of indices behind any alias that is missing.

    An index that exists but lacks fields of the current mapping gets them.
    """
    first = aliases.concrete("0")
    await asyncio.gather(
        *(
            _ensure_index(client, alias, index, body)
            for (alias, body), (_, index) in zip(
                bodies(aliases), aliases.pairs(first), strict=True
            )
        )
    )


async def _ensure_index(
    client: AsyncOpenSearch, alias: str, index: str, body: dict[str, Any]
) -> None:
    if await client.indices.exists_alias(name=alias):
        await _add_missing_fields(client, alias, body)
        return
    try:
        await client.indices.create(index=index, body={**body, "aliases": {alias: {}}})
    except RequestError as e:
        # Another process created it first.
        if e.error != "resource_already_exists_exception":
            raise
        return
    logger.info("created index %s behind alias %s", index, alias)


async def _add_missing_fields(
    client: AsyncOpenSearch, alias: str, body: dict[str, Any]
) -> None:
    """Adds the fields an older index lacks, so that writes to it go on.

    The documents it already holds have no values in them until the indices are
    rebuilt from the event store, which the warning asks for.
    """
    wanted: dict[str, Any] = body["mappings"]["properties"]
    mappings = await client.indices.get_mapping(index=alias)
    for index, mapping in mappings.items():
        known = mapping["mappings"].get("properties", {})
        missing = [name for name in wanted if name not in known]
        if not missing:
            continue
        properties = {name: wanted[name] for name in missing}
        await client.indices.put_mapping(index=index, body={"properties": properties})
        logger.warning(
            "index %s predates the fields %s and now has them; documents indexed "
            "before are searched without them until `paperledger rebuild` runs",
            index,
            ", ".join(missing),
        )
