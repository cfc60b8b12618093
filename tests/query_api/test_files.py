from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.blobs import BlobStore
from infra.nats import connect
from query_api.routes.files import attachment
from tests.projectors.events import sha
from tests.query_api.conftest import Api

PDF = b"%PDF-1.7 original bytes"
ARCHIVE = b"%PDF-1.7 searchable bytes"


@pytest.fixture
async def blobs(nats_url: str) -> AsyncIterator[BlobStore]:
    client = await connect(nats_url, "test-blobs")
    yield BlobStore(client.jetstream())
    await client.close()


async def test_the_original_and_after_ocr_the_archive_can_be_downloaded(
    api: Api, blobs: BlobStore
) -> None:
    ada = api.log.register("ada")
    original = {
        "sha256": await blobs.put(PDF),
        "filename": "Rechnung März.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }
    document_id = api.log.upload(ada, "Rechnung", original=original)
    api.project()
    path = f"/api/documents/{document_id}/file"

    before = await api.get(ada, path, {"variant": "archive"})
    api.log.ocr(document_id, "text")
    data = dict(api.log.envelopes[-1].data, archive_sha256=await blobs.put(ARCHIVE))
    api.log.envelopes[-1] = api.log.envelopes[-1].model_copy(update={"data": data})
    api.log.add("Document.Trashed", document_id, {})
    api.project()
    got_original = await api.get(ada, path)
    got_archive = await api.get(ada, path, {"variant": "archive"})

    assert before.status_code == 404
    assert "not available yet" in before.json()["detail"]
    assert got_original.content == PDF
    assert got_original.headers["content-type"] == "application/pdf"
    assert got_original.headers["content-disposition"] == (
        'attachment; filename="Rechnung M_rz.pdf";'
        " filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    )
    assert got_archive.content == ARCHIVE


async def test_head_tells_the_size_and_type_of_a_file_without_sending_it(
    api: Api, blobs: BlobStore
) -> None:
    ada = api.log.register("ada")
    original = {
        "sha256": await blobs.put(PDF),
        "filename": "scan.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }
    document_id = api.log.upload(ada, "Scan", original=original)
    api.project()

    head = await api.client.head(
        f"/api/documents/{document_id}/file",
        headers={"Authorization": f"Bearer {ada.token}"},
    )

    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(PDF))
    assert head.headers["content-type"] == "application/pdf"
    assert head.content == b""


async def test_a_file_missing_from_the_blob_store_is_not_found(api: Api) -> None:
    ada = api.log.register("ada")
    document_id = api.log.upload(ada, "Lost")
    api.project()

    response = await api.get(ada, f"/api/documents/{document_id}/file")

    assert response.status_code == 404
    assert sha("unused") not in response.text


async def test_an_unknown_variant_is_unprocessable(api: Api) -> None:
    ada = api.log.register("ada")
    document_id = api.log.upload(ada, "Doc")
    api.project()

    response = await api.get(
        ada, f"/api/documents/{document_id}/file", {"variant": "../etc"}
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        (
            "../../etc/passwd",
            "attachment; filename=\"passwd\"; filename*=UTF-8''passwd",
        ),
        (
            'a"b;\r\nc.pdf',
            'attachment; filename="a_b___c.pdf";'
            " filename*=UTF-8''a%22b%3B%0D%0Ac.pdf",
        ),
        ("", "attachment; filename=\"document\"; filename*=UTF-8''document"),
    ],
)
def test_a_hostile_filename_cannot_escape_the_header(
    filename: str, header: str
) -> None:
    assert attachment(filename) == header
