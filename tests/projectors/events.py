"""Builds event envelopes numbered as the event store and the relay number them."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext

from infra.auth import hash_token, new_token
from schemas.events import EventEnvelope
from schemas.subjects import event_subject

EPOCH = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def sha(text: str) -> str:
    """Returns a made-up digest that stands for some file."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    """A registered user and a token that authenticates as them."""

    id: UUID
    name: str
    home_folder_id: UUID
    inbox_folder_id: UUID
    token: str


@dataclass
class EventLog:
    """A history of events, each with the next position and a later timestamp."""

    envelopes: list[EventEnvelope] = field(default_factory=list)
    _versions: dict[UUID, int] = field(default_factory=dict)
    _owners: dict[UUID, UUID] = field(default_factory=dict)
    _pdfs: dict[UUID, str] = field(default_factory=dict)

    @property
    def position(self) -> int:
        """Returns the position of the last event."""
        return len(self.envelopes)

    def add(
        self,
        type: str,
        aggregate_id: UUID,
        data: dict[str, Any],
        *,
        owner_id: UUID | None = None,
        actor: str | None = None,
    ) -> EventEnvelope:
        """Appends one event of an aggregate and returns its envelope."""
        owner = owner_id or self._owners.get(aggregate_id)
        self._owners.setdefault(aggregate_id, owner or aggregate_id)
        version = self._versions.get(aggregate_id, 0) + 1
        self._versions[aggregate_id] = version
        envelope = EventEnvelope(
            position=self.position + 1,
            type=type,
            schema_version=1,
            aggregate_id=aggregate_id,
            version=version,
            timestamp=EPOCH + timedelta(minutes=self.position + 1),
            actor=actor or str(owner),
            owner_id=owner,
            data=data,
        )
        self.envelopes.append(envelope)
        return envelope

    def register(self, name: str) -> User:
        """Registers a user with home and inbox folders and an API token."""
        user = User(uuid.uuid4(), name, uuid.uuid4(), uuid.uuid4(), new_token())
        self.add(
            "User.Registered",
            user.id,
            {
                "name": name,
                "home_folder_id": str(user.home_folder_id),
                "inbox_folder_id": str(user.inbox_folder_id),
            },
            owner_id=user.id,
        )
        self.folder(user, "Home", None, folder_id=user.home_folder_id)
        self.folder(user, "Inbox", None, folder_id=user.inbox_folder_id)
        self.issue_token(user, user.token)
        return user

    def issue_token(self, user: User, token: str) -> UUID:
        """Issues a token to a user and returns the token's id."""
        token_id = uuid.uuid4()
        data = {"token_id": str(token_id), "token_hash": hash_token(token)}
        self.add("User.TokenIssued", user.id, {**data, "label": "tests"})
        return token_id

    def folder(
        self,
        user: User,
        title: str,
        parent_id: UUID | None,
        *,
        folder_id: UUID | None = None,
    ) -> UUID:
        """Creates a folder and returns its id."""
        folder_id = folder_id or uuid.uuid4()
        data = {"title": title, "parent_id": str(parent_id) if parent_id else None}
        self.add("Folder.Created", folder_id, data, owner_id=user.id)
        return folder_id

    def upload(
        self, user: User, title: str, *, folder_id: UUID | None = None, **extra: Any
    ) -> UUID:
        """Uploads a one-file document and returns its id."""
        document_id = uuid.uuid4()
        pdf = sha(f"pdf of {document_id}")
        self._pdfs[document_id] = pdf
        data = {
            "title": title,
            "folder_id": str(folder_id or user.inbox_folder_id),
            "lang": "eng",
            "original": {
                "sha256": sha(f"original of {document_id}"),
                "filename": f"{title}.pdf",
                "content_type": "application/pdf",
                "size": 1234,
            },
            "pdf_sha256": pdf,
            "page_count": 2,
        }
        self.add("Document.Uploaded", document_id, {**data, **extra}, owner_id=user.id)
        return document_id

    def pdf_of(self, document_id: UUID) -> str:
        """Returns the digest of the PDF that OCR reads for a document."""
        return self._pdfs[document_id]

    def ocr(
        self, document_id: UUID, *texts: str, lang: str = "eng", pdf: str | None = None
    ) -> EventEnvelope:
        """Records OCR text, one string per page, read from the document's PDF."""
        pages = [{"number": n, "text": t} for n, t in enumerate(texts, start=1)]
        data = {
            "pdf_sha256": pdf or self.pdf_of(document_id),
            "archive_sha256": sha(f"archive of {document_id}"),
            "lang": lang,
            "pages": pages,
            "seconds": 1.5,
        }
        return self.add("Document.OcrCompleted", document_id, data, actor="ocr")


async def publish(js: JetStreamContext, envelopes: list[EventEnvelope]) -> None:
    """Publishes envelopes as the relay does."""
    for envelope in envelopes:
        await js.publish(
            event_subject(envelope.type),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.position)},
        )
