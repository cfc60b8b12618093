"""Bearer tokens at the command API: cached briefly, refused once revoked."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID

import psycopg
from fastapi.testclient import TestClient

from infra.auth import TokenCache, hash_token
from infra.nats import connect
from infra.settings import Settings
from schemas.events import EventEnvelope
from schemas.subjects import event_subject
from tests.command_api.conftest import Account

WAIT_SECONDS = 3.0


def _folder(client: TestClient, account: Account) -> int:
    answer = client.post("/api/folders", json={"title": "x"}, headers=account.headers)
    status: int = answer.status_code
    return status


def _token_id(database_url: str, account: Account) -> UUID:
    token = account.headers["Authorization"].removeprefix("Bearer ")
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT token_id FROM read_model.api_tokens WHERE token_hash = %s",
            (hash_token(token),),
        ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def _revoke_in_read_model(database_url: str, account: Account) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE read_model.api_tokens SET revoked = true WHERE user_id = %s",
            (account.id,),
        )


async def _publish_revocation(nats_url: str, account: Account, token_id: UUID) -> None:
    envelope = EventEnvelope(
        position=1_000_000,
        type="User.TokenRevoked",
        schema_version=1,
        aggregate_id=account.id,
        version=99,
        timestamp=datetime.now(UTC),
        actor="cli",
        owner_id=account.id,
        data={"token_id": str(token_id)},
    )
    client = await connect(nats_url, "test-revoker")
    await client.publish(
        event_subject("User.TokenRevoked"), envelope.model_dump_json().encode()
    )
    await client.flush()
    await client.close()


def _status_within(client: TestClient, account: Account, status: int) -> float:
    """Returns how long it took until a write is answered with ``status``."""
    started = time.monotonic()
    while time.monotonic() - started < WAIT_SECONDS:
        if _folder(client, account) == status:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"writes were not answered with {status}")


def test_a_published_revocation_counts_at_once_though_the_token_was_cached(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    assert settings.database_url
    assert settings.nats_url
    assert _folder(client, alice) == 201

    token_id = _token_id(settings.database_url, alice)
    asyncio.run(_publish_revocation(settings.nats_url, alice, token_id))

    # The read model still holds the token as valid: only the event refuses it.
    _status_within(client, alice, 401)
    assert _folder(client, alice) == 401


def test_a_revocation_heard_of_only_through_the_read_model_counts_within_the_ttl(
    client: TestClient, alice: Account, bob: Account, settings: Settings
) -> None:
    assert settings.database_url
    client.app.state.tokens = TokenCache(seconds=0.5)  # type: ignore[attr-defined]
    assert _folder(client, alice) == 201

    _revoke_in_read_model(settings.database_url, alice)

    assert _status_within(client, alice, 401) <= WAIT_SECONDS
    assert _folder(client, bob) == 201


def test_malformed_and_unknown_tokens_get_401_and_are_not_kept(
    client: TestClient, alice: Account
) -> None:
    headers = [
        "Bearer " + "x" * 5000,
        "Bearer ' OR 1=1 --",
        "Bearer",
        "Basic YWxpY2U6cGFzcw==",
        "bearer\tplt_tab",
        *(f"Bearer plt_unknown_{n}" for n in range(50)),
    ]

    statuses = {
        client.post(
            "/api/folders", json={"title": "x"}, headers={"Authorization": header}
        ).status_code
        for header in headers
    }

    assert statuses == {401}
    assert len(client.app.state.tokens) == 0  # type: ignore[attr-defined]
    assert _folder(client, alice) == 201
    assert len(client.app.state.tokens) == 1  # type: ignore[attr-defined]
