"""Past as many writes as it takes at once, the command API refuses at once."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import httpx

from command_api.app import create_app
from command_api.application import Paperledger
from command_api.envelopes import read_log
from infra.settings import Settings
from tests.command_api.conftest import Account
from tests.serving import serving

DEADLINE_SECONDS = 10.0


async def _status_when(
    http: httpx.AsyncClient, account: Account, wanted: int
) -> httpx.Response:
    """Sends a write that would change nothing until it is answered ``wanted``."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        response = await http.patch(
            f"/api/documents/{uuid4()}", json={"title": "x"}, headers=account.headers
        )
        if response.status_code == wanted or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.02)


async def test_a_write_past_the_limit_is_refused_at_once_and_changes_nothing(
    settings: Settings, ledger: Paperledger, alice: Account
) -> None:
    app = create_app(settings.model_copy(update={"max_pending_writes": 1}))
    async with (
        serving(app) as port,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE_SECONDS
        ) as http,
    ):
        # A write whose body never ends stays under way.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/folders HTTP/1.1\r\nHost: test\r\n"
            + f"Authorization: {alice.headers['Authorization']}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        busy = await _status_when(http, alice, 503)
        events = len(list(read_log(ledger)))
        refused = await http.post(
            "/api/folders", json={"title": "Taxes"}, headers=alice.headers
        )
        events_after = len(list(read_log(ledger)))
        read = await http.get("/health")
        writer.close()
        await writer.wait_closed()
        free = await _status_when(http, alice, 404)
        created = await http.post(
            "/api/folders", json={"title": "Taxes"}, headers=alice.headers
        )

    assert busy.status_code == 503
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "try again" in refused.json()["detail"]
    assert events_after == events
    assert read.status_code == 200
    assert free.status_code == 404
    assert created.status_code == 201
