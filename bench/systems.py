"""The system under test and the reference servers, started and stopped by the run."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx

from bench.browse_corpus import Library, StoredPdf, plan_library, write_library
from command_api.application import Paperledger
from infra.blobs import BlobStore
from infra.embedded import free_port
from infra.nats import connect
from infra.postgres import eventsourcing_env
from infra.proxy import proxy_command, proxy_env
from infra.settings import Settings
from tests.e2e.system import System
from tests.scans import image_only_pdf

logger = logging.getLogger(__name__)

READY_SECONDS = 60.0
USER = "bench"


@dataclass(frozen=True)
class BenchUser:
    """The user every request is made as, with a token and the user's folders."""

    token: str
    id: UUID
    home_folder_id: UUID
    inbox_folder_id: UUID

    @property
    def headers(self) -> dict[str, str]:
        """Returns the Authorization header of this user."""
        return {"Authorization": f"Bearer {self.token}"}


def group_commit_modes() -> list[tuple[str, dict[str, str]]]:
    """Returns the write paths to compare: group commit off and on, if it exists."""
    if "group_commit" not in Settings.model_fields:
        return [("", {})]
    return [
        ("group commit off", {"PAPERLEDGER_GROUP_COMMIT": "false"}),
        ("group commit on", {"PAPERLEDGER_GROUP_COMMIT": "true"}),
    ]


@contextmanager
def running_system(root: Path, overrides: dict[str, str]) -> Iterator[System]:
    """Starts ``paperledger up`` on free ports under ``root``; stops it afterwards."""
    root.mkdir(parents=True)
    system = System(root / "data")
    system.env.update(overrides)
    logger.info("starting the system in %s with %s", root, overrides or "defaults")
    system.start()
    try:
        yield system
    finally:
        system.stop()


def nats_url(system: System) -> str:
    """Returns the URL of the system's embedded NATS server."""
    return f"nats://127.0.0.1:{system.env['PAPERLEDGER_NATS_PORT']}"


def add_user(system: System) -> BenchUser:
    """Creates the bench user and a token, and waits until the token works."""
    system.cli("users", "add", USER)
    token = system.cli("tokens", "add", USER, "--label", "bench")
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        me = httpx.get(f"{system.url}/api/me", headers=headers, timeout=5)
        if me.status_code == 200:
            body = me.json()
            return BenchUser(
                token,
                UUID(body["id"]),
                UUID(body["home_folder_id"]),
                UUID(body["inbox_folder_id"]),
            )
        time.sleep(0.1)
    raise RuntimeError("the bench user's token never started to work")


def wait_for_position(
    system: System, user: BenchUser, position: int, seconds: float
) -> float:
    """Waits until the read models reach ``position``; returns how long it took."""
    started = time.monotonic()
    headers = {**user.headers, "Paperledger-Position": str(position)}
    while time.monotonic() - started < seconds:
        me = httpx.get(f"{system.url}/api/me", headers=headers, timeout=30)
        if me.status_code == 200:
            return time.monotonic() - started
    raise RuntimeError(f"the read models did not reach {position} in {seconds} s")


@contextmanager
def ledger(system: System) -> Iterator[Paperledger]:
    """Yields the event-sourced application on the system's event store."""
    application = Paperledger(env=eventsourcing_env(system.database_url))
    try:
        yield application
    finally:
        application.close()


def store_pdf(system: System, pdf: bytes) -> StoredPdf:
    """Puts ``pdf`` into the system's blob store, as an upload would."""

    async def put() -> str:
        client = await connect(nats_url(system), "bench")
        try:
            return await BlobStore(client.jetstream()).put(pdf)
        finally:
            await client.close()

    return StoredPdf(asyncio.run(put()), len(pdf))


def add_library(
    system: System, user: BenchUser, documents: int, seconds: float
) -> Library:
    """Writes a generated library of ``documents`` and waits until it is projected."""
    pdf = store_pdf(system, image_only_pdf([["Paperledger benchmark page"]]))
    plan = plan_library(documents)
    started = time.monotonic()
    with ledger(system) as application:
        library = write_library(
            application, user.id, user.home_folder_id, user.inbox_folder_id, plan, pdf
        )
    written = time.monotonic() - started
    projected = wait_for_position(system, user, library.position, seconds)
    logger.info(
        "wrote %s documents in %.1f s; projected %.1f s later",
        documents,
        written,
        projected,
    )
    return library


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """Runs ``command`` until it answers on ``port``; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(process, f"{url}/openapi.json", f"{url}/health")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], *urls: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        for url in urls:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"{process.args!r} did not answer in {READY_SECONDS} s")


@contextmanager
def reference_servers() -> Iterator[tuple[str, str]]:
    """Runs the bare reference app and the product's proxy in front of it.

    Yields the app's own URL and the proxy's, the same hop a command takes.
    """
    app_port, proxy_port = free_port(), free_port()
    settings = Settings(
        port=proxy_port,
        command_api_port=app_port,
        query_api_port=app_port,
        data_dir=Path(tempfile.mkdtemp(prefix="bench-proxy-")),
    )
    app = [sys.executable, "-m", "bench.reference", str(app_port)]
    with (
        serving(app, app_port, {}) as direct,
        serving(proxy_command(), proxy_port, proxy_env(settings)) as proxied,
    ):
        yield direct, proxied
