from __future__ import annotations

import pytest

from tests.query_api.conftest import Api


async def test_search_answers_hits_with_pages_and_snippets(api: Api) -> None:
    ada = api.log.register("ada")
    bob = api.log.register("bob")
    document_id = api.log.upload(ada, "Invoice")
    api.log.add("Document.Tagged", document_id, {"tag": "tax"})
    api.log.ocr(document_id, "nothing here", "the annual report")
    api.project()

    response = await api.get(ada, "/api/search", {"q": "reports", "tag": ["tax"]})
    bobs = await api.get(bob, "/api/search", {"q": "reports"})

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    hit = body["items"][0]
    assert (hit["document_id"], hit["pages"], hit["tags"]) == (
        str(document_id),
        [2],
        ["tax"],
    )
    assert hit["snippet"] == "the annual <mark>report</mark>"
    assert response.headers["Paperledger-Position"] == str(api.log.position)
    assert bobs.json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 1001},
        {"q": "fox " * 2500},
        {"q": "fox", "page_size": 101},
        {"q": "fox", "folder_id": "../x"},
    ],
)
async def test_a_missing_empty_or_oversized_query_is_unprocessable(
    api: Api, params: dict[str, str | int]
) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/search", params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "q", ["' OR 1=1 --", "%_\\", "\x00", "<mark>", "$$; SELECT pg_sleep(10)"]
)
async def test_hostile_queries_are_just_text(api: Api, q: str) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/search", {"q": q})

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_search_needs_a_token(api: Api) -> None:
    response = await api.get(None, "/api/search", {"q": "fox"})

    assert response.status_code == 401
