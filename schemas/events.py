"""Every event on the bus: one envelope, and a versioned model of each event's data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Title = Annotated[str, Field(min_length=1, max_length=1024)]
TagName = Annotated[str, Field(min_length=1, max_length=128)]
Lang = Annotated[str, Field(pattern=r"^[a-z]{3}(\+[a-z]{3})*$")]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventEnvelope(BaseModel):
    """What the relay publishes for every stored event, in notification order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    position: int = Field(ge=1, description="Notification id in the event store.")
    type: str = Field(description="Aggregate and event, e.g. 'Document.Uploaded'.")
    schema_version: int = Field(ge=1)
    aggregate_id: UUID
    version: int = Field(ge=1, description="Aggregate version after this event.")
    timestamp: datetime
    actor: str | None = Field(description="User id, or a component such as 'ocr'.")
    owner_id: UUID | None = Field(description="Who may see this event.")
    data: dict[str, Any]


class UserRegistered(_Data):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    home_folder_id: UUID
    inbox_folder_id: UUID


class UserTokenIssued(_Data):
    token_id: UUID
    token_hash: Sha256
    label: str


class UserTokenRevoked(_Data):
    token_id: UUID


class FolderCreated(_Data):
    title: Title
    parent_id: UUID | None


class OriginalFile(_Data):
    sha256: Sha256
    filename: str = Field(max_length=255)
    content_type: Literal["application/pdf", "image/png", "image/jpeg", "image/tiff"]
    size: int = Field(ge=1)


class DocumentUploaded(_Data):
    title: Title
    folder_id: UUID
    lang: Lang
    original: OriginalFile
    pdf_sha256: Sha256 = Field(description="The PDF that OCR reads.")
    page_count: int = Field(ge=1)


class DocumentRenamed(_Data):
    title: Title


class DocumentMoved(_Data):
    folder_id: UUID


class DocumentTagged(_Data):
    tag: TagName


class DocumentUntagged(_Data):
    tag: TagName


class DocumentTrashed(_Data):
    pass


class DocumentRestored(_Data):
    pass


class PageText(_Data):
    number: int = Field(ge=1)
    text: str


class DocumentOcrCompleted(_Data):
    pdf_sha256: Sha256 = Field(description="The PDF the text was read from.")
    archive_sha256: Sha256 = Field(description="The searchable PDF.")
    lang: Lang
    pages: list[PageText]
    seconds: float = Field(ge=0)


class DocumentOcrFailed(_Data):
    pdf_sha256: Sha256
    reason: str = Field(min_length=1, max_length=2000)


EVENT_DATA: dict[tuple[str, int], type[_Data]] = {
    ("User.Registered", 1): UserRegistered,
    ("User.TokenIssued", 1): UserTokenIssued,
    ("User.TokenRevoked", 1): UserTokenRevoked,
    ("Folder.Created", 1): FolderCreated,
    ("Document.Uploaded", 1): DocumentUploaded,
    ("Document.Renamed", 1): DocumentRenamed,
    ("Document.Moved", 1): DocumentMoved,
    ("Document.Tagged", 1): DocumentTagged,
    ("Document.Untagged", 1): DocumentUntagged,
    ("Document.Trashed", 1): DocumentTrashed,
    ("Document.Restored", 1): DocumentRestored,
    ("Document.OcrCompleted", 1): DocumentOcrCompleted,
    ("Document.OcrFailed", 1): DocumentOcrFailed,
}


class UnknownEventError(ValueError):
    """Raised when an envelope names an event type or version the contract lacks."""


def validate_event(envelope: EventEnvelope) -> _Data:
    """Returns the typed data of an envelope, checked against its versioned model."""
    try:
        model = EVENT_DATA[(envelope.type, envelope.schema_version)]
    except KeyError:
        raise UnknownEventError(
            f"{envelope.type} v{envelope.schema_version} is not in the contract"
        ) from None
    return model.model_validate(envelope.data)
