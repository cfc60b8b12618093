"""The whole system started as ``make up`` starts it, on free ports in a temp dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from infra.embedded import free_port
from infra.supervisor import COMPONENTS

PAPERLEDGER = str(Path(sys.executable).parent / "paperledger")


class System:
    """``paperledger up`` as a child process, and the CLI pointed at it."""

    def __init__(self, data_dir: Path) -> None:
        self.env = dict(os.environ)
        ports = {
            "PORT": free_port(),
            "COMMAND_API_PORT": free_port(),
            "QUERY_API_PORT": free_port(),
            "NOTIFIER_PORT": free_port(),
            "DOCS_PORT": free_port(),
            "POSTGRES_PORT": free_port(),
            "NATS_PORT": free_port(),
        }
        for name, port in ports.items():
            self.env[f"PAPERLEDGER_{name}"] = str(port)
        self.env["PAPERLEDGER_DATA_DIR"] = str(data_dir)
        for name in ("DATABASE_URL", "NATS_URL", "OPENSEARCH_URL"):
            self.env.pop(f"PAPERLEDGER_{name}", None)
        self.url = f"http://127.0.0.1:{ports['PORT']}"
        self.ws_url = f"ws://127.0.0.1:{ports['PORT']}/ws"
        self.database_url = (
            f"postgresql://postgres@127.0.0.1:{ports['POSTGRES_PORT']}/paperledger"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / "up.log"

    def start(self, timeout: float = 90.0) -> None:
        """Starts the system and waits until every component answers."""
        self.process = subprocess.Popen(
            [PAPERLEDGER, "up"],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"paperledger up exited:\n{self.log.read_text()}")
            if self._ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"not ready in {timeout} s:\n{self.log.read_text()}")

    def _ready(self) -> bool:
        try:
            docs = httpx.get(f"{self.url}/openapi.json", timeout=2)
            health = httpx.get(f"{self.url}/api/me", timeout=2)
        except httpx.HTTPError:
            return False
        # /api/me answers 401 once the query API runs; the command API serves docs.
        return docs.status_code == 200 and health.status_code == 401

    def stop(self) -> int:
        """Stops the system as Ctrl-C does and returns its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(60)

    def cli(self, *args: str) -> str:
        """Runs ``paperledger ARGS`` against this system and returns its output."""
        done = subprocess.run(
            [PAPERLEDGER, *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def component(self, name: str) -> psutil.Process:
        """Returns the running process of one component."""
        assert self.process is not None
        module = COMPONENTS[name]
        for child in psutil.Process(self.process.pid).children():
            if child.cmdline()[-1] == module and child.is_running():
                return child
        raise LookupError(name)
