"""An app served by uvicorn on a free loopback port, as the product serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from infra.embedded import free_port


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[int]:
    """Serves ``app``, lifespan included, while in the block; yields its port."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task
