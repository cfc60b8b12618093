"""Starting a projector process: read models and stream ready, stop on a signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from infra.logs import configure_logging
from infra.nats import connect, ensure_stream
from infra.postgres import create_read_models
from infra.settings import Settings, get_settings, require
from projectors.consumer import Sink, StreamConsumer


async def run_projector(component: str, make_sink: Callable[[Settings], Sink]) -> None:
    """Feeds the event stream to the sink ``make_sink`` returns until stopped."""
    settings = get_settings()
    configure_logging(component, settings.log_level)
    database_url = require(settings.database_url, "database_url")
    nats_url = require(settings.nats_url, "nats_url")
    await asyncio.to_thread(create_read_models, database_url)
    client = await connect(nats_url, f"{component}-setup")
    try:
        await ensure_stream(client.jetstream())
    finally:
        await client.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await StreamConsumer(make_sink(settings), nats_url).run(stop)
