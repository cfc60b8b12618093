"""A notifier served on a free port, and a NATS client to feed it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from nats.aio.client import Client
from websockets.asyncio.client import ClientConnection

from infra.nats import connect
from infra.settings import Settings
from notifier.app import create_app
from tests.serving import serving

RECEIVE_TIMEOUT_SECONDS = 5.0


@asynccontextmanager
async def serving_ws(app: FastAPI) -> AsyncIterator[str]:
    """Serves an app on a free port while in the block; yields its websocket URL."""
    async with serving(app) as port:
        yield f"ws://127.0.0.1:{port}/ws"


@pytest.fixture
async def notifier(settings: Settings) -> AsyncIterator[str]:
    """Serves the notifier until the test ends; returns its websocket URL."""
    async with serving_ws(create_app(settings, token_check_seconds=0.2)) as url:
        yield url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """Returns a NATS client for the test to publish with."""
    client = await connect(nats_url, "notifier-tests")
    yield client
    await client.close()


async def receive(socket: ClientConnection) -> dict[str, Any]:
    """Returns the next frame of a socket as JSON, failing if none comes in time."""
    text = await asyncio.wait_for(socket.recv(), RECEIVE_TIMEOUT_SECONDS)
    frame: dict[str, Any] = json.loads(text)
    return frame
