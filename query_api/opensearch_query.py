"""Compiles a parsed search into the query language of OpenSearch.

A search takes two requests. The first finds, ranks and counts documents: an
atom matches "anywhere" when it matches the heading (title and tags) or the
body, each page's text a value of its own, so phrases stay inside one page. The
groups of the expression are combined at the document level, and a hit has a
word of the query that its language does not drop as a stop word. Matching on
one field per document lets the engine skip documents that cannot reach the
page asked for; nested pages would make it score every page of every match.
The second request looks at the page of hits alone: it lists their nested
pages that match any required atom and highlights the best of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projectors.opensearch_index import (
    ALL_ANALYSERS,
    MAX_PAGES_LISTED,
    stemmed_fields,
    words_fields,
)
from query_api.search import SearchQuery
from query_api.search_syntax import Atom, Phrase, SearchExpression, Term

Query = dict[str, Any]

# Typo tolerance is for words; a long run of characters is matched as written.
FUZZY_MIN_CHARS = 4
FUZZY_MAX_CHARS = 64
HEADING_BOOST = 2.0
# Highlights mark with characters from Unicode's private use area, so the text
# can be HTML-escaped afterwards and the marks become <mark> tags.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
# The inner hits of the pages request: the best matching page, highlighted, and
# every matching page's number.
BEST_PAGE, MATCHING_PAGES = "best", "pages"
_SOURCE = ["id", "title", "tags", "folder_id", "created_at", "lang"]
_SORTS: dict[str, list[Any]] = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "date": [{"created_at": "asc"}, {"id": "asc"}],
    "-date": [{"created_at": "desc"}, {"id": "asc"}],
}


def may_be_misspelt(atom: Atom) -> bool:
    """Tells whether an atom is a plain word that typo tolerance may widen."""
    if not isinstance(atom, Term) or atom.prefix:
        return False
    letters = sum(char.isalnum() for char in atom.word)
    return letters >= FUZZY_MIN_CHARS and len(atom.word) <= FUZZY_MAX_CHARS


def owner_filter(owner_id: UUID) -> Query:
    """Returns the filter that keeps a search to one user's documents."""
    return {"term": {"owner_id": str(owner_id)}}


def occurrence(owner_id: UUID, term: Term) -> Query:
    """Returns a search that tells whether ``term`` occurs in a user's documents."""
    return {
        "size": 0,
        "terminate_after": 1,
        "track_total_hits": True,
        "query": {
            "bool": {"filter": [owner_filter(owner_id), anywhere(term, misspelt=False)]}
        },
    }


def search_body(
    owner_id: UUID,
    query: SearchQuery,
    expression: SearchExpression,
    misspelt: frozenset[Atom] = frozenset(),
    *,
    count_limit: int,
) -> Query:
    """Returns the body of the search for a page of hits of ``expression``.

    Its total counts matches exactly up to ``count_limit`` and stops there.
    """
    # The found clause implies the only group of a one-group query.
    required = [
        _group(group, misspelt)
        for group in expression.required
        if len(expression.required) > 1
    ]
    excluded = [
        anywhere(atom, misspelt=False, neutral=False) for atom in expression.excluded
    ]
    return {
        "query": {
            "bool": {
                "filter": [owner_filter(owner_id), *_filters(query)],
                "must": [*required, _found(expression, misspelt)],
                "must_not": excluded,
            }
        },
        "from": (query.page - 1) * query.page_size,
        "size": query.page_size,
        "track_total_hits": count_limit,
        # Scores of hits sorted by date; sorted by score, they come anyway, and
        # asking for them again keeps the engine from skipping hits that cannot
        # reach the page.
        "track_scores": query.sort != "relevance",
        "sort": _SORTS[query.sort],
        "_source": _SOURCE,
        "highlight": _highlight("heading", _widened(expression, misspelt)),
    }


def _group(group: tuple[Atom, ...], misspelt: frozenset[Atom]) -> Query:
    """Returns the query of a group, which a stop word alone leaves unrestricted."""
    neutral = [anywhere(atom, misspelt=atom in misspelt) for atom in group]
    if len(group) == 1:
        return neutral[0]
    # A stop word must not open an OR group to everything: the group needs one
    # of its atoms unless all of them are stop words.
    strict = [
        anywhere(atom, misspelt=atom in misspelt, neutral=False) for atom in group
    ]
    return _any_of([*strict, {"bool": {"must": neutral}}])


def _found(expression: SearchExpression, misspelt: frozenset[Atom]) -> Query:
    """Returns the clause that a hit matches with one of its atoms, stop words not."""
    on_heading = _any_of(_positive_on("heading", expression, misspelt))
    on_body = _positive_on("body", expression, misspelt)
    return _any_of([*on_body, _boosted(on_heading, HEADING_BOOST)])


def _positive_on(
    path: str,
    expression: SearchExpression,
    misspelt: frozenset[Atom],
    analysers: Sequence[str] = ALL_ANALYSERS,
) -> list[Query]:
    """Returns one query per positive atom on the fields under ``path``."""
    return [
        _on_fields(
            path, atom, misspelt=atom in misspelt, neutral=False, analysers=analysers
        )
        for atom in expression.positive
    ]


def pages_body(
    owner_id: UUID,
    expression: SearchExpression,
    misspelt: frozenset[Atom],
    document_ids: Sequence[str],
    analysers: Sequence[str] = ALL_ANALYSERS,
) -> Query:
    """Returns the search for the given hits' matching pages, the best highlighted.

    A page's text is in the fields of its document's analyser only, so the pages
    of hits in the given ``analysers`` are matched and highlighted on theirs.
    """
    on_pages = _any_of(_positive_on("pages", expression, misspelt, analysers))
    documents = {"ids": {"values": list(document_ids)}}
    highlight = _highlight("pages", _widened(expression, misspelt), analysers)
    return {
        "query": {
            "bool": {
                "filter": [owner_filter(owner_id), documents],
                "must": _matching_pages(on_pages, highlight),
            }
        },
        "size": len(document_ids),
        "_source": False,
    }


def _widened(expression: SearchExpression, misspelt: frozenset[Atom]) -> bool:
    """Tells whether some atom is matched on the words as written, not the stems."""
    return any(
        atom in misspelt or (isinstance(atom, Term) and atom.prefix)
        for atom in expression.positive
    )


def anywhere(atom: Atom, *, misspelt: bool, neutral: bool = True) -> Query:
    """Returns the query for an atom in the heading or on any one page.

    With ``neutral`` a word the analyser drops (a stop word) matches every
    document, so it neither narrows nor empties the search.
    """
    on_body = _on_fields("body", atom, misspelt=misspelt, neutral=neutral)
    on_heading = _on_fields("heading", atom, misspelt=misspelt, neutral=neutral)
    return _any_of([on_body, _boosted(on_heading, HEADING_BOOST)])


def _on_fields(
    path: str,
    atom: Atom,
    *,
    misspelt: bool,
    neutral: bool,
    analysers: Sequence[str] = ALL_ANALYSERS,
) -> Query:
    zero_terms = "all" if neutral else "none"
    stemmed = stemmed_fields(path, analysers)
    words = words_fields(path, analysers)
    match atom:
        case Phrase(text=text):
            return _multi_match(text, stemmed, zero_terms, type="phrase")
        case Term(word=word, prefix=True):
            return _any_of(
                [{"prefix": {field: {"value": word.lower()}}} for field in words]
            )
        case Term(word=word) if misspelt:
            return _multi_match(word, words, "none", fuzziness="AUTO")
        case Term(word=word):
            return _multi_match(word, stemmed, zero_terms, operator="and")
    raise AssertionError(f"unknown atom {atom!r}")


def _multi_match(
    text: str, fields: list[str], zero_terms: str, **options: Any
) -> Query:
    return {
        "multi_match": {
            "query": text,
            "fields": fields,
            "zero_terms_query": zero_terms,
            **options,
        }
    }


def _any_of(queries: list[Query]) -> Query:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _boosted(query: Query, boost: float) -> Query:
    return {"bool": {"must": [query], "boost": boost}}


def _filters(query: SearchQuery) -> list[Query]:
    filters: list[Query] = [{"term": {"tags": tag}} for tag in query.tags]
    if query.folder_id is not None:
        filters.append({"term": {"folder_path": str(query.folder_id)}})
    created: dict[str, str] = {}
    if query.created_from is not None:
        created["gte"] = query.created_from.isoformat()
    if query.created_to is not None:
        created["lt"] = query.created_to.isoformat()
    if created:
        filters.append({"range": {"created_at": created}})
    if query.ocr_status is not None:
        filters.append({"term": {"ocr_status": query.ocr_status}})
    return filters


def _matching_pages(on_page: Query, highlight: Query) -> list[Query]:
    """Returns the clauses that list every matching page and highlight the best.

    Highlighting costs time for every page it marks, so only the best page,
    which gives the snippet, is highlighted; the others are listed.
    """

    def pages(name: str, size: int, **options: Any) -> Query:
        inner = {
            "name": name,
            "size": size,
            "_source": False,
            "docvalue_fields": ["pages.number"],
            **options,
        }
        return {"nested": {"path": "pages", "query": on_page, "inner_hits": inner}}

    return [
        pages(BEST_PAGE, 1, highlight=highlight),
        pages(MATCHING_PAGES, MAX_PAGES_LISTED),
    ]


def _highlight(
    path: str, widened: bool, analysers: Sequence[str] = ALL_ANALYSERS
) -> Query:
    # Only the fields a query searches get marks, and each costs an analysis of
    # every listed page: the words as written are highlighted only when searched.
    words = words_fields(path, analysers) if widened else []
    fields = [*stemmed_fields(path, analysers), *words]
    return {
        "pre_tags": [MARK_OPEN],
        "post_tags": [MARK_CLOSE],
        "fields": {
            field: {"number_of_fragments": 0} for field in dict.fromkeys(fields)
        },
    }
