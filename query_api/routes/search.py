"""Full-text search over a user's documents."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from infra.problems import Problem
from query_api.models import SearchHitPublic, SearchPage
from query_api.search import SearchPort, SearchQuery
from query_api.session import CallerDep

router = APIRouter(tags=["search"])


@router.get("/api/search")
async def search(
    request: Request,
    principal: CallerDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=1000,
            description='Words to find; "quoted phrases", `or` and `-excluded`'
            " words work as in web search.",
        ),
    ],
    tag: Annotated[
        list[str] | None,
        Query(max_length=20, description="Only documents with all these tags."),
    ] = None,
    folder_id: Annotated[
        UUID | None, Query(description="Only documents in this folder.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchPage:
    """Finds documents not in the trash whose title, tags or page text match.

    Each hit lists the matching pages and a snippet of the best one, with the
    matched words in ``<mark>`` tags; the rest of the snippet is HTML-escaped.
    """
    if not q.strip():
        raise Problem(422, "Unprocessable Content", "The query q is empty.")
    port: SearchPort = request.app.state.search
    query = SearchQuery(q, tuple(tag or ()), folder_id, page=page, page_size=page_size)
    results = await port.search(principal.user_id, query)
    items = [
        SearchHitPublic(
            document_id=hit.document_id,
            title=hit.title,
            tags=list(hit.tags),
            folder_id=hit.folder_id,
            pages=list(hit.pages),
            snippet=hit.snippet,
            score=hit.score,
        )
        for hit in results.hits
    ]
    return SearchPage(items=items, total=results.total, page=page, page_size=page_size)
