"""Runs the PostgreSQL projector: ``python -m projectors``."""

from __future__ import annotations

import asyncio
import signal

from infra.logs import configure_logging
from infra.nats import connect, ensure_stream
from infra.postgres import create_read_models
from infra.settings import get_settings, require
from projectors.consumer import PostgresProjector


async def main() -> None:
    """Prepares the read models and the stream, then projects until told to stop."""
    settings = get_settings()
    configure_logging("projector", settings.log_level)
    database_url = require(settings.database_url, "database_url")
    nats_url = require(settings.nats_url, "nats_url")
    await asyncio.to_thread(create_read_models, database_url)
    client = await connect(nats_url, "projector-setup")
    try:
        await ensure_stream(client.jetstream())
    finally:
        await client.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await PostgresProjector(database_url, nats_url).run(stop)


if __name__ == "__main__":
    asyncio.run(main())
