from __future__ import annotations

import logging

import pytest
from nats.errors import SlowConsumerError, StaleConnectionError

from infra.nats import ClientErrors


def _dropped(sid: int, subject: str) -> SlowConsumerError:
    return SlowConsumerError(subject=subject, reply="", sid=sid, sub=None)  # type: ignore[arg-type]


async def test_messages_dropped_for_a_slow_consumer_are_summed_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = ClientErrors("projector-postgres", every=60.0)

    with caplog.at_level(logging.WARNING, "infra.nats"):
        for _ in range(1000):
            await errors.report(_dropped(7, "paperledger.events.Document.Uploaded"))
        await errors.report(_dropped(8, "paperledger.progress.x"))

    assert caplog.messages == [
        "NATS client projector-postgres dropped 1 message(s) on"
        " paperledger.events.Document.Uploaded for a slow consumer",
        "NATS client projector-postgres dropped 1 message(s) on"
        " paperledger.progress.x for a slow consumer",
    ]
    assert not any(record.exc_info for record in caplog.records)


async def test_drops_in_the_quiet_interval_are_counted_into_the_next_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    errors = ClientErrors("notifier", every=10.0, clock=lambda: now[0])
    await errors.report(_dropped(3, "paperledger.events.A"))
    for second in range(1, 10):
        now[0] = float(second)
        await errors.report(_dropped(3, "paperledger.events.A"))
    caplog.clear()

    now[0] = 10.0
    with caplog.at_level(logging.WARNING, "infra.nats"):
        await errors.report(_dropped(3, "paperledger.events.A"))

    assert caplog.messages == [
        "NATS client notifier dropped 10 message(s) on paperledger.events.A"
        " for a slow consumer"
    ]


async def test_other_client_errors_are_logged_as_they_come(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = ClientErrors("relay")

    with caplog.at_level(logging.WARNING, "infra.nats"):
        await errors.report(StaleConnectionError())

    assert caplog.messages == ["NATS client relay: nats: stale connection"]
