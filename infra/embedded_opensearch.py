"""Builds and starts one OpenSearch node embedded in a JVM, from Maven Central jars.

The jars come from ``infra/opensearch-node/pom.xml`` through Maven; one small
Java class (``EmbeddedNode``) starts a node with the modules a search engine
needs. Each build lives in a folder named after the hash of its sources, so a
build is done once and a running node never sees its jars change.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from infra.embedded import LaunchError

logger = logging.getLogger(__name__)

SOURCES = Path(__file__).resolve().parent / "opensearch-node"
POM = SOURCES / "pom.xml"
MAIN_CLASS = "org.paperledger.opensearch.EmbeddedNode"
JAVA_SOURCE = SOURCES / "src" / "main" / "java" / Path(*MAIN_CLASS.split("."))
JAVA_FILE = JAVA_SOURCE.with_suffix(".java")
DEFAULT_BUILD_DIR = SOURCES.parent.parent / "build" / "opensearch"
TOOLS = ("java", "javac", "mvn")
STOP_TIMEOUT_SECONDS = 60.0
BUILD_NAME_LENGTH = 16
STALE_BUILD_SECONDS = 3600.0


def java_and_maven_available() -> str | None:
    """Returns why the node cannot be built here, or None when it can."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"{', '.join(missing)} not found on PATH; embedded OpenSearch needs "
            "a Java 17 JDK and Maven"
        )
    return None


class EmbeddedOpenSearch:
    """One single-node OpenSearch cluster with its data in ``data_dir``, on loopback."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        build_dir: Path | None = None,
        heap: str = "512m",
        host: str = "127.0.0.1",
        quick_start: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.build_dir = build_dir or DEFAULT_BUILD_DIR
        self.heap = heap
        self.host = host
        # The client compiler alone starts the node in a third of the CPU time but
        # runs queries slower: right for tests, wrong for benchmarks.
        self.jit = ["-XX:TieredStopAtLevel=1"] if quick_start else []
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Returns the HTTP URL of this node."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Returns the JVM's process id while it runs."""
        return self._proc.pid if self._proc else None

    @property
    def _build(self) -> Path:
        if not POM.exists() or not JAVA_FILE.exists():
            raise LaunchError(f"{SOURCES} not found; run from a source checkout")
        digest = hashlib.sha256(POM.read_bytes() + JAVA_FILE.read_bytes())
        return self.build_dir / digest.hexdigest()[:BUILD_NAME_LENGTH]

    def build(self) -> Path:
        """Resolves the jars and compiles the main class unless already built."""
        target = self._build
        if target.exists():
            return target
        self.build_dir.mkdir(parents=True, exist_ok=True)
        with (self.build_dir / ".lock").open("w") as lock:
            # Another test run may be building the same sources right now.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.exists():
                self._build_into(target)
                self._remove_other_builds(target)
        return target

    def _remove_other_builds(self, keep: Path) -> None:
        # A build an hour old serves no node that is still starting up.
        cutoff = time.time() - STALE_BUILD_SECONDS
        for old in self.build_dir.iterdir():
            if (
                old != keep
                and len(old.name) == BUILD_NAME_LENGTH
                and old.stat().st_mtime < cutoff
            ):
                shutil.rmtree(old, ignore_errors=True)

    def _build_into(self, target: Path) -> None:
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=self.build_dir))
        try:
            _run(
                [
                    _tool("mvn"),
                    "-q",
                    "-B",
                    "-f",
                    str(POM),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={work / 'lib'}",
                ]
            )
            _run(
                [
                    _tool("javac"),
                    "-d",
                    str(work / "classes"),
                    "-cp",
                    str(work / "lib" / "*"),
                    str(JAVA_FILE),
                ]
            )
            work.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        logger.info(
            "Built embedded OpenSearch in %s in %.1f s",
            target,
            time.monotonic() - started,
        )

    def start(self, timeout: float = 120.0) -> None:
        """Builds if needed, starts the JVM and waits for green or yellow health."""
        if _listening(self.host, self.port):
            raise LaunchError(f"something already listens on {self.host}:{self.port}")
        build = self.build()
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / "jvm.log"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                [
                    _tool("java"),
                    f"-Xms{self.heap}",
                    f"-Xmx{self.heap}",
                    *self.jit,
                    "-Dfile.encoding=UTF-8",
                    "-cp",
                    f"{build / 'classes'}:{build / 'lib' / '*'}",
                    MAIN_CLASS,
                    str(self.data_dir),
                    str(self.port),
                    "--exit-with-stdin",
                ],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy(log, timeout)
        except BaseException:
            self.stop()
            raise
        logger.info("OpenSearch listening on %s (data in %s)", self.url, self.data_dir)

    def stop(self) -> None:
        """Closes the node on SIGTERM, which flushes every index to disk."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("OpenSearch did not close in time; killing it")
                proc.kill()
                proc.wait()
        if proc.stdin:
            proc.stdin.close()

    def wait(self) -> int:
        """Blocks until the JVM exits and returns its exit status."""
        if self._proc is None:
            raise LaunchError("OpenSearch is not running")
        return self._proc.wait()

    def _wait_healthy(self, log: Path, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise LaunchError(
                    f"OpenSearch exited with {self._proc.returncode}; "
                    f"see {log}:\n{tail}"
                )
            if _status(health) in ("green", "yellow"):
                return
            time.sleep(0.2)
        raise LaunchError(f"OpenSearch not healthy after {timeout} s; see {log}")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LaunchError(str(java_and_maven_available()))
    return found


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        output = (e.stdout + e.stderr).decode(errors="replace").strip()
        raise LaunchError(
            f"`{' '.join(command)}` failed with {e.returncode}:\n{output}"
        ) from e


def _status(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return str(json.load(response).get("status"))
    except (OSError, ValueError):
        return None


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
