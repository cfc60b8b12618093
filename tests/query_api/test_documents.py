from __future__ import annotations

import uuid

import pytest

from tests.projectors.events import EPOCH, User
from tests.query_api.conftest import Api


async def a_documented_life(api: Api) -> tuple[uuid.UUID, User]:
    ada = api.log.register("ada")
    document_id = api.log.upload(ada, "Invoice")
    api.log.add("Document.Tagged", document_id, {"tag": "tax"})
    api.log.add("Document.Renamed", document_id, {"title": "Invoice ACME"})
    api.log.ocr(document_id, "first page", "second page")
    api.project()
    return document_id, ada


async def test_a_document_is_shown_with_its_pages_and_version_as_etag(
    api: Api,
) -> None:
    document_id, ada = await a_documented_life(api)

    response = await api.get(ada, f"/api/documents/{document_id}")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"4"'
    body = response.json()
    assert (body["title"], body["tags"], body["version"]) == (
        "Invoice ACME",
        ["tax"],
        4,
    )
    assert body["ocr"] == {"status": "completed", "reason": None}
    assert body["pages"] == [
        {"number": 1, "text": "first page"},
        {"number": 2, "text": "second page"},
    ]
    assert body["original"] == {
        "filename": "Invoice.pdf",
        "content_type": "application/pdf",
        "size": 1234,
    }


async def test_as_of_a_version_shows_the_document_as_it_stood(api: Api) -> None:
    document_id, ada = await a_documented_life(api)

    response = await api.get(ada, f"/api/documents/{document_id}", {"as_of": "2"})

    body = response.json()
    assert response.headers["ETag"] == '"2"'
    assert (body["title"], body["tags"], body["ocr"]["status"]) == (
        "Invoice",
        ["tax"],
        "pending",
    )


async def test_as_of_a_moment_shows_the_document_as_it_stood(api: Api) -> None:
    document_id, ada = await a_documented_life(api)
    renamed_at = api.log.envelopes[-2].timestamp

    response = await api.get(
        ada,
        f"/api/documents/{document_id}",
        {"as_of": renamed_at.isoformat()},
    )

    assert response.json()["title"] == "Invoice ACME"
    assert response.json()["pages"] == []


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("5", 404),
        (EPOCH.isoformat(), 404),
        ("0", 422),
        ("-1", 422),
        ("yesterday", 422),
        ("2024-03-01T10:00:00", 422),
        ("9" * 60, 422),
    ],
)
async def test_as_of_outside_the_history_or_malformed_is_refused(
    api: Api, as_of: str, status: int
) -> None:
    document_id, ada = await a_documented_life(api)

    response = await api.get(ada, f"/api/documents/{document_id}", {"as_of": as_of})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_version_beyond_the_current_one_is_named_in_the_404(api: Api) -> None:
    document_id, ada = await a_documented_life(api)

    response = await api.get(ada, f"/api/documents/{document_id}", {"as_of": "9"})

    assert "Version 9 does not exist" in response.json()["detail"]


async def test_the_history_lists_every_event_in_version_order(api: Api) -> None:
    document_id, ada = await a_documented_life(api)

    first = await api.get(
        ada,
        f"/api/documents/{document_id}/history",
        {"page_size": 3},
    )
    second = await api.get(
        ada,
        f"/api/documents/{document_id}/history",
        {"page_size": 3, "page": 2},
    )

    items = first.json()["items"] + second.json()["items"]
    assert [i["type"] for i in items] == [
        "Document.Uploaded",
        "Document.Tagged",
        "Document.Renamed",
        "Document.OcrCompleted",
    ]
    assert [i["version"] for i in items] == [1, 2, 3, 4]
    assert items[3]["actor"] == "ocr"
    assert items[1]["data"] == {"tag": "tax"}
    assert first.json()["total"] == 4


async def test_another_users_document_is_not_found(api: Api) -> None:
    document_id, _ = await a_documented_life(api)
    bob = api.log.register("bob")
    api.project()

    for suffix in ("", "/history", "/file", "?as_of=1"):
        response = await api.get(bob, f"/api/documents/{document_id}{suffix}")
        assert response.status_code == 404, suffix
    missing = await api.get(bob, f"/api/documents/{uuid.uuid4()}")
    assert missing.json()["detail"] == response.json()["detail"]


async def test_documents_are_listed_by_all_of_the_given_tags(api: Api) -> None:
    ada = api.log.register("ada")
    both = api.log.upload(ada, "both")
    paid = api.log.upload(ada, "paid only")
    trashed = api.log.upload(ada, "trashed")
    for document_id in (both, paid, trashed):
        api.log.add("Document.Tagged", document_id, {"tag": "paid"})
    api.log.add("Document.Tagged", both, {"tag": "tax"})
    api.log.add("Document.Trashed", trashed, {})
    api.project()

    paid_ones = await api.get(ada, "/api/documents", {"tag": "paid"})
    tax_and_paid = await api.get(ada, "/api/documents", {"tag": ["tax", "paid"]})

    assert [i["title"] for i in paid_ones.json()["items"]] == ["both", "paid only"]
    assert paid_ones.json()["total"] == 2
    assert [i["id"] for i in tax_and_paid.json()["items"]] == [str(both)]
    assert tax_and_paid.json()["items"][0]["tags"] == ["paid", "tax"]
    assert tax_and_paid.json()["total"] == 1


async def test_without_tags_every_document_in_every_folder_is_listed(
    api: Api,
) -> None:
    ada = api.log.register("ada")
    taxes = api.log.folder(ada, "Taxes", ada.home_folder_id)
    api.log.upload(ada, "in the inbox")
    filed = api.log.upload(ada, "filed", folder_id=taxes)
    api.project()

    response = await api.get(ada, "/api/documents")

    body = response.json()
    assert [(i["title"], i["folder_id"]) for i in body["items"]] == [
        ("filed", str(taxes)),
        ("in the inbox", str(ada.inbox_folder_id)),
    ]
    assert body["items"][0]["id"] == str(filed)
    assert body["total"] == 2


async def test_documents_of_other_users_are_not_listed(api: Api) -> None:
    ada = api.log.register("ada")
    bob = api.log.register("bob")
    theirs = api.log.upload(bob, "bob's")
    api.log.add("Document.Tagged", theirs, {"tag": "paid"})
    api.project()

    response = await api.get(ada, "/api/documents", {"tag": "paid"})

    assert response.json() == {"items": [], "total": 0, "page": 1, "page_size": 50}


@pytest.mark.parametrize(
    ("sort", "titles"),
    [
        ("title", ["a", "B", "c"]),
        ("-title", ["c", "B", "a"]),
        ("created_at", ["B", "a", "c"]),
        ("-created_at", ["c", "a", "B"]),
        ("updated_at", ["a", "c", "B"]),
        ("-updated_at", ["B", "c", "a"]),
    ],
)
async def test_listed_documents_are_sorted_and_paged(
    api: Api, sort: str, titles: list[str]
) -> None:
    ada = api.log.register("ada")
    b = api.log.upload(ada, "B")
    a = api.log.upload(ada, "a")
    c = api.log.upload(ada, "c")
    for document_id in (a, c, b):
        api.log.add("Document.Tagged", document_id, {"tag": "paid"})
    api.project()

    pages = [
        await api.get(
            ada,
            "/api/documents",
            {"tag": "paid", "sort": sort, "page_size": 2, "page": page},
        )
        for page in (1, 2)
    ]

    assert [i["title"] for p in pages for i in p.json()["items"]] == titles
    assert pages[1].json()["total"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "title; DROP TABLE x"},
        {"page_size": 0},
        {"page": 0},
        {"tag": [f"t{n}" for n in range(21)]},
    ],
)
async def test_bad_document_listing_parameters_are_unprocessable(
    api: Api, params: dict[str, str | int | list[str]]
) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/documents", params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_listing_documents_needs_a_token(api: Api) -> None:
    response = await api.get(None, "/api/documents")

    assert response.status_code == 401
