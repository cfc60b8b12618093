"""A running command API with two registered users, on the test's own services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from command_api.app import create_app
from command_api.application import Paperledger
from command_api.envelopes import read_log
from infra.postgres import create_read_models, eventsourcing_env
from infra.settings import Settings
from projectors.positions import project_batch


@dataclass(frozen=True)
class Account:
    """A registered user and the headers that act as them."""

    id: UUID
    home_folder_id: UUID
    inbox_folder_id: UUID
    headers: dict[str, str]


def sync_read_models(database_url: str, ledger: Paperledger) -> None:
    """Projects everything in the event store, as the running projector would."""
    with psycopg.connect(database_url) as conn:
        project_batch(conn, list(read_log(ledger)))


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Paperledger]:
    assert settings.database_url
    create_read_models(settings.database_url)
    ledger = Paperledger(env=eventsourcing_env(settings.database_url))
    yield ledger
    ledger.close()


def register(ledger: Paperledger, database_url: str, name: str) -> Account:
    """Registers a user with a token, visible to the API at once."""
    written = ledger.register_user(name)
    token, _ = ledger.issue_token(name, "tests")
    sync_read_models(database_url, ledger)
    user = ledger.user(written.id)
    return Account(
        user.id,
        user.home_folder_id,
        user.inbox_folder_id,
        {"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def alice(ledger: Paperledger, settings: Settings) -> Account:
    assert settings.database_url
    return register(ledger, settings.database_url, "alice")


@pytest.fixture
def bob(ledger: Paperledger, settings: Settings) -> Account:
    assert settings.database_url
    return register(ledger, settings.database_url, "bob")


@pytest.fixture
def client(settings: Settings, ledger: Paperledger) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client
