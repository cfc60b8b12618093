"""Killing workers mid-work loses nothing and duplicates nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.system import System
from tests.scans import image_only_pdf

pytestmark = pytest.mark.e2e

TABLES = {
    "users": "id",
    "api_tokens": "token_hash",
    "folders": "id",
    "documents": "id",
    "pages": "document_id, number",
    "document_events": "position",
    "positions": "projector",
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = System(tmp_path_factory.mktemp("faults") / "data")
    system.start()
    yield system
    system.stop()


def _dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(
                f"SELECT * FROM read_model.{table} ORDER BY {order}"
            ).fetchall()
            for table, order in TABLES.items()
        }


def _wait_for_ocr(api: httpx.Client, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [api.get(f"/api/documents/{i}").json()["ocr"]["status"] for i in ids]
        if all(status != "pending" for status in statuses):
            assert set(statuses) == {"completed"}
            return
        time.sleep(0.5)
    raise AssertionError(f"OCR still pending after {timeout} s")


def test_killed_projector_and_ocr_worker_converge_to_a_rebuild(system: System) -> None:
    system.cli("users", "add", "kim")
    token = system.cli("tokens", "add", "kim")
    api = httpx.Client(
        base_url=system.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    ids = []
    for n in range(3):
        scan = image_only_pdf([[f"document number {n}", "fault tolerance"]])
        answer = api.post("/api/documents", files={"file": (f"{n}.pdf", scan)})
        ids.append(answer.json()["id"])

    system.component("ocr-worker").kill()
    tagged = 0
    for round_ in range(40):
        if round_ == 20:
            system.component("projector").kill()
        for document_id in ids:
            answer = api.post(
                f"/api/documents/{document_id}/tags", json={"tag": f"t{round_}"}
            )
            assert answer.status_code == 200, answer.text
            tagged += 1
    last = api.post(f"/api/documents/{ids[0]}/tags", json={"tag": "last"})

    _wait_for_ocr(api, ids, timeout=240)
    wait = {"Paperledger-Position": last.headers["paperledger-position"]}
    documents = [api.get(f"/api/documents/{i}", headers=wait).json() for i in ids]
    assert [len(d["tags"]) for d in documents] == [41, 40, 40]
    before = _dump(system.database_url)
    tags_in_history = sum(
        1 for row in before["document_events"] if row[3] == "Document.Tagged"
    )
    assert tags_in_history == tagged + 1

    system.cli("rebuild")

    assert _dump(system.database_url) == before
