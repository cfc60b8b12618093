"""The command routes: every write a client can make over HTTP."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Depends, File, Form, Header, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from command_api import dispatch
from command_api.application import Paperledger, Written
from command_api.errors import FileTooLargeError, InvalidCommandError
from command_api.uploads import check, default_title, safe_filename
from infra.auth import Principal
from infra.blobs import BlobStore
from infra.http import current_user
from infra.problems import Problem
from infra.settings import Settings
from schemas.events import Lang, TagName, Title

router = APIRouter(prefix="/api")
User = Annotated[Principal, Depends(current_user)]
IdempotencyKey = Annotated[
    str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
]
IfMatch = Annotated[str | None, Header()]


class FolderCreate(BaseModel):
    """A new folder; without a parent it goes into the home folder."""

    model_config = ConfigDict(extra="forbid")
    title: Title
    parent_id: UUID | None = None


class DocumentUpdate(BaseModel):
    """The fields of a document a client may change."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    folder_id: UUID | None = None

    @model_validator(mode="after")
    def _something(self) -> DocumentUpdate:
        if self.title is None and self.folder_id is None:
            raise ValueError("give a title, a folder_id or both")
        return self


class TagAdd(BaseModel):
    """A tag to put on a document."""

    model_config = ConfigDict(extra="forbid")
    tag: TagName


class WriteResult(BaseModel):
    """What a write did: the aggregate, its new version and its event position."""

    id: UUID
    version: int = Field(description="Send it back as If-Match to change safely.")
    position: int = Field(
        description="Send it as Paperledger-Position to read your own write."
    )


def parse_if_match(value: str | None) -> int | None:
    """Returns the version an If-Match header expects; ``*`` expects none."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise Problem(
            400, "Bad Request", 'If-Match must be an ETag this API gave, like "3".'
        )
    return int(text)


def write_response(written: Written, location: str | None = None) -> Response:
    """Returns a write's answer, with ETag and Paperledger-Position headers.

    The body is a ``WriteResult``, written out directly: an id and two integers
    need no serializer, and every command pays for one.
    """
    body = (
        f'{{"id":"{written.id}","version":{written.version},'
        f'"position":{written.position}}}'
    )
    headers = {
        "ETag": f'"{written.version}"',
        "Paperledger-Position": str(written.position),
    }
    status = 200
    if location is not None:
        headers["Location"] = location
        status = 201 if written.created else 200
    return Response(body, status, headers, media_type="application/json")


def _ledger(request: Request) -> Paperledger:
    ledger: Paperledger = request.app.state.ledger
    return ledger


async def _run(func: Any, *args: Any, **kwargs: Any) -> Written:
    result: Written = await anyio.to_thread.run_sync(lambda: func(*args, **kwargs))
    return result


@router.post("/folders", status_code=201, response_model=WriteResult)
async def create_folder(
    body: FolderCreate,
    request: Request,
    user: User,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Creates a folder inside one of your folders (your home folder by default)."""
    ledger = _ledger(request)
    parent_id = body.parent_id
    if parent_id is None:
        parent_id = (
            await anyio.to_thread.run_sync(ledger.user, user.user_id)
        ).home_folder_id
    written = await _run(
        ledger.create_folder, user.user_id, body.title, parent_id, idempotency_key
    )
    return write_response(written, f"/api/folders/{written.id}")


@router.post("/documents", status_code=201, response_model=WriteResult)
async def upload_document(
    request: Request,
    user: User,
    file: Annotated[UploadFile, File(description="PDF, PNG, JPEG or TIFF.")],
    idempotency_key: IdempotencyKey = None,
    title: Annotated[str | None, Form(min_length=1, max_length=1024)] = None,
    folder_id: Annotated[UUID | None, Form()] = None,
    lang: Annotated[Lang | None, Form(description="OCR language, e.g. eng.")] = None,
) -> Response:
    """Uploads a file; it is checked by content, stored, then OCRed in the background.

    Images become a PDF. The document lands in your inbox unless you name a folder.
    """
    settings: Settings = request.app.state.settings
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise FileTooLargeError(
            f"the file is larger than {settings.max_upload_bytes} bytes"
        )
    checked = await anyio.to_thread.run_sync(check, data)
    filename = safe_filename(file.filename, checked.content_type)
    ledger = _ledger(request)
    if folder_id is None:
        owner = await anyio.to_thread.run_sync(ledger.user, user.user_id)
        folder_id = owner.inbox_folder_id
    blobs: BlobStore = request.app.state.blobs
    original_sha256 = await blobs.put(data)
    pdf_sha256 = await blobs.put(checked.pdf)
    written = await _run(
        ledger.upload_document,
        user.user_id,
        idempotency_key,
        title=(title or default_title(filename)).strip() or filename,
        folder_id=folder_id,
        lang=lang or settings.default_lang,
        original={
            "sha256": original_sha256,
            "filename": filename,
            "content_type": checked.content_type,
            "size": len(data),
        },
        pdf_sha256=pdf_sha256,
        page_count=checked.page_count,
    )
    return write_response(written, f"/api/documents/{written.id}")


@router.patch("/documents/{document_id}", response_model=WriteResult)
async def update_document(
    document_id: UUID,
    body: DocumentUpdate,
    request: Request,
    user: User,
    if_match: IfMatch = None,
) -> Response:
    """Renames a document and/or moves it to another folder.

    Send the version you read as If-Match: a stale one is refused with 409.
    """
    ledger = _ledger(request)
    expected = parse_if_match(if_match)
    written: Written | None = None
    if body.title is not None:
        written = await dispatch.change_document(
            ledger, user.user_id, document_id, expected, "rename", body.title
        )
        expected = written.version if expected is not None else None
    if body.folder_id is not None:
        written = await dispatch.change_document(
            ledger, user.user_id, document_id, expected, "move", body.folder_id
        )
    assert written is not None
    return write_response(written)


@router.post("/documents/{document_id}/tags", response_model=WriteResult)
async def tag_document(
    document_id: UUID,
    body: TagAdd,
    request: Request,
    user: User,
    if_match: IfMatch = None,
) -> Response:
    """Puts a tag on a document; a tag already there changes nothing."""
    tag = body.tag.strip()
    if not tag:
        raise InvalidCommandError("a tag cannot be blank")
    return await _change(request, user, document_id, if_match, "tag", tag)


@router.delete("/documents/{document_id}/tags/{tag}", response_model=WriteResult)
async def untag_document(
    document_id: UUID,
    tag: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request,
    user: User,
    if_match: IfMatch = None,
) -> Response:
    """Takes a tag off a document; a tag not there changes nothing."""
    return await _change(request, user, document_id, if_match, "untag", tag)


@router.delete("/documents/{document_id}", response_model=WriteResult)
async def trash_document(
    document_id: UUID, request: Request, user: User, if_match: IfMatch = None
) -> Response:
    """Moves a document to the trash; it leaves listings and search until restored."""
    return await _change(request, user, document_id, if_match, "trash")


@router.post("/documents/{document_id}/restore", response_model=WriteResult)
async def restore_document(
    document_id: UUID, request: Request, user: User, if_match: IfMatch = None
) -> Response:
    """Brings a document back from the trash."""
    return await _change(request, user, document_id, if_match, "restore")


async def _change(
    request: Request,
    user: Principal,
    document_id: UUID,
    if_match: str | None,
    change: str,
    *args: Any,
) -> Response:
    written = await dispatch.change_document(
        _ledger(request),
        user.user_id,
        document_id,
        parse_if_match(if_match),
        change,
        *args,
    )
    return write_response(written)
