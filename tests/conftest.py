"""Real services for the tests, started once per run with the product's launcher."""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from nats.js.errors import NotFoundError

from infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from infra.embedded_opensearch import EmbeddedOpenSearch, java_and_maven_available
from infra.nats import connect, ensure_jetstream
from infra.settings import Settings
from schemas.subjects import BLOB_BUCKET, EVENTS_STREAM


@dataclass(frozen=True)
class Services:
    """The embedded PostgreSQL and NATS servers shared by one test run."""

    postgres: EmbeddedPostgres
    nats: EmbeddedNats


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("services")
    postgres = EmbeddedPostgres(root / "postgres", free_port())
    nats = EmbeddedNats(root / "nats", free_port())
    postgres.start()
    nats.start()
    yield Services(postgres, nats)
    nats.stop()
    postgres.stop()


@pytest.fixture
def database_url(services: Services) -> str:
    """Returns the URL of a new, empty database for this test alone."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = services.postgres.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return services.postgres.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def nats_url(services: Services) -> str:
    """Returns the URL of the NATS server, its stream and bucket new for this test."""
    client = await connect(services.nats.url, "test-reset")
    js = client.jetstream()
    for stream in (EVENTS_STREAM, f"OBJ_{BLOB_BUCKET}"):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)
    await client.close()
    await ensure_jetstream(services.nats.url)
    return services.nats.url


@pytest.fixture
def settings(database_url: str, nats_url: str, tmp_path: Path) -> Settings:
    """Returns settings that point every component at this test's services."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        nats_url=nats_url,
        max_upload_bytes=5 * 1024 * 1024,
        ocr_timeout_seconds=120,
    )


@pytest.fixture(scope="session")
def opensearch(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmbeddedOpenSearch]:
    """Starts one embedded OpenSearch node for the whole run, or skips loudly."""
    missing = java_and_maven_available()
    if missing:
        message = f"OpenSearch tests cannot run: {missing}"
        if os.environ.get("PAPERLEDGER_REQUIRE_OPENSEARCH", "0") not in ("", "0"):
            pytest.fail(f"{message} (PAPERLEDGER_REQUIRE_OPENSEARCH is set)")
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    settings = Settings()
    node = EmbeddedOpenSearch(
        tmp_path_factory.mktemp("opensearch"),
        free_port(),
        build_dir=settings.opensearch_build_dir,
        heap=settings.opensearch_heap,
        quick_start=True,
    )
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def opensearch_url(opensearch: EmbeddedOpenSearch) -> str:
    """Returns the URL of the run's OpenSearch node; tests use their own indexes."""
    return opensearch.url
