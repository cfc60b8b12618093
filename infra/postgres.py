"""PostgreSQL connections for the read side and the schema every component expects."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

logger = logging.getLogger(__name__)


def read_model_schema() -> str:
    """Returns the DDL of the read models; every statement is idempotent."""
    import projectors

    return Path(projectors.__file__).with_name("schema.sql").read_text()


def create_read_models(url: str) -> None:
    """Creates the read-model schema and tables where they are missing."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7201)")
        try:
            conn.execute(read_model_schema().encode())
        finally:
            conn.execute("SELECT pg_advisory_unlock(7201)")


def eventsourcing_env(url: str) -> dict[str, str]:
    """Returns the settings the eventsourcing library reads to reach ``url``."""
    parts = urlsplit(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "paperledger",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
    }
    return env
