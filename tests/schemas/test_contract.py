"""The bus contract: versioned models that accept what is valid and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from schemas.commands import CompleteOcr
from schemas.events import EVENT_DATA, EventEnvelope, UnknownEventError, validate_event


def _envelope(type_: str, data: dict[str, Any], version: int = 1) -> EventEnvelope:
    return EventEnvelope(
        position=1,
        type=type_,
        schema_version=version,
        aggregate_id=uuid4(),
        version=1,
        timestamp=datetime.now(UTC),
        actor="someone",
        owner_id=uuid4(),
        data=data,
    )


def test_an_unknown_event_type_or_version_is_not_in_the_contract() -> None:
    with pytest.raises(UnknownEventError):
        validate_event(_envelope("Document.Exploded", {}))
    with pytest.raises(UnknownEventError):
        validate_event(_envelope("Document.Renamed", {"title": "x"}, version=2))


@pytest.mark.parametrize(
    "data",
    [{}, {"title": ""}, {"title": "x", "extra": 1}, {"title": "x" * 2000}],
)
def test_event_data_outside_the_model_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate_event(_envelope("Document.Renamed", data))


def test_a_command_with_a_bad_digest_or_language_is_refused() -> None:
    good = {
        "document_id": str(uuid4()),
        "pdf_sha256": "a" * 64,
        "archive_sha256": "b" * 64,
        "lang": "eng",
        "pages": [],
        "seconds": 1.0,
        "worker": "w",
    }
    CompleteOcr.model_validate(good)

    for bad in ({"pdf_sha256": "../../etc"}, {"lang": "eng; rm -rf"}, {"seconds": -1}):
        with pytest.raises(ValidationError):
            CompleteOcr.model_validate(good | bad)


def test_the_contract_exports_as_json_schema_for_every_event() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "schemas"], capture_output=True, text=True, check=True
    ).stdout

    contract = json.loads(printed)

    assert len(contract["events"]) == len(EVENT_DATA)
    assert contract["events"]["Document.Uploaded/v1"]["subject"] == (
        "paperledger.events.Document.Uploaded"
    )
    assert set(contract["commands"]) == {"CompleteOcr", "FailOcr"}
