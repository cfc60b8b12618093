"""Read models on a fresh database, and a way to compare two of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from infra.postgres import create_read_models
from tests.conftest import Services

TABLES = (
    "positions",
    "users",
    "api_tokens",
    "folders",
    "documents",
    "pages",
    "document_events",
    "search_configs",
)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Returns a connection to a database with empty read models."""
    create_read_models(database_url)
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def other_database_url(services: Services) -> str:
    """Returns the URL of a second new, empty database."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = services.postgres.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as admin_conn:
        admin_conn.execute(f'CREATE DATABASE "{name}"')
    return services.postgres.url.rsplit("/", 1)[0] + f"/{name}"


def dump(database_url: str) -> dict[str, list[str]]:
    """Returns every row of every read-model table as sorted JSON text."""
    with psycopg.connect(database_url) as connection:
        return {
            table: sorted(
                row[0]
                for row in connection.execute(
                    f"SELECT row_to_json(t)::text FROM read_model.{table} t"
                )
            )
            for table in TABLES
        }
