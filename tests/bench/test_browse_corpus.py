"""The generated library's shape, and that it is written through the event store."""

from __future__ import annotations

from collections import Counter

from bench.browse_corpus import (
    COMMON_TAG,
    INBOX_SHARE,
    RARE_TAG,
    StoredPdf,
    plan_library,
    write_library,
)
from command_api.application import Paperledger
from command_api.domain import Document
from infra.postgres import eventsourcing_env


def test_the_same_size_and_seed_give_the_same_plan() -> None:
    assert plan_library(50) == plan_library(50)


def test_one_document_in_ten_stays_in_the_inbox_and_the_rest_fill_folders() -> None:
    plan = plan_library(2000)

    folders = Counter(document.folder for document in plan.documents)
    assert folders[None] == 2000 // INBOX_SHARE
    assert len(plan.folders) == 4
    assert {count for folder, count in folders.items() if folder is not None} == {450}


def test_a_third_of_documents_carry_the_common_tag_and_few_the_rare_one() -> None:
    plan = plan_library(3000)

    tags = Counter(tag for document in plan.documents for tag in document.tags)
    assert tags[COMMON_TAG] == 1000
    assert tags[RARE_TAG] == 6
    assert all(
        document.title.startswith("Invoice")
        for document in plan.documents
        if RARE_TAG in document.tags
    )


def test_every_document_has_a_title_and_at_least_one_tag() -> None:
    plan = plan_library(20)

    assert all(document.title and document.tags for document in plan.documents)


def test_the_library_is_written_as_events_of_the_application(
    database_url: str,
) -> None:
    ledger = Paperledger(env=eventsourcing_env(database_url))
    owner = ledger.register_user("librarian")
    user = ledger.user(owner.id)
    pdf = StoredPdf("a" * 64, 1234)

    library = write_library(
        ledger,
        user.id,
        user.home_folder_id,
        user.inbox_folder_id,
        plan_library(12),
        pdf,
    )

    assert len(library.document_ids) == 12
    assert len(library.folder_ids) == 1
    last = ledger.recorder.max_notification_id()
    assert library.position == last
    document = ledger.repository.get(library.document_ids[9])
    assert isinstance(document, Document)
    assert document.folder_id == user.inbox_folder_id
    assert document.owner_id == user.id
    ledger.close()
