"""Bearer tokens: how they are made, hashed and looked up for every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

from psycopg import AsyncConnection

TOKEN_PREFIX = "plt_"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True)
class Principal:
    """The user a request acts for."""

    user_id: UUID
    name: str


def new_token() -> str:
    """Returns a fresh bearer token; only its hash is ever stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Returns the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """Returns the token of an ``Authorization: Bearer`` header, if well formed."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 256:
        return None
    return token


async def authenticate(
    conn: AsyncConnection[tuple[UUID, str]], token: str
) -> Principal | None:
    """Returns the user a token belongs to, or None for an unknown or revoked one."""
    cursor = await conn.execute(
        "SELECT u.id, u.name FROM read_model.api_tokens t"
        " JOIN read_model.users u ON u.id = t.user_id"
        " WHERE t.token_hash = %s AND NOT t.revoked",
        (hash_token(token),),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return Principal(user_id=row[0], name=row[1])
