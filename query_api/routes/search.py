"""Full-text search over a user's documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from infra.problems import Problem
from query_api.models import SearchHitPublic, SearchPage
from query_api.search import (
    OcrStatusFilter,
    SearchOrder,
    SearchPort,
    SearchQuery,
    SearchUnavailableError,
)
from query_api.search_syntax import MAX_QUERY_CHARS, SearchSyntaxError
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
            max_length=MAX_QUERY_CHARS,
            description="What to find, in the query syntax described above.",
        ),
    ],
    tag: Annotated[
        list[str] | None,
        Query(max_length=20, description="Only documents with all these tags."),
    ] = None,
    folder_id: Annotated[
        UUID | None,
        Query(description="Only documents in this folder or any folder below it."),
    ] = None,
    created_from: Annotated[
        datetime | None,
        Query(
            description="Uploaded at or after this time (UTC unless a zone is given)."
        ),
    ] = None,
    created_to: Annotated[
        datetime | None,
        Query(description="Uploaded before this time (UTC unless a zone is given)."),
    ] = None,
    ocr_status: Annotated[
        OcrStatusFilter | None,
        Query(description="Only documents with this OCR status."),
    ] = None,
    sort: Annotated[
        SearchOrder,
        Query(
            description="`relevance` (best first), `date` (oldest first) or `-date`."
        ),
    ] = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchPage:
    """Finds documents not in the trash whose title, tags or page text match ``q``.

    Query syntax, as in web search:

    - `lighthouse keeper`: documents that contain both words, anywhere (title, tags
      or any page); words match by their stem in the document's language, so
      `report` also finds "reports";
    - `invoice OR bill`: either word (`OR` in capitals; it binds tighter than the
      space, so `invoice OR bill acme` needs acme and one of the other two);
    - `"brown fox"`: the words next to each other, in this order;
    - `invo*`: words that begin with `invo` (at least two characters before `*`);
    - `-draft`, `-"first draft"`, `-draft*`: leave out documents that contain it
      anywhere;
    - a misspelt word that occurs in none of your documents also finds the closest
      spellings that do (`lighthuose` finds "lighthouse"); quote a word to turn
      this off;
    - parentheses are ignored, and every other character is plain text.

    A query of up to 1,000 characters takes up to 32 words, phrases and prefixes;
    one with nothing to find, or that only leaves out, is answered 422.

    Each hit lists the pages that contain a searched word (empty when only the
    title or tags match) and a snippet of the best one (`snippet_page`, null for
    the title), with the matched words in `<mark>` tags; the rest of the snippet
    is HTML-escaped. `total` counts all matching documents up to 10,000; past
    that, counting stops, `total` is 10,000 and `total_exact` is false: at least
    that many match. Every page of hits is served all the same.
    """
    query = SearchQuery(
        q,
        tuple(tag or ()),
        folder_id,
        created_from=_utc(created_from),
        created_to=_utc(created_to),
        ocr_status=ocr_status,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    port: SearchPort = request.app.state.search
    try:
        results = await port.search(principal.user_id, query)
    except SearchSyntaxError as e:
        raise Problem(422, "Unprocessable Content", str(e)) from e
    except SearchUnavailableError as e:
        raise Problem(503, "Service Unavailable", str(e)) from e
    items = [
        SearchHitPublic(
            document_id=hit.document_id,
            title=hit.title,
            tags=list(hit.tags),
            folder_id=hit.folder_id,
            pages=list(hit.pages),
            snippet=hit.snippet,
            snippet_page=hit.snippet_page,
            score=hit.score,
            created_at=hit.created_at,
        )
        for hit in results.hits
    ]
    return SearchPage(
        items=items,
        total=results.total,
        total_exact=results.total_exact,
        page=page,
        page_size=page_size,
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
