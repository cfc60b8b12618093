"""Starts the whole system: embedded services, then every component as a process."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

import anyio

from infra.embedded import EmbeddedNats, EmbeddedPostgres
from infra.nats import ensure_jetstream
from infra.postgres import create_read_models, eventsourcing_env
from infra.proxy import proxy_command, proxy_env
from infra.settings import Settings

logger = logging.getLogger(__name__)

COMPONENTS: dict[str, str] = {
    "command-api": "command_api",
    "query-api": "query_api",
    "notifier": "notifier",
    "relay": "infra.relay",
    "projector": "projectors",
    "ocr-worker": "ocr_worker",
    "docs": "infra.docs",
}
# Not a Python module: Caddy, the one public URL in front of the components.
PROXY = "proxy"
MAX_RESTART_DELAY = 30.0
STOP_GRACE_SECONDS = 15.0


@dataclass
class Child:
    """One component process and when it may next be restarted."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    @classmethod
    def of_module(cls, name: str, module: str) -> Child:
        """Returns the child that runs ``python -m module``."""
        return cls(name, [sys.executable, "-m", module])

    def start(self, env: dict[str, str]) -> None:
        """Starts the component with the given environment and its own additions."""
        self.process = subprocess.Popen(self.command, env=env | self.env)
        self.started_at = time.monotonic()
        logger.info("started %s (pid %s)", self.name, self.process.pid)


class Supervisor:
    """Runs embedded PostgreSQL and NATS where none is configured, and the children."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.resolved_data_dir
        self.postgres = (
            None
            if settings.database_url
            else EmbeddedPostgres(data / "postgres", settings.postgres_port)
        )
        self.nats = (
            None
            if settings.nats_url
            else EmbeddedNats(data / "nats", settings.nats_port)
        )
        self.children = children(settings)
        self._stopping = False

    def run(self) -> None:
        """Starts everything, keeps it running, stops it all on SIGINT or SIGTERM."""
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        try:
            env = self._prepare()
            for child in self.children:
                child.start(env)
            logger.info(
                "Paperledger is starting at http://%s:%s (API docs at /docs)",
                self.settings.host,
                self.settings.port,
            )
            self._watch(env)
        finally:
            self._stop_children()
            if self.nats:
                self.nats.stop()
            if self.postgres:
                self.postgres.stop()
            logger.info("Paperledger stopped")

    def _prepare(self) -> dict[str, str]:
        self.settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        if self.postgres:
            self.postgres.start()
        if self.nats:
            self.nats.start()
        database_url = self.settings.database_url or self._url(self.postgres)
        nats_url = self.settings.nats_url or self._url(self.nats)
        prepare_services(database_url, nats_url)
        env = dict(os.environ)
        env["PAPERLEDGER_DATABASE_URL"] = database_url
        env["PAPERLEDGER_NATS_URL"] = nats_url
        env["PAPERLEDGER_DATA_DIR"] = str(self.settings.resolved_data_dir)
        return env

    @staticmethod
    def _url(service: EmbeddedPostgres | EmbeddedNats | None) -> str:
        assert service is not None
        return service.url

    def _watch(self, env: dict[str, str]) -> None:
        while not self._stopping:
            for child in self.children:
                self._restart_if_dead(child, env)
            time.sleep(0.2)

    def _restart_if_dead(self, child: Child, env: dict[str, str]) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is None or self._stopping:
            return
        if time.monotonic() - child.started_at > MAX_RESTART_DELAY:
            child.restarts = 0
        delay = min(2.0**child.restarts, MAX_RESTART_DELAY)
        if time.monotonic() - child.started_at < delay:
            return
        logger.warning("%s exited with %s; restarting", child.name, code)
        child.restarts += 1
        child.start(env)

    def _request_stop(self, signum: int, _: FrameType | None) -> None:
        if not self._stopping:
            logger.info("stopping on %s", signal.Signals(signum).name)
        self._stopping = True

    def _stop_children(self) -> None:
        running = [
            c.process for c in self.children if c.process and c.process.poll() is None
        ]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children(settings: Settings) -> list[Child]:
    """Returns one child per component, and ``ocr_workers`` OCR workers (maybe 0).

    Where OpenSearch is configured, its projector keeps the search index current.
    """
    result = []
    for name, module in COMPONENTS.items():
        if name != "ocr-worker":
            result.append(Child.of_module(name, module))
            continue
        for number in range(1, settings.ocr_workers + 1):
            numbered = name if number == 1 else f"{name}-{number}"
            result.append(Child.of_module(numbered, module))
    if settings.opensearch_url:
        result.append(Child.of_module("projector-opensearch", "projectors.opensearch"))
    result.append(Child(PROXY, proxy_command(), proxy_env(settings)))
    return result


def prepare_services(database_url: str, nats_url: str) -> None:
    """Creates tables, stream and bucket once, before components race to."""
    from command_api.application import Paperledger

    create_read_models(database_url)
    Paperledger(env=eventsourcing_env(database_url)).close()
    anyio.run(ensure_jetstream, nats_url)
