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
