"""The command routes against real PostgreSQL and NATS."""

from __future__ import annotations

import io
from uuid import uuid4

import pikepdf
from fastapi.testclient import TestClient

from command_api.application import Paperledger, Written
from command_api.envelopes import read_log
from command_api.routes import WriteResult, write_response
from schemas.events import validate_event
from tests.command_api.conftest import Account
from tests.scans import image_only_pdf, multipage_tiff, page_image

SCAN = image_only_pdf([["quarterly invoice"], ["second page"]])


def _upload(
    client: TestClient,
    account: Account,
    data: bytes = SCAN,
    name: str = "scan.pdf",
    **form: str,
) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        "/api/documents",
        headers=account.headers,
        files={"file": (name, data, "application/octet-stream")},
        data=form,
    )
    return response.status_code, response.json() | dict(response.headers)


def _types(ledger: Paperledger) -> list[str]:
    return [e.type for e in read_log(ledger)]


def test_an_upload_is_stored_and_lands_in_the_inbox(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    status, answer = _upload(client, alice)

    assert status == 201, answer.get("errors")
    assert answer["etag"] == '"1"'
    assert answer["location"] == f"/api/documents/{answer['id']}"
    assert int(answer["paperledger-position"]) == answer["position"]
    uploaded = [e for e in read_log(ledger) if e.type == "Document.Uploaded"][-1]
    data = validate_event(uploaded)
    assert uploaded.position == answer["position"]
    assert data.model_dump()["folder_id"] == alice.inbox_folder_id
    assert data.model_dump()["title"] == "scan"
    assert data.model_dump()["page_count"] == 2


def test_every_published_event_validates_against_the_contract(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    _, answer = _upload(client, alice, title="Taxes", lang="deu")
    url = f"/api/documents/{answer['id']}"
    client.patch(url, json={"title": "Taxes 2024"}, headers=alice.headers)
    client.post(f"{url}/tags", json={"tag": "tax"}, headers=alice.headers)
    client.delete(f"{url}/tags/tax", headers=alice.headers)
    client.delete(url, headers=alice.headers)
    client.post(f"{url}/restore", headers=alice.headers)

    envelopes = list(read_log(ledger))

    assert len({e.type for e in envelopes}) == 9
    for envelope in envelopes:
        validate_event(envelope)


def test_images_become_pdf_documents_of_their_page_count(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    _upload(client, alice, page_image(["png"]), "photo.png")
    _upload(client, alice, multipage_tiff([["a"], ["b"], ["c"]]), "fax.tiff")

    uploads = [e.data for e in read_log(ledger) if e.type == "Document.Uploaded"]

    assert [u["original"]["content_type"] for u in uploads] == [
        "image/png",
        "image/tiff",
    ]
    assert [u["page_count"] for u in uploads] == [1, 3]
    assert all(u["pdf_sha256"] != u["original"]["sha256"] for u in uploads)


def test_a_file_is_judged_by_its_content_not_its_name(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    disguised, _ = _upload(client, alice, page_image(["png"]), "looks-like.pdf")
    text, problem = _upload(client, alice, b"just some text", "invoice.pdf")

    assert disguised == 201
    assert text == 415
    assert problem["content-type"] == "application/problem+json"
    assert _types(ledger).count("Document.Uploaded") == 1


def test_bad_files_are_refused_and_change_nothing(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    encrypted = io.BytesIO()
    with pikepdf.open(io.BytesIO(SCAN)) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="o", user="u"))
    before = _types(ledger)

    answers = [
        _upload(client, alice, b""),
        _upload(client, alice, b"%PDF-1.7 broken beyond repair"),
        _upload(client, alice, encrypted.getvalue()),
    ]

    assert [status for status, _ in answers] == [422, 422, 422]
    assert "empty" in answers[0][1]["detail"]
    assert "encrypted" in answers[2][1]["detail"]
    assert _types(ledger) == before


def test_an_oversized_upload_is_refused_before_it_is_stored(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    before = _types(ledger)

    status, problem = _upload(client, alice, b"%PDF-1.7" + b"0" * (6 * 1024 * 1024))

    assert status == 413
    assert problem["title"] == "Content Too Large"
    assert _types(ledger) == before


def test_a_hostile_filename_is_stored_without_its_path(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    _upload(client, alice, name="../../etc/<script>passwd.pdf")

    uploaded = [e for e in read_log(ledger) if e.type == "Document.Uploaded"][-1]

    assert uploaded.data["original"]["filename"] == "_script_passwd.pdf"


def test_a_bad_language_or_folder_is_refused(
    client: TestClient, alice: Account, bob: Account
) -> None:
    bad_lang, _ = _upload(client, alice, lang="english; rm -rf /")
    other_folder, _ = _upload(client, alice, folder_id=str(bob.inbox_folder_id))

    assert (bad_lang, other_folder) == (422, 404)


def test_every_write_needs_a_valid_token(client: TestClient, alice: Account) -> None:
    missing = client.post("/api/folders", json={"title": "x"})
    wrong = client.post(
        "/api/folders", json={"title": "x"}, headers={"Authorization": "Bearer nope"}
    )

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["status"] == 401


def test_another_users_document_looks_missing(
    client: TestClient, alice: Account, bob: Account
) -> None:
    _, answer = _upload(client, alice)

    theirs = client.patch(
        f"/api/documents/{answer['id']}", json={"title": "mine"}, headers=bob.headers
    )
    missing = client.patch(
        f"/api/documents/{uuid4()}", json={"title": "mine"}, headers=bob.headers
    )

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]


def test_a_stale_if_match_is_a_conflict(client: TestClient, alice: Account) -> None:
    _, answer = _upload(client, alice)
    url = f"/api/documents/{answer['id']}"

    first = client.patch(
        url, json={"title": "A"}, headers=alice.headers | {"If-Match": '"1"'}
    )
    stale = client.patch(
        url, json={"title": "B"}, headers=alice.headers | {"If-Match": '"1"'}
    )
    garbage = client.patch(
        url, json={"title": "B"}, headers=alice.headers | {"If-Match": "x"}
    )

    assert (first.status_code, first.headers["etag"]) == (200, '"2"')
    assert stale.status_code == 409
    assert garbage.status_code == 400


def test_rename_and_move_in_one_patch(client: TestClient, alice: Account) -> None:
    folder = client.post("/api/folders", json={"title": "Taxes"}, headers=alice.headers)
    _, answer = _upload(client, alice)

    moved = client.patch(
        f"/api/documents/{answer['id']}",
        json={"title": "Return", "folder_id": folder.json()["id"]},
        headers=alice.headers | {"If-Match": '"1"'},
    )

    assert moved.json()["version"] == 3


def test_malformed_json_and_unknown_fields_are_refused(
    client: TestClient, alice: Account
) -> None:
    broken = client.post(
        "/api/folders",
        content=b"{not json",
        headers=alice.headers | {"Content-Type": "application/json"},
    )
    unknown = client.post(
        "/api/folders", json={"title": "x", "owner_id": "me"}, headers=alice.headers
    )
    empty_patch = client.patch(
        f"/api/documents/{uuid4()}", json={}, headers=alice.headers
    )

    assert (broken.status_code, unknown.status_code, empty_patch.status_code) == (
        422,
        422,
        422,
    )


def test_tags_come_and_go_once(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    _, answer = _upload(client, alice)
    url = f"/api/documents/{answer['id']}"

    client.post(f"{url}/tags", json={"tag": "tax"}, headers=alice.headers)
    again = client.post(f"{url}/tags", json={"tag": "tax"}, headers=alice.headers)
    client.delete(f"{url}/tags/tax", headers=alice.headers)
    blank = client.post(f"{url}/tags", json={"tag": "   "}, headers=alice.headers)

    assert again.json()["version"] == 2
    assert blank.status_code == 422
    assert _types(ledger)[-2:] == ["Document.Tagged", "Document.Untagged"]


def test_trash_and_restore(client: TestClient, alice: Account) -> None:
    _, answer = _upload(client, alice)
    url = f"/api/documents/{answer['id']}"

    trashed = client.delete(url, headers=alice.headers)
    restored = client.post(f"{url}/restore", headers=alice.headers)

    assert (trashed.json()["version"], restored.json()["version"]) == (2, 3)


def test_an_idempotency_key_makes_a_create_happen_once(
    client: TestClient, alice: Account, ledger: Paperledger
) -> None:
    key = {"Idempotency-Key": "upload-42"}

    first = client.post(
        "/api/documents", headers=alice.headers | key, files={"file": ("a.pdf", SCAN)}
    )
    second = client.post(
        "/api/documents", headers=alice.headers | key, files={"file": ("a.pdf", SCAN)}
    )

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert _types(ledger).count("Document.Uploaded") == 1


def test_a_folder_goes_home_unless_given_a_parent(
    client: TestClient, alice: Account, bob: Account, ledger: Paperledger
) -> None:
    created = client.post(
        "/api/folders", json={"title": "Bills"}, headers=alice.headers
    )
    foreign = client.post(
        "/api/folders",
        json={"title": "Sneaky", "parent_id": str(bob.home_folder_id)},
        headers=alice.headers,
    )

    assert created.status_code == 201
    assert foreign.status_code == 404
    folder = [e for e in read_log(ledger) if e.type == "Folder.Created"][-1]
    assert folder.data["parent_id"] == str(alice.home_folder_id)


def test_a_write_answers_a_write_result_with_its_etag_and_position() -> None:
    written = Written(uuid4(), 3, 7, created=True)

    response = write_response(written, f"/api/documents/{written.id}")

    assert WriteResult.model_validate_json(response.body) == WriteResult(
        id=written.id, version=3, position=7
    )
    assert response.status_code == 201
    assert response.headers["etag"] == '"3"'
    assert response.headers["paperledger-position"] == "7"
    assert response.headers["content-type"] == "application/json"
