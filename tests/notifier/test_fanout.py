from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.client import Client

from notifier.fanout import Fanout
from schemas.subjects import event_subject
from tests.notifier.bus import renamed

EVENTS = 400


async def test_events_the_client_drops_are_read_again_and_reach_the_owner_in_order(
    nc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # The client holds a few events at most, so it drops most of a burst.
    fanout = Fanout(
        nc, nc.jetstream(), outbox_limit=10 * EVENTS, pending_bytes=16 * 1024,
        stall_seconds=0.5,
    )  # fmt: skip
    await fanout.start()
    owner = uuid.uuid4()
    outbox = await fanout.attach(owner)
    try:
        for position in range(1, EVENTS + 1):
            envelope = renamed(position, owner, size=1000)
            await nc.publish(
                event_subject(envelope.type),
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(position)},
            )
        await nc.flush()
        frames = [
            await asyncio.wait_for(outbox.take(), timeout=10) for _ in range(EVENTS)
        ]
    finally:
        await fanout.stop()

    dropped = [r for r in caplog.records if "dropped by the client" in r.getMessage()]
    assert dropped
    assert [frame.position for frame in frames] == list(range(1, EVENTS + 1))
