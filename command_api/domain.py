"""Aggregates: users, folders and documents, each changed only by its events."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from command_api.errors import InvalidCommandError

# Names map to stable ids so that a name is taken once and creates can be replayed.
ID_NAMESPACE = UUID("8f1c3f5e-4c55-4a4e-9d0c-6b7f2a1d9e30")


def user_id_for(name: str) -> UUID:
    """Returns the id of the user called ``name``."""
    return uuid5(ID_NAMESPACE, f"user:{name}")


def idempotent_id(owner_id: UUID, kind: str, key: str) -> UUID:
    """Returns the id a create with this ``Idempotency-Key`` gives its aggregate."""
    return uuid5(ID_NAMESPACE, f"{kind}:{owner_id}:{key}")


class User(Aggregate):
    """Someone who owns folders and documents and holds API tokens."""

    @event("Registered")
    def __init__(
        self,
        id: UUID,  # the library names the aggregate id so
        name: str,
        home_folder_id: UUID,
        inbox_folder_id: UUID,
        actor: str | None,
        owner_id: UUID,
    ) -> None:
        self.name = name
        self.home_folder_id = home_folder_id
        self.inbox_folder_id = inbox_folder_id
        self.token_ids: list[UUID] = []

    def issue_token(self, token_id: UUID, token_hash: str, label: str) -> None:
        """Grants a new bearer token, known to the system only by its hash."""
        self._token_issued(token_id, token_hash, label, "cli", self.id)

    @event("TokenIssued")
    def _token_issued(
        self, token_id: UUID, token_hash: str, label: str, actor: str, owner_id: UUID
    ) -> None:
        self.token_ids.append(token_id)


class Folder(Aggregate):
    """A place for documents and other folders, owned by one user."""

    @event("Created")
    def __init__(
        self,
        id: UUID,  # the library names the aggregate id so
        title: str,
        parent_id: UUID | None,
        actor: str | None,
        owner_id: UUID,
    ) -> None:
        self.title = title
        self.parent_id = parent_id
        self.owner_id = owner_id


class Document(Aggregate):
    """An uploaded file, its searchable archive and what is known about it."""

    @event("Uploaded")
    def __init__(
        self,
        id: UUID,  # the library names the aggregate id so
        title: str,
        folder_id: UUID,
        lang: str,
        original: dict[str, Any],
        pdf_sha256: str,
        page_count: int,
        actor: str | None,
        owner_id: UUID,
    ) -> None:
        self.title = title
        self.folder_id = folder_id
        self.lang = lang
        self.pdf_sha256 = pdf_sha256
        self.owner_id = owner_id
        self.tags: list[str] = []
        self.trashed = False
        self.ocr_status = "pending"

    def rename(self, title: str, actor: str) -> None:
        """Gives the document a new title."""
        if title != self.title:
            self._renamed(title, actor, self.owner_id)

    def move(self, folder_id: UUID, actor: str) -> None:
        """Puts the document into another folder."""
        if folder_id != self.folder_id:
            self._moved(folder_id, actor, self.owner_id)

    def tag(self, tag: str, actor: str) -> None:
        """Adds a tag; a tag already there changes nothing."""
        if tag not in self.tags:
            self._tagged(tag, actor, self.owner_id)

    def untag(self, tag: str, actor: str) -> None:
        """Removes a tag; a tag not there changes nothing."""
        if tag in self.tags:
            self._untagged(tag, actor, self.owner_id)

    def trash(self, actor: str) -> None:
        """Moves the document to the trash."""
        if not self.trashed:
            self._trashed(actor, self.owner_id)

    def restore(self, actor: str) -> None:
        """Brings the document back from the trash."""
        if self.trashed:
            self._restored(actor, self.owner_id)

    def complete_ocr(
        self,
        pdf_sha256: str,
        archive_sha256: str,
        lang: str,
        pages: list[dict[str, Any]],
        seconds: float,
    ) -> bool:
        """Records the text read from the current PDF; says whether anything changed."""
        if pdf_sha256 != self.pdf_sha256 or self.ocr_status != "pending":
            return False
        if len(pages) != len({p["number"] for p in pages}):
            raise InvalidCommandError("OCR result names a page twice")
        self._ocr_completed(
            pdf_sha256, archive_sha256, lang, pages, seconds, "ocr", self.owner_id
        )
        return True

    def fail_ocr(self, pdf_sha256: str, reason: str) -> bool:
        """Records why the current PDF cannot be read; says whether anything changed."""
        if pdf_sha256 != self.pdf_sha256 or self.ocr_status != "pending":
            return False
        self._ocr_failed(pdf_sha256, reason, "ocr", self.owner_id)
        return True

    @event("Renamed")
    def _renamed(self, title: str, actor: str, owner_id: UUID) -> None:
        self.title = title

    @event("Moved")
    def _moved(self, folder_id: UUID, actor: str, owner_id: UUID) -> None:
        self.folder_id = folder_id

    @event("Tagged")
    def _tagged(self, tag: str, actor: str, owner_id: UUID) -> None:
        self.tags.append(tag)

    @event("Untagged")
    def _untagged(self, tag: str, actor: str, owner_id: UUID) -> None:
        self.tags.remove(tag)

    @event("Trashed")
    def _trashed(self, actor: str, owner_id: UUID) -> None:
        self.trashed = True

    @event("Restored")
    def _restored(self, actor: str, owner_id: UUID) -> None:
        self.trashed = False

    @event("OcrCompleted")
    def _ocr_completed(
        self,
        pdf_sha256: str,
        archive_sha256: str,
        lang: str,
        pages: list[dict[str, Any]],
        seconds: float,
        actor: str,
        owner_id: UUID,
    ) -> None:
        self.ocr_status = "completed"

    @event("OcrFailed")
    def _ocr_failed(
        self, pdf_sha256: str, reason: str, actor: str, owner_id: UUID
    ) -> None:
        self.ocr_status = "failed"
