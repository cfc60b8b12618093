"""Users and tokens in the read model, written directly until projectors exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from infra.auth import hash_token, new_token
from infra.postgres import create_read_models


@dataclass(frozen=True)
class User:
    """A registered user and one of its bearer tokens."""

    id: uuid.UUID
    token: str


async def register_user(database_url: str, name: str) -> User:
    """Adds a user with one token to the read model, creating its tables."""
    create_read_models(database_url)
    user = User(uuid.uuid4(), new_token())
    now = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO read_model.users VALUES (%s, %s, %s, %s, %s)",
            (user.id, name, uuid.uuid4(), uuid.uuid4(), now),
        )
        await conn.execute(
            "INSERT INTO read_model.api_tokens"
            " (token_hash, token_id, user_id, label, created_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (hash_token(user.token), uuid.uuid4(), user.id, "tests", now),
        )
    return user


async def revoke_tokens(database_url: str, user: User) -> None:
    """Marks every token of a user as revoked."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "UPDATE read_model.api_tokens SET revoked = true WHERE user_id = %s",
            (user.id,),
        )
