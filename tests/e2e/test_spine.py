"""One document through every component, on the system as ``make up`` starts it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e.system import System
from tests.scans import multipage_tiff

pytestmark = pytest.mark.e2e

PAGES = [
    ["Paperledger quarterly report", "invoice number 4711"],
    ["the zebra crossed", "harbour lighthouse keeper"],
]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = System(tmp_path_factory.mktemp("e2e") / "data")
    system.start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def token(system: System) -> str:
    system.cli("users", "add", "alice")
    return system.cli("tokens", "add", "alice", "--label", "e2e")


def _frames_until(
    ws: ClientConnection, done: Any, timeout: float
) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        frames.append(frame)
        if done(frame):
            return frames
    raise AssertionError(f"gave up waiting; got {frames}")


def test_a_scan_goes_from_upload_to_search_history_and_time_travel(
    system: System, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    api = httpx.Client(base_url=system.url, headers=auth, timeout=30)

    with connect(f"{system.ws_url}?token={token}") as ws:
        upload = api.post(
            "/api/documents",
            files={"file": ("report.tiff", multipage_tiff(PAGES))},
            data={"title": "Quarterly scan", "lang": "eng"},
        )
        assert upload.status_code == 201, upload.text
        document_id = upload.json()["id"]
        renamed = api.patch(
            f"/api/documents/{document_id}",
            json={"title": "Report Q3"},
            headers={"If-Match": upload.headers["etag"]},
        )
        assert renamed.status_code == 200, renamed.text

        frames = _frames_until(
            ws, lambda f: f.get("type") == "Document.OcrCompleted", timeout=120
        )

    progress = [f for f in frames if f["kind"] == "progress"]
    assert next(f["stage"] for f in progress) == "started"
    assert {f["page"] for f in progress if f["stage"] == "page"} >= {1, 2}
    events = [f["type"] for f in frames if f["kind"] == "event"]
    assert events[:2] == ["Document.Uploaded", "Document.Renamed"]

    completed = next(f for f in frames if f.get("type") == "Document.OcrCompleted")
    wait = {"Paperledger-Position": str(completed["position"])}
    document = api.get(f"/api/documents/{document_id}", headers=wait).json()
    assert document["ocr"]["status"] == "completed"
    assert document["title"] == "Report Q3"
    assert "lighthouse" in document["pages"][1]["text"]

    hits = api.get("/api/search", params={"q": "lighthouse"}, headers=wait).json()
    assert [hit["document_id"] for hit in hits["items"]] == [document_id]
    assert hits["items"][0]["pages"] == [2]
    assert "<mark>" in hits["items"][0]["snippet"]

    history = api.get(f"/api/documents/{document_id}/history").json()
    assert [e["type"] for e in history["items"]] == [
        "Document.Uploaded",
        "Document.Renamed",
        "Document.OcrCompleted",
    ]

    then = api.get(f"/api/documents/{document_id}", params={"as_of": 1}).json()
    assert then["title"] == "Quarterly scan"
    assert then["ocr"]["status"] == "pending"

    archive = api.get(f"/api/documents/{document_id}/file?variant=archive")
    assert archive.status_code == 200
    assert archive.content.startswith(b"%PDF-")


def test_the_system_stops_cleanly_and_resumes_with_its_data(
    system: System, token: str
) -> None:
    api = httpx.Client(
        base_url=system.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    folder = api.post("/api/folders", json={"title": "Kept across restarts"})
    assert folder.status_code == 201

    assert system.stop() == 0
    system.start()

    kept = api.get(
        f"/api/folders/{folder.json()['id']}",
        headers={"Paperledger-Position": folder.headers["paperledger-position"]},
    )
    assert kept.json()["title"] == "Kept across restarts"


def test_the_docs_show_reads_and_writes_at_one_url(system: System) -> None:
    paths = httpx.get(f"{system.url}/openapi.json").json()["paths"]

    assert "post" in paths["/api/documents"]
    assert "get" in paths["/api/documents/{document_id}"]
    assert httpx.get(f"{system.url}/docs").status_code == 200


def test_everything_but_health_and_docs_needs_a_token(system: System) -> None:
    for method, path in [
        ("GET", "/api/me"),
        ("GET", "/api/search?q=x"),
        ("POST", "/api/folders"),
    ]:
        assert httpx.request(method, system.url + path).status_code == 401
    assert httpx.get(f"{system.url}/health").status_code == 200
