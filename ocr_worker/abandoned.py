"""Failed OCR for uploads whose every delivery ended without an answer.

When a worker dies on the last delivery an upload is allowed, JetStream stops
delivering it and tells so with an advisory. One worker of the queue group turns
that advisory into FailOcr, so the document does not stay in processing.
"""

from __future__ import annotations

import json
import logging

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ocr_worker.errors import OcrWorkerError
from ocr_worker.reports import Reporter
from ocr_worker.uploads import read_upload
from schemas.subjects import EVENTS_STREAM, OCR_CONSUMER

logger = logging.getLogger(__name__)

MAX_DELIVERIES_ADVISORY = (
    f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{EVENTS_STREAM}.{OCR_CONSUMER}"
)


async def fail_abandoned_uploads(client: Client, reporter: Reporter) -> Subscription:
    """Subscribes to the advisory of uploads that ran out of deliveries."""
    js = client.jetstream()

    async def on_advisory(advisory: Msg) -> None:
        try:
            facts = json.loads(advisory.data)
            stored = await js.get_msg(EVENTS_STREAM, int(facts["stream_seq"]))
            upload = read_upload(stored.data or b"", stored.subject or "", logger)
        except (ValueError, KeyError, nats.errors.Error, OcrWorkerError) as e:
            logger.error("cannot act on a max-deliveries advisory: %s", e)
            return
        reason = (
            f"OCR did not finish in {facts.get('deliveries', 'all')} attempts; "
            "each worker stopped before it was done"
        )
        upload.log.error("%s", reason)
        try:
            await reporter.fail(upload, reason, persist=False)
        except OcrWorkerError as e:
            upload.log.error("FailOcr for an abandoned upload not sent: %s", e)

    return await client.subscribe(
        MAX_DELIVERIES_ADVISORY, queue=OCR_CONSUMER, cb=on_advisory
    )
