"""Figures 1 and 2: small commands through HTTP, and how soon their effects show."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from uuid import uuid4

from bench.config import BenchConfig
from bench.cpu import cpu_during, cpu_figures
from bench.load import LoadResult, LoadSpec, measure
from bench.stats import Summary
from bench.systems import BenchUser, reference_servers
from bench.table import Figure, Target
from tests.e2e.system import System

logger = logging.getLogger(__name__)

COMMANDS_PER_SECOND = Target(2000, "at least")
COMMAND_P99_MS = Target(25, "at most")
LAG_P99_MS = Target(50, "at most")
NO_FAILURES = Target(0, "at most")
# The share of the highest answered rate that figure 2 also offers as a fixed load.
SUSTAINED_SHARE = 0.8


def measure_reference(config: BenchConfig) -> tuple[LoadResult, LoadResult]:
    """Loads the bare FastAPI app directly and behind the proxy, as the product."""
    documents = [str(uuid4()) for _ in range(config.pool)]
    with reference_servers() as (direct, proxied):
        results = []
        for url in (direct, proxied):
            logger.info("figure 1: the bare reference app at %s", url)
            spec = LoadSpec(
                url,
                "reference",
                "commands",
                clients=config.clients,
                seconds=config.seconds,
                warmup=config.warmup,
                documents=documents,
            )
            results.append(measure(spec))
    return results[0], results[1]


def command_figures(
    system: System,
    user: BenchUser,
    documents: list[str],
    config: BenchConfig,
    reference: tuple[LoadResult, LoadResult],
    mode: str,
) -> list[Figure]:
    """Measures commands/s and latency with ``config.clients`` clients."""
    logger.info("figure 1: commands from %s clients %s", config.clients, mode)
    spec = _commands(system, user, documents, config)
    assert system.process is not None
    with cpu_during(system.process.pid, config.warmup, config.seconds) as cpu:
        result = measure(spec)
    # The same load straight at the command API shows what the proxy hop costs.
    command_api = f"http://127.0.0.1:{system.env['PAPERLEDGER_COMMAND_API_PORT']}"
    bypass = measure(replace(spec, base_url=command_api))
    direct, proxied = reference
    ours, theirs = Summary.of(result.latencies_ms), Summary.of(proxied.latencies_ms)
    name = f"1 commands, {config.clients} clients{_suffix(mode)}"
    via = "bare FastAPI via proxy"
    return [
        Figure(
            f"{name}: rate",
            result.throughput,
            "/s",
            COMMANDS_PER_SECOND,
            proxied.throughput,
            via,
        ),
        Figure(
            f"{name}: rate vs direct",
            result.throughput,
            "/s",
            reference=direct.throughput,
            reference_name="bare FastAPI direct",
        ),
        Figure(f"{name}: p50", ours.p50, "ms", None, theirs.p50, via),
        Figure(f"{name}: p99", ours.p99, "ms", COMMAND_P99_MS, theirs.p99, via),
        Figure(
            f"{name}: rate, command API without proxy",
            bypass.throughput,
            "/s",
            reference=direct.throughput,
            reference_name="bare FastAPI direct",
        ),
        Figure(
            f"{name}: p99, command API without proxy",
            Summary.of(bypass.latencies_ms).p99,
            "ms",
            reference=Summary.of(direct.latencies_ms).p99,
            reference_name="bare FastAPI direct",
        ),
        Figure(f"{name}: failed", _failures(result), "", NO_FAILURES),
        *cpu_figures(name, cpu, result.throughput),
    ]


def lag_figures(
    system: System,
    user: BenchUser,
    documents: list[str],
    config: BenchConfig,
    mode: str,
) -> list[Figure]:
    """Measures write-to-read-model and write-to-websocket lag at three loads.

    The fixed rate is the target's; the highest load is a closed loop; and since
    an open loop above what the system sustains measures its growing queue, the
    last load is a fixed rate the system does sustain: a share of the highest.
    """
    figures = _lag_at(system, user, documents, config, mode, config.rate)
    saturated = _lag_at(system, user, documents, config, mode, None)
    sustained = round(saturated[0].value * SUSTAINED_SHARE)
    return (
        figures
        + saturated
        + _lag_at(system, user, documents, config, mode, float(sustained))
    )


def _lag_at(
    system: System,
    user: BenchUser,
    documents: list[str],
    config: BenchConfig,
    mode: str,
    rate: float | None,
) -> list[Figure]:
    """Measures the lags at one offered ``rate`` (None: as fast as answered)."""
    load = "saturated" if rate is None else f"{rate:g}/s"
    logger.info("figure 2: projection lag at %s %s", load, mode)
    result = measure(
        _commands(
            system,
            user,
            documents,
            config,
            rate=rate,
            ws_url=system.ws_url,
            read_every=config.read_every,
        )
    )
    target = LAG_P99_MS if rate is not None else None
    read, ws = Summary.of(result.read_lag_ms), Summary.of(result.ws_lag_ms)
    name = f"2 lag at {load}{_suffix(mode)}"
    return [
        Figure(f"{name}: commands answered", result.throughput, "/s"),
        Figure(f"{name}: refused as overloaded (503)", float(result.refused), ""),
        Figure(f"{name}: to query API p50", read.p50, "ms"),
        Figure(f"{name}: to query API p99", read.p99, "ms", target),
        Figure(f"{name}: to websocket p50", ws.p50, "ms"),
        Figure(f"{name}: to websocket p99", ws.p99, "ms", target),
        Figure(
            f"{name}: failed or missing",
            _failures(result) + result.ws_missing + result.late_starts,
            "",
            NO_FAILURES,
        ),
    ]


def _commands(
    system: System,
    user: BenchUser,
    documents: list[str],
    config: BenchConfig,
    **extra: Any,
) -> LoadSpec:
    """Returns the load of renames and tags the configured clients send."""
    return LoadSpec(
        system.url,
        user.token,
        "commands",
        clients=config.clients,
        seconds=config.seconds,
        warmup=config.warmup,
        documents=documents,
        **extra,
    )


def _failures(result: LoadResult) -> float:
    return float(sum(result.errors.values()))


def _suffix(mode: str) -> str:
    return f" [{mode}]" if mode else ""
