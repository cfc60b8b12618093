"""Search on OpenSearch: the scale-out adapter of the search port."""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from projectors.opensearch_index import (
    ALL_ANALYSERS,
    DEFAULT_PREFIX,
    Indices,
    analyser_of,
    open_client,
)
from query_api.opensearch_query import (
    BEST_PAGE,
    MARK_CLOSE,
    MARK_OPEN,
    MATCHING_PAGES,
    may_be_misspelt,
    occurrence,
    pages_body,
    search_body,
)
from query_api.search import (
    COUNT_LIMIT,
    MARK_END,
    MARK_START,
    SearchError,
    SearchHit,
    SearchQuery,
    SearchResults,
    SearchUnavailableError,
)
from query_api.search_syntax import Atom, SearchExpression, Term, parse

logger = logging.getLogger(__name__)

T = TypeVar("T")
SNIPPET_WORDS = 35
SNIPPET_LEAD_WORDS = 5
_WORD = re.compile(r"\S+")
_MARKS = re.compile(f"{MARK_OPEN}(.*?){MARK_CLOSE}", re.DOTALL)

Span = tuple[int, int]


class OpenSearchSearch:
    """Searches the documents index behind the ``<prefix>-documents`` alias.

    Visibility is part of every query (the owner's documents; trashed ones are
    not in the index), never applied to results afterwards.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        prefix: str = DEFAULT_PREFIX,
        count_limit: int = COUNT_LIMIT,
    ) -> None:
        self._client: AsyncOpenSearch = open_client(url, timeout)
        self._index = Indices.aliases(prefix).documents
        self._count_limit = count_limit

    async def close(self) -> None:
        """Closes the connections to the cluster."""
        await self._client.close()

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``."""
        expression = parse(query.text)
        try:
            return await self._search(owner_id, query, expression)
        except _IndexMissingError:
            # Nothing has been indexed yet, so nobody has documents to find.
            return SearchResults(hits=(), total=0)

    async def _search(
        self, owner_id: UUID, query: SearchQuery, expression: SearchExpression
    ) -> SearchResults:
        found, misspelt = await self._find(owner_id, query, expression)
        hits = found["hits"]["hits"]
        pages: dict[str, dict[str, Any]] = {}
        if hits:
            ids = [hit["_id"] for hit in hits]
            used = {analyser_of(hit["_source"]["lang"]) for hit in hits}
            analysers = [name for name in ALL_ANALYSERS if name in used]
            body = pages_body(owner_id, expression, misspelt, ids, analysers)
            listed = (await self._msearch([body]))[0]["hits"]["hits"]
            # A hit changed or trashed since the first request lists no pages.
            pages = {hit["_id"]: hit.get("inner_hits", {}) for hit in listed}
        total = found["hits"]["total"]
        return SearchResults(
            hits=tuple(_hit(hit, pages.get(hit["_id"], {})) for hit in hits),
            total=int(total["value"]),
            total_exact=total["relation"] == "eq",
        )

    async def _find(
        self, owner_id: UUID, query: SearchQuery, expression: SearchExpression
    ) -> tuple[dict[str, Any], frozenset[Atom]]:
        """Returns the page of hits, ranked and counted, and the atoms misspelt."""
        candidates = [a for a in expression.positive if may_be_misspelt(a)]
        alone = {group[0] for group in expression.required if len(group) == 1}
        limit = self._count_limit
        main = search_body(owner_id, query, expression, count_limit=limit)
        searches = [occurrence(owner_id, a) for a in candidates if isinstance(a, Term)]
        if set(candidates) <= alone:
            # Each candidate must match for a hit, so any hit shows they all occur.
            first = (await self._msearch([main]))[0]
            if not candidates or first["hits"]["total"]["value"] > 0:
                return first, frozenset()
            occurrences = await self._msearch(searches)
        else:
            first, *occurrences = await self._msearch([main, *searches])
        misspelt = frozenset(
            atom
            for atom, answer in zip(candidates, occurrences, strict=True)
            if answer["hits"]["total"]["value"] == 0
        )
        if not misspelt:
            return first, misspelt
        body = search_body(owner_id, query, expression, misspelt, count_limit=limit)
        return (await self._msearch([body]))[0], misspelt

    async def _msearch(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for body in bodies:
            lines += [{"index": self._index}, body]
        answer = await _call(self._client.msearch(body=lines))
        responses: list[dict[str, Any]] = answer["responses"]
        for response in responses:
            if "error" in response:
                _raise_for(response)
        return responses


def _hit(hit: dict[str, Any], inner: dict[str, Any]) -> SearchHit:
    """Returns a hit of the first request with its pages from the second."""
    source = hit["_source"]
    pages = sorted(_page_number(page) for page in _inner(inner, MATCHING_PAGES))
    best = [page for page in _inner(inner, BEST_PAGE) if page.get("highlight")]
    snippet, snippet_page = _title_snippet(source["title"], hit.get("highlight", {}))
    if best:
        snippet = _page_snippet(best[0]["highlight"].values())
        snippet_page = _page_number(best[0])
    return SearchHit(
        document_id=UUID(source["id"]),
        title=source["title"],
        tags=tuple(source["tags"]),
        folder_id=UUID(source["folder_id"]),
        pages=tuple(pages),
        snippet=snippet,
        score=float(hit.get("_score") or 0.0),
        created_at=datetime.fromisoformat(source["created_at"]),
        snippet_page=snippet_page,
    )


def _inner(inner: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return list(inner.get(name, {}).get("hits", {}).get("hits", []))


def _page_number(inner_hit: dict[str, Any]) -> int:
    return int(inner_hit["fields"]["pages.number"][0])


def _title_snippet(
    title: str, highlight: dict[str, list[str]]
) -> tuple[str, int | None]:
    """Returns the title with its matches marked, from the heading's highlights."""
    fragments = [f for field in highlight.values() for f in field]
    spans = [s for f in fragments for s in _spans_in(f, title)]
    return _marked(title, _union(spans)), None


def _page_snippet(highlights: Iterable[list[str]]) -> str:
    """Returns a window of the best page with every match in it marked."""
    fragments = [fragment for field in highlights for fragment in field]
    text = _MARKS.sub(r"\1", fragments[0])
    spans = _union([s for f in fragments for s in _spans_in(f, text)])
    start, end = _window(text, spans)
    inside = [
        (max(a, start) - start, min(b, end) - start)
        for a, b in spans
        if a < end and b > start
    ]
    return _marked(text[start:end], inside)


def _spans_in(fragment: str, text: str) -> list[Span]:
    """Returns the marked spans of a highlighted copy of ``text``; none if another."""
    spans: list[Span] = []
    plain: list[str] = []
    length = 0
    cursor = 0
    for match in _MARKS.finditer(fragment):
        before = fragment[cursor : match.start()]
        plain.append(before)
        length += len(before)
        plain.append(match.group(1))
        spans.append((length, length + len(match.group(1))))
        length += len(match.group(1))
        cursor = match.end()
    plain.append(fragment[cursor:])
    return spans if "".join(plain) == text else []


def _union(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, spans: list[Span]) -> Span:
    """Returns the stretch of at most ``SNIPPET_WORDS`` words with the most marks."""
    words = [m.span() for m in _WORD.finditer(text)]
    if len(words) <= SNIPPET_WORDS:
        return 0, len(text)
    ends = [end for _, end in words]
    marks = sorted(start for start, _ in spans)

    def last_of(first: int) -> int:
        return min(first + SNIPPET_WORDS, len(words)) - 1

    def marks_in(first: int) -> int:
        start, end = words[first][0], words[last_of(first)][1]
        return bisect.bisect_left(marks, end) - bisect.bisect_left(marks, start)

    firsts = {bisect.bisect_right(ends, mark) for mark in marks} or {0}
    starts = {max(0, i - SNIPPET_LEAD_WORDS) for i in firsts}
    first = max(starts, key=lambda s: (marks_in(s), -s))
    return words[first][0], words[last_of(first)][1]


def _marked(text: str, spans: list[Span]) -> str:
    """Returns ``text`` HTML-escaped, with the spans in ``<mark>`` tags."""
    parts: list[str] = []
    cursor = 0
    for start, end in spans:
        parts.append(html.escape(text[cursor:start], quote=False))
        parts.append(MARK_START + html.escape(text[start:end], quote=False) + MARK_END)
        cursor = end
    parts.append(html.escape(text[cursor:], quote=False))
    return "".join(parts)


def _raise_for(response: dict[str, Any]) -> None:
    error = response["error"]
    kind = error.get("type", "") if isinstance(error, dict) else str(error)
    status = int(response.get("status", 500))
    if status == 404 or kind == "index_not_found_exception":
        raise _IndexMissingError(kind)
    if status >= 500 or status == 429:
        raise SearchUnavailableError(
            f"search is unavailable: OpenSearch answered {status} ({kind})"
        )
    logger.error("OpenSearch refused a search: %s", error)
    raise SearchError(f"OpenSearch refused the search: {kind}")


class _IndexMissingError(SearchError):
    """Raised when the documents index does not exist yet."""


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except TransportConnectionError as e:
        raise SearchUnavailableError(
            f"search is unavailable: OpenSearch did not answer ({e})"
        ) from e
    except NotFoundError as e:
        raise _IndexMissingError(str(e)) from e
    except TransportError as e:
        if isinstance(e.status_code, int) and e.status_code < 500:
            raise SearchError(f"OpenSearch refused the search: {e.error}") from e
        raise SearchUnavailableError(
            f"search is unavailable: OpenSearch failed ({e.error})"
        ) from e
