"""The contract as JSON Schema, for consumers written in any language."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas import subjects
from schemas.commands import CommandReply, CompleteOcr, FailOcr, OcrProgress
from schemas.events import EVENT_DATA, EventEnvelope

COMMANDS: dict[str, tuple[str, type[BaseModel]]] = {
    "CompleteOcr": (subjects.COMPLETE_OCR, CompleteOcr),
    "FailOcr": (subjects.FAIL_OCR, FailOcr),
}


def contract() -> dict[str, Any]:
    """Returns every subject and message of the bus with its JSON Schema."""
    return {
        "envelope": {
            "subject": f"{subjects.EVENTS_PREFIX}.<type>",
            "schema": EventEnvelope.model_json_schema(),
        },
        "events": {
            f"{name}/v{version}": {
                "subject": subjects.event_subject(name),
                "data": model.model_json_schema(),
            }
            for (name, version), model in EVENT_DATA.items()
        },
        "commands": {
            name: {
                "subject": subject,
                "schema": model.model_json_schema(),
                "reply": CommandReply.model_json_schema(),
            }
            for name, (subject, model) in COMMANDS.items()
        },
        "progress": {
            "subject": f"{subjects.PROGRESS_PREFIX}.<owner_id>.<document_id>",
            "schema": OcrProgress.model_json_schema(),
        },
    }
