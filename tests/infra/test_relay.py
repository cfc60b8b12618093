"""The relay: every stored event reaches JetStream once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder
from nats.js.api import ConsumerConfig, DeliverPolicy

from command_api.application import Paperledger
from command_api.envelopes import decode
from infra.nats import connect
from infra.postgres import eventsourcing_env
from infra.relay import Relay
from infra.settings import Settings
from schemas.events import EventEnvelope, validate_event
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Paperledger]:
    assert settings.database_url
    ledger = Paperledger(env=eventsourcing_env(settings.database_url))
    yield ledger
    ledger.close()


async def _relay_for(ledger: Paperledger, settings: Settings, seconds: float) -> None:
    assert settings.nats_url
    assert settings.database_url
    client = await connect(settings.nats_url, "relay-test")
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    relay = Relay(
        recorder, lambda n: decode(ledger, n), client.jetstream(), settings.database_url
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 5)
    await client.close()


async def _published(settings: Settings) -> list[tuple[str, EventEnvelope]]:
    assert settings.nats_url
    client = await connect(settings.nats_url, "reader")
    js = client.jetstream()
    info = await js.stream_info(EVENTS_STREAM)
    subscription = await js.subscribe(
        ALL_EVENTS,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    messages = []
    for _ in range(info.state.messages):
        message = await subscription.next_msg(timeout=5)
        assert message.headers is not None
        messages.append(
            (
                message.headers["Nats-Msg-Id"],
                EventEnvelope.model_validate_json(message.data),
            )
        )
    await client.close()
    return messages


async def test_every_event_is_published_in_order_with_its_position_as_id(
    ledger: Paperledger, settings: Settings
) -> None:
    for name in ("ann", "ben", "cat"):
        ledger.register_user(name)
        ledger.issue_token(name)

    await _relay_for(ledger, settings, 1.5)

    published = await _published(settings)
    positions = [envelope.position for _, envelope in published]
    assert positions == list(range(1, 13))
    assert all(msg_id == str(e.position) for msg_id, e in published)
    for _, envelope in published:
        validate_event(envelope)


async def test_a_restarted_relay_goes_on_without_duplicates(
    ledger: Paperledger, settings: Settings
) -> None:
    ledger.register_user("dora")
    await _relay_for(ledger, settings, 1.0)
    ledger.issue_token("dora")

    await _relay_for(ledger, settings, 1.0)

    published = await _published(settings)
    assert [e.position for _, e in published] == [1, 2, 3, 4]


async def test_a_relay_that_lost_its_position_is_deduplicated_by_jetstream(
    ledger: Paperledger, settings: Settings
) -> None:
    import psycopg

    ledger.register_user("eve")
    await _relay_for(ledger, settings, 1.0)
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM relay_position")

    await _relay_for(ledger, settings, 1.0)

    published = await _published(settings)
    assert [e.position for _, e in published] == [1, 2, 3]


async def test_new_events_are_relayed_while_it_runs(
    ledger: Paperledger, settings: Settings
) -> None:
    relaying = asyncio.create_task(_relay_for(ledger, settings, 2.0))
    await asyncio.sleep(0.5)

    await asyncio.to_thread(ledger.register_user, "fay")
    await relaying

    published = await _published(settings)
    assert [e.type for _, e in published] == [
        "Folder.Created",
        "Folder.Created",
        "User.Registered",
    ]
