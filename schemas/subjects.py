"""Names on the bus: JetStream streams, subjects, consumers and buckets."""

from __future__ import annotations

from uuid import UUID

EVENTS_STREAM = "PAPERLEDGER_EVENTS"
EVENTS_PREFIX = "paperledger.events"
# Every event goes to ``paperledger.events.<Aggregate>.<Event>``.
ALL_EVENTS = f"{EVENTS_PREFIX}.>"
DOCUMENT_UPLOADED = f"{EVENTS_PREFIX}.Document.Uploaded"

# Commands are NATS request/reply; the command API answers each with a CommandReply.
COMMANDS_PREFIX = "paperledger.commands"
COMPLETE_OCR = f"{COMMANDS_PREFIX}.ocr.complete"
FAIL_OCR = f"{COMMANDS_PREFIX}.ocr.fail"
COMMAND_QUEUE_GROUP = "command-api"

# Progress is plain NATS (not stored): ``paperledger.progress.<owner>.<document>``.
PROGRESS_PREFIX = "paperledger.progress"

BLOB_BUCKET = "paperledger-blobs"

OCR_CONSUMER = "ocr-workers"


def event_subject(event_type: str) -> str:
    """Returns the subject of an event type such as ``Document.Uploaded``."""
    return f"{EVENTS_PREFIX}.{event_type}"


def progress_subject(owner_id: UUID, document_id: UUID) -> str:
    """Returns the subject OCR progress of one document is published on."""
    return f"{PROGRESS_PREFIX}.{owner_id}.{document_id}"


def progress_subjects_of(owner_id: UUID) -> str:
    """Returns the wildcard subject of all OCR progress of one owner."""
    return f"{PROGRESS_PREFIX}.{owner_id}.*"
