"""The search port: what every search engine adapter answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class SearchQuery:
    """A full-text query in web-search syntax, with filters and a page."""

    text: str
    tags: tuple[str, ...] = ()
    folder_id: UUID | None = None
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class SearchHit:
    """A document that matches, the pages that match and a marked snippet."""

    document_id: UUID
    title: str
    tags: tuple[str, ...]
    folder_id: UUID
    pages: tuple[int, ...]
    snippet: str
    score: float


@dataclass(frozen=True)
class SearchResults:
    """One page of hits, best first, and how many documents match in all."""

    hits: tuple[SearchHit, ...]
    total: int


class SearchPort(Protocol):
    """Finds a user's documents that are not in the trash by title, tags and text."""

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``."""
        ...


MARK_START = "<mark>"
MARK_END = "</mark>"
