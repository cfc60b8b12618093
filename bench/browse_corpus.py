"""A generated library of documents in folders with tags, written as events.

Everything is written through the event-sourced application, as aggregates
saved in batches, so the running relay and projector build the read models the
way they do for users; nothing is written into read-model tables.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from uuid import UUID, uuid4

from command_api.application import Paperledger
from command_api.domain import Document, Folder

KINDS = ("Invoice", "Letter", "Receipt", "Contract", "Statement")
SENDERS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
    "Tyrell", "Cyberdyne", "Soylent", "Vandelay", "Gringotts", "Oscorp", "Duff",
    "Monarch", "Aperture", "Massive", "Pied Piper", "Nakatomi",
)  # fmt: skip
TOPICS = tuple(f"topic-{n:02d}" for n in range(20))
# "paid" sits on a third of all documents; "audit" only on one invoice in a hundred.
COMMON_TAG = "paid"
RARE_TAG = "audit"
KIND_WORD = "invoice"
DOCUMENTS_PER_FOLDER = 500
INBOX_SHARE = 10  # one document in ten stays in the inbox
SAVE_BATCH = 500


@dataclass(frozen=True)
class PlannedDocument:
    """A document to write: its title, its folder (None: the inbox) and tags."""

    title: str
    folder: int | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LibraryPlan:
    """The folders (by title, all in the home folder) and documents to write."""

    folders: tuple[str, ...]
    documents: tuple[PlannedDocument, ...]


@dataclass(frozen=True)
class StoredPdf:
    """The one-page PDF in the blob store every generated document points at."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Library:
    """What was written: folder and document ids and the last event's position.

    ``tagged`` counts the documents that carry each tag.
    """

    folder_ids: tuple[UUID, ...]
    document_ids: tuple[UUID, ...]
    position: int
    tagged: dict[str, int]


def plan_library(documents: int, seed: int = 7) -> LibraryPlan:
    """Returns a deterministic plan of ``documents`` documents in folders."""
    folder_count = max(1, documents // DOCUMENTS_PER_FOLDER)
    folders = tuple(f"Folder {n:04d}" for n in range(folder_count))
    chance = random.Random(seed)  # noqa: S311 (made-up senders, not secrets)
    planned = []
    filed = 0
    for n in range(documents):
        title = f"{KINDS[n % len(KINDS)]} {n:06d} {chance.choice(SENDERS)}"
        tags = [chance.choice(TOPICS)]
        if n % 3 == 0:
            tags.append(COMMON_TAG)
        if n % (len(KINDS) * 100) == 0:
            tags.append(RARE_TAG)
        folder = None
        if n % INBOX_SHARE != INBOX_SHARE - 1:
            folder = filed % folder_count
            filed += 1
        planned.append(PlannedDocument(title, folder, tuple(tags)))
    return LibraryPlan(folders, tuple(planned))


def write_library(
    ledger: Paperledger,
    owner: UUID,
    home: UUID,
    inbox: UUID,
    plan: LibraryPlan,
    pdf: StoredPdf,
) -> Library:
    """Writes the plan's folders and documents as events; returns their ids."""
    actor = str(owner)
    folders = [
        Folder(uuid4(), title, home, actor=actor, owner_id=owner)
        for title in plan.folders
    ]
    position = _save(ledger, folders)
    document_ids: list[UUID] = []
    for start in range(0, len(plan.documents), SAVE_BATCH):
        batch = [
            _document(planned, folders, inbox, owner, pdf)
            for planned in plan.documents[start : start + SAVE_BATCH]
        ]
        position = _save(ledger, batch)
        document_ids.extend(document.id for document in batch)
    tagged = Counter(tag for planned in plan.documents for tag in planned.tags)
    return Library(
        tuple(folder.id for folder in folders),
        tuple(document_ids),
        position,
        dict(tagged),
    )


def _document(
    planned: PlannedDocument,
    folders: list[Folder],
    inbox: UUID,
    owner: UUID,
    pdf: StoredPdf,
) -> Document:
    actor = str(owner)
    document = Document(
        id=uuid4(),
        title=planned.title,
        folder_id=inbox if planned.folder is None else folders[planned.folder].id,
        lang="eng",
        original={
            "sha256": pdf.sha256,
            "filename": f"{planned.title}.pdf",
            "content_type": "application/pdf",
            "size": pdf.size,
        },
        pdf_sha256=pdf.sha256,
        page_count=1,
        actor=actor,
        owner_id=owner,
    )
    for tag in planned.tags:
        document.tag(tag, actor=actor)
    return document


def _save(ledger: Paperledger, aggregates: list[Folder] | list[Document]) -> int:
    recordings = ledger.save(*aggregates)
    return recordings[-1].notification.id if recordings else 0
