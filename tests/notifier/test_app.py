from __future__ import annotations

import asyncio
import logging
import socket
import uuid

import httpx
import pytest
from nats.aio.client import Client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from infra.settings import Settings
from notifier.app import create_app
from schemas.subjects import event_subject
from tests.notifier.bus import publish_event, publish_progress, renamed
from tests.notifier.conftest import receive, serving_ws
from tests.notifier.users import User, register_user, revoke_tokens


def as_bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def positions(socket: ClientConnection, count: int) -> list[int]:
    return [(await receive(socket))["position"] for _ in range(count)]


async def closing_code(socket: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_a_live_event_arrives_as_an_event_frame(
    notifier: str, nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    event = renamed(7, alice.id)

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await publish_event(nc.jetstream(), event)
        frame = await receive(socket)

    assert frame == {
        "kind": "event",
        "position": 7,
        "type": "Document.Renamed",
        "aggregate_id": str(event.aggregate_id),
        "version": 2,
        "timestamp": event.model_dump(mode="json")["timestamp"],
        "actor": str(alice.id),
        "data": {"title": "document at 7"},
    }


async def test_live_events_reach_only_the_sockets_of_their_owner(
    notifier: str, nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    bob = await register_user(settings.database_url or "", "bob")
    js = nc.jetstream()

    async with (
        connect(notifier, additional_headers=as_bearer(alice)) as alices,
        connect(f"{notifier}?token={bob.token}") as bobs,
    ):
        for position, owner in [(1, bob), (2, alice), (3, bob), (4, alice)]:
            await publish_event(js, renamed(position, owner.id))
        seen_by_alice = await positions(alices, 2)
        seen_by_bob = await positions(bobs, 2)

    assert seen_by_alice == [2, 4]
    assert seen_by_bob == [1, 3]


async def test_ocr_progress_reaches_only_its_owner(
    notifier: str, nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    bob = await register_user(settings.database_url or "", "bob")
    document = uuid.uuid4()

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await publish_progress(nc, bob.id, uuid.uuid4(), page=9)
        await nc.publish(f"paperledger.progress.{alice.id}.{document}", b"{}")
        await publish_progress(nc, alice.id, document, page=2)
        frame = await receive(socket)

    assert frame == {
        "kind": "progress",
        "document_id": str(document),
        "stage": "page",
        "page": 2,
        "pages": 3,
    }


async def test_since_replays_exactly_the_missed_events_then_continues_live(
    notifier: str, nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    bob = await register_user(settings.database_url or "", "bob")
    js = nc.jetstream()
    # Positions have gaps, and owners interleave, as in the event store.
    backlog = [(3 * i, alice if i % 3 else bob) for i in range(1, 601)]
    live = [(3 * i, alice if i % 2 else bob) for i in range(601, 801)]
    for position, owner in backlog:
        await publish_event(js, renamed(position, owner.id))
    since = 900

    async def publish_live() -> None:
        for position, owner in live:
            await publish_event(js, renamed(position, owner.id))
            await asyncio.sleep(0)

    # Publishing starts before the socket opens and goes on while it catches up.
    publishing = asyncio.create_task(publish_live())
    async with connect(f"{notifier}?token={alice.token}&since={since}") as socket:
        expected = [p for p, o in backlog + live if o is alice and p > since]
        seen = await positions(socket, len(expected))
        await publishing
        # A re-published event, beyond the stream's duplicate window, is not resent.
        again = renamed(expected[-1], alice.id)
        await js.publish(event_subject(again.type), again.model_dump_json().encode())
        await publish_event(js, renamed(5000, alice.id))
        following = await positions(socket, 1)

    assert seen == expected
    assert following == [5000]


async def test_a_missing_token_is_refused_with_401(notifier: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(notifier)

    assert refused.value.response.status_code == 401


async def test_an_unknown_token_is_refused_with_401(
    notifier: str, settings: Settings
) -> None:
    await register_user(settings.database_url or "", "alice")

    with pytest.raises(InvalidStatus) as refused:
        await connect(notifier, additional_headers={"Authorization": "Bearer plt_x"})

    assert refused.value.response.status_code == 401
    assert b"bearer token" in refused.value.response.body


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", ""])
async def test_a_bad_since_is_refused_with_400(
    notifier: str, settings: Settings, since: str
) -> None:
    alice = await register_user(settings.database_url or "", "alice")

    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{notifier}?since={since}", additional_headers=as_bearer(alice))

    assert refused.value.response.status_code == 400
    assert b"since must be" in refused.value.response.body


async def test_a_small_text_frame_from_the_client_is_ignored(
    notifier: str, nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await socket.send("hello")
        await publish_event(nc.jetstream(), renamed(1, alice.id))
        seen = await positions(socket, 1)

    assert seen == [1]


async def test_an_oversized_client_frame_closes_the_socket_with_1009(
    notifier: str, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await socket.send("x" * 2000)
        code = await closing_code(socket)

    assert code == 1009


async def test_a_binary_client_frame_closes_the_socket_with_1003(
    notifier: str, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await socket.send(b"\x00\x01")
        code = await closing_code(socket)

    assert code == 1003


async def test_a_revoked_token_closes_its_open_socket_with_4401(
    notifier: str, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")

    async with connect(notifier, additional_headers=as_bearer(alice)) as socket:
        await revoke_tokens(settings.database_url or "", alice)
        code = await closing_code(socket)

    assert code == 4401


async def test_health_counts_the_open_sockets(
    notifier: str, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    url = notifier.replace("ws://", "http://").replace("/ws", "/health")

    async with (
        connect(notifier, additional_headers=as_bearer(alice)),
        httpx.AsyncClient() as http,
    ):
        response = await http.get(url)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "connections": 1}


async def test_a_client_that_stops_reading_is_closed_with_1013(
    nc: Client, settings: Settings
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    app = create_app(settings, outbox_limit=5)
    js = nc.jetstream()

    async with serving_ws(app) as url:
        port = int(url.split(":")[2].split("/")[0])
        async with connect(
            url,
            sock=small_receive_buffer_to(port),
            additional_headers=as_bearer(alice),
            max_queue=1,
            compression=None,
        ) as socket:
            # The client reads nothing while the events fill every buffer on the way.
            for position in range(1, 401):
                await publish_event(js, renamed(position, alice.id, size=16_000))
            await asyncio.sleep(0.2)
            code = await code_after_draining(socket)

    assert code == 1013


def small_receive_buffer_to(port: int) -> socket.socket:
    """Returns a socket connected to ``port`` whose kernel buffer fills quickly."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))
    client.setblocking(False)
    return client


async def code_after_draining(websocket: ClientConnection) -> int | None:
    """Reads every frame left, then returns the code the server closed with."""
    try:
        while True:
            await asyncio.wait_for(websocket.recv(), 5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_a_token_in_the_url_never_reaches_the_logs(
    notifier: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await register_user(settings.database_url or "", "alice")
    caplog.set_level(logging.INFO)

    async with connect(f"{notifier}?token={alice.token}"):
        pass

    assert "token=***" in caplog.text
    assert alice.token not in caplog.text
