"""Uploads as the worker reads them from the bus, with a log that names them."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ocr_worker.errors import MalformedUploadError
from schemas.events import DocumentUploaded, EventEnvelope, validate_event


class MessageLog(logging.LoggerAdapter[logging.Logger]):
    """Stamps every record with the subject, position and document it is about."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        assert self.extra is not None
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        context = "{subject} #{position} document {document_id}".format_map(self.extra)
        return f"[{context}] {msg}", kwargs


@dataclass(frozen=True)
class Upload:
    """One Document.Uploaded event, and the log to report on it."""

    envelope: EventEnvelope
    data: DocumentUploaded
    log: MessageLog

    @property
    def document_id(self) -> UUID:
        return self.envelope.aggregate_id


def read_upload(body: bytes, subject: str, log_to: logging.Logger) -> Upload:
    """Returns the upload in a message body, or raises MalformedUploadError."""
    try:
        envelope = EventEnvelope.model_validate_json(body)
        data = validate_event(envelope)
    except ValueError as e:
        raise MalformedUploadError(str(e)) from None
    if not isinstance(data, DocumentUploaded):
        raise MalformedUploadError(f"{envelope.type} is not Document.Uploaded")
    context = {
        "subject": subject,
        "position": envelope.position,
        "document_id": str(envelope.aggregate_id),
    }
    return Upload(envelope, data, MessageLog(log_to, context))
