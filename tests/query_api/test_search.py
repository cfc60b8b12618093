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
    assert (body["total"], body["total_exact"]) == (1, True)
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
        {"q": "fox", "sort": "title"},
        {"q": "fox", "ocr_status": "done"},
        {"q": "fox", "created_from": "yesterday"},
        {"q": "fox", "created_to": "2024-13-01"},
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
    ("q", "detail"),
    [
        ("%_\\", "The query has no word to search for; add a word to find."),
        ("\x00", "The query has no word to search for; add a word to find."),
        ("-fox", "The query only excludes; add a word to find."),
        (" ".join(["fox"] * 33), "The query has more than 32 terms."),
    ],
)
async def test_a_query_with_nothing_to_find_is_unprocessable_and_says_why(
    api: Api, q: str, detail: str
) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/search", {"q": q})

    assert response.status_code == 422
    assert response.json()["detail"] == detail


@pytest.mark.parametrize(
    "q", ["' OR 1=1 --", "<mark>", "$$; SELECT pg_sleep(10)", "a:* | !b & c'"]
)
async def test_hostile_queries_are_just_text(api: Api, q: str) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/search", {"q": q})

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_search_takes_filters_and_order_from_the_query_string(api: Api) -> None:
    ada = api.log.register("ada")
    folder = api.log.folder(ada, "Taxes", ada.home_folder_id)
    below = api.log.folder(ada, "2023", folder)
    first = api.log.upload(ada, "First report", folder_id=below)
    api.log.add("Document.Tagged", first, {"tag": "tax"})
    api.log.ocr(first, "the annual report")
    created = api.log.envelopes[0].timestamp.replace(tzinfo=None).isoformat()
    second = api.log.upload(ada, "Second report", folder_id=folder)
    api.log.add("Document.Tagged", second, {"tag": "tax"})
    api.project()
    params: dict[str, str | int | list[str]] = {
        "q": "report",
        "tag": ["tax"],
        "folder_id": str(folder),
        "created_from": created,
        "ocr_status": "completed",
        "sort": "-date",
    }

    response = await api.get(ada, "/api/search", params)
    newest_first = await api.get(ada, "/api/search", {"q": "report", "sort": "-date"})

    assert [hit["document_id"] for hit in response.json()["items"]] == [str(first)]
    hit = response.json()["items"][0]
    assert (hit["pages"], hit["snippet_page"]) == ([1], 1)
    assert [hit["document_id"] for hit in newest_first.json()["items"]] == [
        str(second),
        str(first),
    ]


async def test_search_needs_a_token(api: Api) -> None:
    response = await api.get(None, "/api/search", {"q": "fox"})

    assert response.status_code == 401
