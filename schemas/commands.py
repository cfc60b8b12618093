"""Commands and plain messages that travel over NATS, each a versioned model."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Lang, PageText, Sha256


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompleteOcr(_Message):
    """Records the text an OCR worker read from one PDF of a document."""

    schema_version: Literal[1] = 1
    document_id: UUID
    pdf_sha256: Sha256
    archive_sha256: Sha256
    lang: Lang
    pages: list[PageText]
    seconds: float = Field(ge=0)
    worker: str = Field(max_length=200)


class FailOcr(_Message):
    """Records that OCR of one PDF of a document cannot succeed, and why."""

    schema_version: Literal[1] = 1
    document_id: UUID
    pdf_sha256: Sha256
    reason: str = Field(min_length=1, max_length=2000)
    worker: str = Field(max_length=200)


class CommandReply(_Message):
    """The command API's answer to a command sent over NATS."""

    schema_version: Literal[1] = 1
    ok: bool
    position: int | None = None
    error: str | None = None


class OcrProgress(_Message):
    """One step of OCR of a document; not stored, so it may be lost."""

    schema_version: Literal[1] = 1
    document_id: UUID
    owner_id: UUID
    stage: Literal["started", "page", "finished", "failed"]
    page: int = Field(ge=0)
    pages: int = Field(ge=0)
