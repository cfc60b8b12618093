from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client

from infra.nats import connect
from infra.settings import Settings


@pytest.fixture
async def client(nats_url: str) -> AsyncIterator[Client]:
    """Returns the test's own connection to the fixture NATS."""
    connection = await connect(nats_url, "ocr-worker-test")
    yield connection
    await connection.close()


@pytest.fixture
def worker_settings(nats_url: str) -> Settings:
    """Returns settings for workers that give up and redeliver quickly."""
    return Settings(
        nats_url=nats_url,
        ocr_timeout_seconds=60,
        ocr_ack_wait_seconds=2,
        ocr_max_deliveries=2,
    )
