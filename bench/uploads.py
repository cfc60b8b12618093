"""Figure 3: one-page PDF uploads accepted per second, OCR not included."""

from __future__ import annotations

import logging
from pathlib import Path

from bench.config import BenchConfig
from bench.load import LoadSpec, measure
from bench.stats import Summary
from bench.systems import BenchUser
from bench.table import Figure
from tests.e2e.system import System
from tests.scans import image_only_pdf

logger = logging.getLogger(__name__)

UPLOAD_SECONDS_LIMIT = 300.0


def write_scans(folder: Path, count: int) -> list[str]:
    """Writes ``count`` different one-page image-only PDFs; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"page-{number:05d}.pdf"
        path.write_bytes(image_only_pdf([[f"Benchmark upload {number}", "receipt"]]))
        paths.append(str(path))
    return paths


def upload_figures(
    system: System, user: BenchUser, scans: list[str], config: BenchConfig
) -> list[Figure]:
    """Uploads every scan from ``config.upload_clients`` clients, each once."""
    logger.info("figure 3: %s uploads", len(scans))
    result = measure(
        LoadSpec(
            system.url,
            user.token,
            "uploads",
            clients=config.upload_clients,
            seconds=UPLOAD_SECONDS_LIMIT,
            warmup=0.0,
            files=scans,
        )
    )
    latency = Summary.of(result.latencies_ms)
    name = f"3 uploads, {config.upload_clients} clients"
    return [
        Figure(f"{name}: rate", result.throughput, "/s"),
        Figure(f"{name}: p50", latency.p50, "ms"),
        Figure(f"{name}: p99", latency.p99, "ms"),
        Figure(f"{name}: failed", float(sum(result.errors.values())), ""),
    ]
