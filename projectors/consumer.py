"""The durable JetStream consumer that keeps the PostgreSQL read models current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from infra.nats import connect
from projectors.positions import project_batch
from schemas.events import EventEnvelope
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM, POSTGRES_PROJECTOR_CONSUMER

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0


class PostgresProjector:
    """Applies each batch from the stream in one transaction, then acks it."""

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        *,
        batch_size: int = 256,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
    ) -> None:
        self._database_url = database_url
        self._nats_url = nats_url
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._ack_wait = ack_wait
        self._conn: psycopg.Connection[Any] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Projects batches until ``stop`` is set."""
        client = await connect(self._nats_url, POSTGRES_PROJECTOR_CONSUMER)
        try:
            subscription = await self._subscribe(client.jetstream())
            logger.info("postgres projector started on %s", ALL_EVENTS)
            while not stop.is_set():
                messages = await self._fetch(subscription)
                if messages:
                    await self._handle(messages, stop)
        finally:
            await client.close()
            await asyncio.to_thread(self._disconnect)
        logger.info("postgres projector stopped")

    async def _subscribe(
        self, js: JetStreamContext
    ) -> JetStreamContext.PullSubscription:
        # A batch is all a consumer may have unacknowledged: after a crash the
        # unacked batch must come back before anything later, or positions skip it.
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=self._batch_size,
        )
        return await js.pull_subscribe(
            ALL_EVENTS,
            durable=POSTGRES_PROJECTOR_CONSUMER,
            stream=EVENTS_STREAM,
            config=config,
        )

    async def _fetch(
        self, subscription: JetStreamContext.PullSubscription
    ) -> list[Msg]:
        try:
            return await subscription.fetch(
                self._batch_size, timeout=self._fetch_timeout
            )
        except TimeoutError:
            # An idle stream; the fetch may time out on either side.
            return []

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
            for message in messages:
                await message.in_progress()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
                return
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        for message in messages:
            await message.ack()

    def _commit(self, envelopes: list[EventEnvelope], isolate: bool) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._database_url, autocommit=True)
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
