"""The search port: what every search engine adapter answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID


class SearchError(Exception):
    """The root of every error a search raises."""


class SearchUnavailableError(SearchError):
    """Raised when the search engine cannot be reached or does not answer in time."""


SearchOrder = Literal["relevance", "date", "-date"]
OcrStatusFilter = Literal["pending", "completed", "failed"]


@dataclass(frozen=True)
class SearchQuery:
    """A full-text query in the syntax of ``query_api.search_syntax``, with filters.

    ``tags`` must all be on a document; ``folder_id`` takes the folder and every
    folder below it; ``created_from`` is inclusive and ``created_to`` exclusive,
    both on the upload time. ``sort`` is ``relevance`` (best first), ``date``
    (oldest upload first) or ``-date`` (newest first); ties go by document id.
    """

    text: str = ""
    tags: tuple[str, ...] = ()
    folder_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    ocr_status: OcrStatusFilter | None = None
    sort: SearchOrder = "relevance"
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class SearchHit:
    """A document that matches, the pages that match and a marked snippet.

    ``snippet_page`` is the page the snippet comes from, or None when it shows the
    title; ``created_at`` is the upload time.
    """

    document_id: UUID
    title: str
    tags: tuple[str, ...]
    folder_id: UUID
    pages: tuple[int, ...]
    snippet: str
    score: float
    created_at: datetime | None = None
    snippet_page: int | None = None


@dataclass(frozen=True)
class SearchResults:
    """One page of hits in the asked order, and how many documents match in all.

    Adapters count matches exactly up to a limit (``COUNT_LIMIT`` unless told
    otherwise); past it ``total`` is the limit, a lower bound, and ``total_exact``
    is False. Hits are served in order past the limit all the same.
    """

    hits: tuple[SearchHit, ...]
    total: int
    total_exact: bool = True


# Counting every match of a word in most documents would cost more than finding
# the page of hits; past this many, a search says "at least" instead.
COUNT_LIMIT = 10_000


class SearchPort(Protocol):
    """Finds a user's documents that are not in the trash by title, tags and text."""

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``.

        Raises ``SearchSyntaxError`` for a query with nothing to search for.
        """
        ...


MARK_START = "<mark>"
MARK_END = "</mark>"
