"""The consumer of the event stream that keeps the PostgreSQL read models current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from infra.nats import connect
from infra.stream import start_after
from projectors.positions import current_position, project_batch
from schemas.events import EventEnvelope
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0


class PostgresProjector:
    """Applies the stream in order, each batch with its position in one transaction.

    The read models hold their own position, so the projector needs no durable
    consumer: it reads on from the stream sequence after that position with an
    ordered consumer, which never skips or reorders. A redelivered event is at
    or below the stored position and changes nothing.
    """

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        *,
        batch_size: int = 256,
        fetch_timeout: float = 1.0,
    ) -> None:
        self._database_url = database_url
        self._nats_url = nats_url
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._conn: psycopg.Connection[Any] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Projects batches until ``stop`` is set."""
        client = await connect(self._nats_url, "projector-postgres")
        try:
            js = client.jetstream()
            position = await self._wait_for_position(stop)
            if position is None:
                return
            subscription = await self._subscribe(js, position)
            logger.info("postgres projector started on %s", ALL_EVENTS)
            while not stop.is_set():
                messages = await self._next_batch(subscription)
                if messages:
                    await self._handle(messages, stop)
        finally:
            await client.close()
            await asyncio.to_thread(self._disconnect)
        logger.info("postgres projector stopped")

    async def _wait_for_position(self, stop: asyncio.Event) -> int | None:
        """Returns the read models' position once PostgreSQL answers; None on stop."""
        delay = 0.5
        while not stop.is_set():
            try:
                return await asyncio.to_thread(self._position)
            except psycopg.Error as e:
                logger.warning("PostgreSQL unavailable, retry in %.1f s: %s", delay, e)
                await asyncio.to_thread(self._disconnect)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        return None

    async def _subscribe(
        self, js: JetStreamContext, position: int
    ) -> JetStreamContext.PushSubscription:
        start = await start_after(js, position)
        logger.info("reading on from position %s (stream sequence %s)", position, start)
        return await js.subscribe(
            ALL_EVENTS,
            stream=EVENTS_STREAM,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            ),
        )

    async def _next_batch(
        self, subscription: JetStreamContext.PushSubscription
    ) -> list[Msg]:
        try:
            batch = [await subscription.next_msg(timeout=self._fetch_timeout)]
        except TimeoutError:
            return []
        while len(batch) < self._batch_size and subscription.pending_msgs > 0:
            batch.append(await subscription.next_msg(timeout=self._fetch_timeout))
        return batch

    async def _handle(self, messages: list[Msg], stop: asyncio.Event) -> None:
        envelopes = [e for e in map(_decode, messages) if e is not None]
        delay = 0.5
        isolate = False
        while True:
            try:
                await asyncio.to_thread(self._commit, envelopes, isolate)
                break
            except psycopg.OperationalError as e:
                logger.warning("PostgreSQL unavailable, retry in %.1f s: %s", delay, e)
            except psycopg.Error as e:
                logger.warning("a batch failed, retrying event by event: %s", e)
                isolate = True
            await asyncio.to_thread(self._disconnect)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
                return
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._database_url, autocommit=True)
        return self._conn

    def _position(self) -> int:
        with self._connection().transaction():
            return current_position(self._connection())

    def _commit(self, envelopes: list[EventEnvelope], isolate: bool) -> None:
        self._conn = self._connection()
        position = project_batch(self._conn, envelopes, isolate=isolate)
        logger.debug("batch of %s committed at position %s", len(envelopes), position)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _decode(message: Msg) -> EventEnvelope | None:
    try:
        return EventEnvelope.model_validate_json(message.data)
    except ValidationError as e:
        logger.error(
            "skipped a malformed message: subject %s, position %s: %s",
            message.subject,
            (message.headers or {}).get("Nats-Msg-Id"),
            e,
        )
        return None
