"""Connections to NATS and the JetStream stream and bucket Paperledger uses."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.errors import SlowConsumerError
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError

from schemas.subjects import ALL_EVENTS, BLOB_BUCKET, EVENTS_STREAM

logger = logging.getLogger(__name__)

# A relay that re-publishes after a crash is deduplicated within this window;
# consumers still guard with positions for anything older.
DUPLICATE_WINDOW_SECONDS = 15 * 60.0


# Dropped messages of one subscription are reported at most this often.
DROP_REPORT_SECONDS = 10.0


async def connect(url: str, name: str) -> Client:
    """Returns a client connected to ``url`` that reconnects forever."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=ClientErrors(name).report,
    )


class ClientErrors:
    """Logs the errors a client meets outside any call: one line each, no traceback.

    The client reports every message it drops for a slow consumer, thousands in
    a burst; they are summed per subscription and logged at most once every
    ``DROP_REPORT_SECONDS``. The projectors and the notifier notice such a gap
    themselves and read again from it.
    """

    def __init__(
        self,
        name: str,
        every: float = DROP_REPORT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._every = every
        self._clock = clock
        self._dropped: dict[int, int] = {}
        self._reported: dict[int, float] = {}

    async def report(self, error: Exception) -> None:
        """Logs ``error``, or counts it when it is a message dropped lately."""
        if not isinstance(error, SlowConsumerError):
            logger.warning("NATS client %s: %s", self._name, error)
            return
        dropped = self._dropped.get(error.sid, 0) + 1
        now = self._clock()
        if now - self._reported.get(error.sid, -self._every) < self._every:
            self._dropped[error.sid] = dropped
            return
        self._dropped[error.sid] = 0
        self._reported[error.sid] = now
        logger.warning(
            "NATS client %s dropped %s message(s) on %s for a slow consumer",
            self._name,
            dropped,
            error.subject,
        )


async def ensure_stream(js: JetStreamContext) -> None:
    """Creates the event stream on first use; an existing one is left as it is."""
    try:
        await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=EVENTS_STREAM,
                subjects=[ALL_EVENTS],
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
        )
        logger.info("created JetStream stream %s", EVENTS_STREAM)


async def ensure_blob_bucket(js: JetStreamContext) -> None:
    """Creates the object store bucket for blobs on first use."""
    try:
        await js.object_store(BLOB_BUCKET)
    except BucketNotFoundError:
        await js.create_object_store(BLOB_BUCKET, storage=StorageType.FILE)
        logger.info("created object store bucket %s", BLOB_BUCKET)


async def ensure_jetstream(url: str) -> None:
    """Creates everything on JetStream that the components expect to find."""
    client = await connect(url, "paperledger-setup")
    try:
        js = client.jetstream()
        await ensure_stream(js)
        await ensure_blob_bucket(js)
    finally:
        await client.close()
