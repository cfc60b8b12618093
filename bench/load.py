"""The load generator, run in its own process: ``python -m bench.load < spec.json``.

It sends requests closed-loop (a fixed number of clients, each sending its next
request when the previous one is answered) or open-loop (at a fixed rate), and
prints what it measured as JSON. For commands it can also time when each write
becomes visible through the query API and when its event arrives on a websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import aiohttp
import uvloop

logger = logging.getLogger(__name__)

# However the system behaves, nothing here waits longer than this.
REQUEST_TIMEOUT_SECONDS = 30.0
FRAME_GRACE_SECONDS = 5.0
MAX_IN_FLIGHT = 2000


@dataclass
class LoadSpec:
    """What to send, to where, how hard and for how long."""

    base_url: str
    token: str
    kind: Literal["commands", "gets", "uploads"]
    clients: int = 16
    seconds: float = 10.0
    warmup: float = 2.0
    rate: float | None = None
    max_requests: int = 1_000_000
    documents: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    ws_url: str | None = None
    read_every: int = 0


@dataclass
class LoadResult:
    """What came back: answers in the measured window, latencies and lags in ms."""

    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    window: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    read_lag_ms: list[float] = field(default_factory=list)
    ws_lag_ms: list[float] = field(default_factory=list)
    ws_missing: int = 0
    late_starts: int = 0
    # Writes the system refused as overloaded (503 with Retry-After).
    refused: int = 0

    @property
    def throughput(self) -> float:
        """Returns successful requests per second of the measured window."""
        return self.ok / self.window if self.window else 0.0


class Load:
    """One run of a spec: the clients, what they measured, and the websocket."""

    def __init__(self, spec: LoadSpec, session: aiohttp.ClientSession) -> None:
        self.spec = spec
        self.session = session
        self.nonce = secrets.token_hex(3)
        self.started = time.perf_counter()
        self.window_start = self.started + spec.warmup
        self.window_end = self.window_start + spec.seconds
        self.issued = 0
        self.writes = 0
        self.last_done = 0.0
        self.result = LoadResult(window=spec.seconds)
        self.errors: Counter[str] = Counter()
        self.written: list[tuple[float, int]] = []
        self.arrivals: dict[int, float] = {}
        self.last_written = 0
        self.caught_up = asyncio.Event()
        self.reads: set[asyncio.Task[None]] = set()
        self.uploads = [Path(p).read_bytes() for p in spec.files]

    def more(self) -> bool:
        """Says whether another request may start."""
        return (
            time.perf_counter() < self.window_end
            and self.issued < self.spec.max_requests
            and (self.spec.kind != "uploads" or self.issued < len(self.uploads))
        )

    async def closed_loop(self, client: int) -> None:
        """Sends requests one after another until time or count runs out."""
        count = 0
        while self.more():
            sequence = self.issued
            self.issued += 1
            await self.request(client, count, sequence, time.perf_counter())
            count += 1

    async def open_loop(self, rate: float) -> None:
        """Starts requests at ``rate`` per second, each timed from its schedule."""
        tasks: set[asyncio.Task[None]] = set()
        while self.more():
            sequence = self.issued
            scheduled = self.started + sequence / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.issued += 1
            if len(tasks) >= MAX_IN_FLIGHT:
                self.result.late_starts += 1
                continue
            task = asyncio.create_task(self.request(0, sequence, sequence, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_SECONDS)

    async def request(self, client: int, count: int, sequence: int, t0: float) -> None:
        """Sends one request and records its latency if it ends in the window."""
        try:
            status, headers, document = await self.send(client, count, sequence)
        except (aiohttp.ClientError, TimeoutError) as e:
            self.errors[type(e).__name__] += 1
            return
        done = time.perf_counter()
        if not self.window_start <= done <= self.window_end:
            return
        if status == HTTPStatus.SERVICE_UNAVAILABLE and "Retry-After" in headers:
            self.result.refused += 1
            return
        if status >= 400:
            self.errors[str(status)] += 1
            return
        self.result.ok += 1
        self.last_done = max(self.last_done, done)
        self.result.latencies_ms.append((done - t0) * 1000)
        position = headers.get("Paperledger-Position")
        if self.spec.kind == "commands" and position is not None:
            self.record_write(done, int(position), document)

    def record_write(self, done: float, position: int, document: str) -> None:
        """Keeps when a write was answered, and reads it back if sampled."""
        self.writes += 1
        if self.spec.ws_url:
            self.written.append((done, position))
        every = self.spec.read_every
        if every and self.writes % every == 0:
            task = asyncio.create_task(self.read_back(done, position, document))
            self.reads.add(task)
            task.add_done_callback(self.reads.discard)

    async def send(
        self, client: int, count: int, sequence: int
    ) -> tuple[int, Any, str]:
        """Sends the request numbered ``sequence``; returns status, headers, target."""
        spec = self.spec
        if spec.kind == "gets":
            path = spec.paths[(client + count * spec.clients) % len(spec.paths)]
            async with self.session.get(spec.base_url + path) as response:
                await response.read()
                return response.status, response.headers, path
        if spec.kind == "uploads":
            form = aiohttp.FormData()
            form.add_field(
                "file",
                self.uploads[sequence],
                filename=f"page-{sequence}.pdf",
                content_type="application/pdf",
            )
            form.add_field("title", f"Upload {sequence}")
            url = f"{spec.base_url}/api/documents"
            async with self.session.post(url, data=form) as response:
                await response.read()
                return response.status, response.headers, ""
        return await self.command(client, count, sequence)

    async def command(
        self, client: int, count: int, sequence: int
    ) -> tuple[int, Any, str]:
        """Renames or tags a document; concurrent clients never share one."""
        documents = self.spec.documents
        if self.spec.rate is None:
            index = (client + count * self.spec.clients) % len(documents)
            rename = count % 2 == 0
        else:
            index = sequence % len(documents)
            rename = (sequence // len(documents)) % 2 == 0
        url = f"{self.spec.base_url}/api/documents/{documents[index]}"
        label = f"{self.nonce}-{sequence}"
        if rename:
            call = self.session.patch(url, json={"title": f"Renamed {label}"})
        else:
            call = self.session.post(f"{url}/tags", json={"tag": f"t{label}"})
        async with call as response:
            await response.read()
            return response.status, response.headers, documents[index]

    async def read_back(self, written: float, position: int, document: str) -> None:
        """Reads the written document, waiting for ``position``; records the lag."""
        url = f"{self.spec.base_url}/api/documents/{document}"
        headers = {"Paperledger-Position": str(position)}
        try:
            async with self.session.get(url, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    lag = time.perf_counter() - written
                    self.result.read_lag_ms.append(lag * 1000)
                else:
                    self.errors[f"read {response.status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as e:
            self.errors[f"read {type(e).__name__}"] += 1

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Notes when each event frame arrives, by its position."""
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame.get("kind") == "event":
                position = frame["position"]
                self.arrivals.setdefault(position, time.perf_counter())
                if self.last_written and position >= self.last_written:
                    self.caught_up.set()

    async def settle(self) -> None:
        """Waits, bounded, for outstanding read-backs and frames; fills the lags."""
        if self.reads:
            await asyncio.wait(self.reads, timeout=REQUEST_TIMEOUT_SECONDS)
        # Events arrive in position order, so the last write's frame comes last.
        self.last_written = max((p for _, p in self.written), default=0)
        if self.spec.ws_url and self.last_written not in self.arrivals:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.caught_up.wait(), FRAME_GRACE_SECONDS)
        for done, position in self.written:
            arrived = self.arrivals.get(position)
            if arrived is None:
                self.result.ws_missing += 1
            else:
                self.result.ws_lag_ms.append((arrived - done) * 1000)
        self.result.errors = dict(self.errors)
        if self.issued >= self.spec.max_requests or (
            self.spec.kind == "uploads" and self.issued >= len(self.uploads)
        ):
            # The work ran out before the time did: the window ends with it.
            self.result.window = max(self.last_done - self.window_start, 1e-9)


async def run(spec: LoadSpec) -> LoadResult:
    """Runs ``spec`` against its server and returns what was measured."""
    headers = {"Authorization": f"Bearer {spec.token}"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        headers=headers, timeout=timeout, connector=connector
    ) as session:
        ws = None
        if spec.ws_url:
            ws = await session.ws_connect(f"{spec.ws_url}?token={spec.token}")
        load = Load(spec, session)
        listener = asyncio.create_task(load.listen(ws)) if ws else None
        try:
            if spec.rate is not None:
                await load.open_loop(spec.rate)
            else:
                await asyncio.gather(
                    *(load.closed_loop(i) for i in range(spec.clients))
                )
            await load.settle()
        finally:
            if listener:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            if ws:
                await ws.close()
    return load.result


def measure(spec: LoadSpec) -> LoadResult:
    """Runs ``spec`` in a separate process, so the client has its own interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load"],
        input=json.dumps(asdict(spec)),
        capture_output=True,
        text=True,
        timeout=spec.warmup + spec.seconds + 2 * REQUEST_TIMEOUT_SECONDS + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    result = LoadResult(**json.loads(done.stdout))
    if result.errors or result.ws_missing or result.late_starts:
        logger.warning(
            "load on %s: errors %s, frames missing %s, not started %s",
            spec.base_url,
            result.errors,
            result.ws_missing,
            result.late_starts,
        )
    return result


def main() -> None:
    """Reads a spec as JSON on stdin, runs it, prints the result as JSON."""
    spec = LoadSpec(**json.load(sys.stdin))
    result = uvloop.run(run(spec))
    json.dump(asdict(result), sys.stdout)


if __name__ == "__main__":
    main()
