"""Downloads of a document's files from the blob store."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request, Response

from infra.blobs import BlobNotFoundError, BlobStore
from infra.problems import Problem
from query_api.documents import current_document
from query_api.session import ReaderDep

router = APIRouter(tags=["documents"])

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


class Variant(StrEnum):
    """Which file of a document: as uploaded, or the searchable PDF OCR made."""

    ORIGINAL = "original"
    ARCHIVE = "archive"


@router.get(
    "/api/documents/{document_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    document_id: UUID,
    reader: ReaderDep,
    request: Request,
    variant: Variant = Variant.ORIGINAL,
) -> Response:
    """Downloads the uploaded file, or with ``variant=archive`` the searchable PDF.

    The archive exists once OCR has completed; documents in the trash can still be
    downloaded.
    """
    view = await current_document(reader.conn, reader.principal.user_id, document_id)
    filename = view.original.filename or "document"
    digest, content_type = view.original.sha256, view.original.content_type
    if variant is Variant.ARCHIVE:
        if view.archive_sha256 is None:
            raise Problem(404, "Not Found", "The archive PDF is not available yet.")
        digest, content_type = view.archive_sha256, "application/pdf"
        filename = f"{PurePosixPath(filename).stem or 'document'}.pdf"
    blobs: BlobStore = request.app.state.blobs
    try:
        body = await blobs.get(digest)
    except BlobNotFoundError:
        raise Problem(404, "Not Found", "The file is not available.") from None
    headers = {"Content-Disposition": attachment(filename)}
    return Response(body, media_type=content_type, headers=headers)


def attachment(filename: str) -> str:
    """Returns a Content-Disposition header that names a file safely (RFC 6266)."""
    name = PurePosixPath(filename.replace("\\", "/")).name or "document"
    fallback = _UNSAFE.sub("_", name)
    return (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
