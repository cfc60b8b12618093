"""The relay: follows the event store's notification log into JetStream, in order.

It publishes each event with ``Nats-Msg-Id`` set to its position, so that a
re-publish after a crash is dropped by JetStream, and records its own position
only after JetStream acknowledged the whole batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from nats.js import JetStreamContext
from psycopg.sql import SQL, Identifier

from schemas.events import EventEnvelope
from schemas.subjects import EVENTS_STREAM, event_subject

logger = logging.getLogger(__name__)

BATCH = 500
IDLE_WAIT_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0

_CREATE_POSITION_TABLE = (
    "CREATE TABLE IF NOT EXISTS relay_position ("
    " id integer PRIMARY KEY CHECK (id = 1), position bigint NOT NULL)"
)


class Relay:
    """Publishes every stored event to JetStream exactly in notification order."""

    def __init__(
        self,
        recorder: PostgresApplicationRecorder,
        decode: Callable[[Notification], EventEnvelope],
        js: JetStreamContext,
        database_url: str,
    ) -> None:
        self._recorder = recorder
        self._decode = decode
        self._js = js
        self._database_url = database_url

    async def run(self, stop: asyncio.Event) -> None:
        """Relays until ``stop`` is set, backing off while a service is down."""
        backoff = 0.1
        while not stop.is_set():
            try:
                await self._follow(stop)
            except (OSError, psycopg.Error, TimeoutError) as e:
                logger.warning("relay paused for %.1f s: %s", backoff, e)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _follow(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._database_url, autocommit=True
        ) as conn:
            await conn.execute(_CREATE_POSITION_TABLE)
            await conn.execute(
                SQL("LISTEN {}").format(Identifier(self._recorder.channel_name))
            )
            position = await _load_position(conn)
            logger.info("relay following the event log from position %s", position)
            while not stop.is_set():
                relayed = await self.relay_batch(conn, position)
                # Fewer than a batch: all there was; what is stored next notifies.
                if relayed - position < BATCH:
                    await _wait_for_notify(conn, stop)
                position = relayed

    async def relay_batch(
        self, conn: psycopg.AsyncConnection[object], after: int
    ) -> int:
        """Publishes the next batch after ``after``; returns the new position."""
        notifications = await asyncio.to_thread(
            self._recorder.select_notifications, after, BATCH, inclusive_of_start=False
        )
        if not notifications:
            return after
        pending = []
        for notification in notifications:
            envelope = self._decode(notification)
            pending.append(
                await self._js.publish_async(
                    event_subject(envelope.type),
                    envelope.model_dump_json().encode(),
                    stream=EVENTS_STREAM,
                    headers={"Nats-Msg-Id": str(notification.id)},
                )
            )
        await asyncio.wait_for(asyncio.gather(*pending), timeout=30)
        position = int(notifications[-1].id)
        await conn.execute(
            "INSERT INTO relay_position (id, position) VALUES (1, %s)"
            " ON CONFLICT (id) DO UPDATE SET position = excluded.position",
            (position,),
        )
        logger.debug("relayed positions %s..%s", notifications[0].id, position)
        return position


async def _load_position(conn: psycopg.AsyncConnection[object]) -> int:
    cursor = await conn.execute("SELECT position FROM relay_position WHERE id = 1")
    row: tuple[int] | None = await cursor.fetchone()  # type: ignore[assignment]
    return int(row[0]) if row else 0


async def _wait_for_notify(
    conn: psycopg.AsyncConnection[object], stop: asyncio.Event
) -> None:
    async for _ in conn.notifies(timeout=IDLE_WAIT_SECONDS, stop_after=1):
        break


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _main() -> None:
    # The relay decodes with the write side's own event classes.
    from command_api.application import Paperledger
    from command_api.envelopes import decode
    from infra.nats import connect, ensure_stream
    from infra.postgres import eventsourcing_env
    from infra.settings import get_settings, require

    settings = get_settings()
    database_url = require(settings.database_url, "database_url")
    ledger = Paperledger(env=eventsourcing_env(database_url))
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    client = await connect(require(settings.nats_url, "nats_url"), "relay")
    js = client.jetstream()
    await ensure_stream(js)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    relay = Relay(recorder, lambda n: decode(ledger, n), js, database_url)
    try:
        await relay.run(stop)
    finally:
        await client.close()
        ledger.close()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def main() -> None:
    """Runs the relay until SIGINT or SIGTERM: ``python -m infra.relay``."""
    from infra.logs import configure_logging
    from infra.settings import get_settings

    configure_logging("relay", get_settings().log_level)
    asyncio.run(_main())


if __name__ == "__main__":
    main()
