"""Runs the benchmarks and prints one table: ``python -m bench.run [--quick]``.

Every figure is measured on systems this run starts itself (``paperledger up``
on free ports, embedded defaults, data in a temporary folder) over data it
generates, with references measured in the same run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from bench.browse import browse_figures
from bench.commands import command_figures, lag_figures, measure_reference
from bench.config import BenchConfig
from bench.footprint import footprint_figures, usage_by_component
from bench.load import LoadResult
from bench.ocr import ocr_figures
from bench.rebuild import rebuild_figures
from bench.systems import (
    BenchUser,
    add_library,
    add_user,
    group_commit_modes,
    running_system,
)
from bench.table import Figure, format_table, to_json
from bench.uploads import upload_figures, write_scans
from infra.logs import configure_logging
from tests.e2e.system import System

logger = logging.getLogger(__name__)

ALL_FIGURES = frozenset(range(1, 8))
REST_SECONDS = 5.0
# The load systems start no OCR worker, so generated uploads cost no OCR time.
LOAD_SYSTEM = {"PAPERLEDGER_OCR_WORKERS": "0"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run of a few minutes")
    parser.add_argument("--documents", type=int, help="library size for figure 5")
    parser.add_argument("--clients", type=int, help="concurrent command clients")
    parser.add_argument("--seconds", type=float, help="length of each load phase")
    parser.add_argument("--rate", type=float, help="fixed load for figure 2, per s")
    parser.add_argument(
        "--figures",
        type=lambda text: frozenset(int(n) for n in text.split(",")),
        default=ALL_FIGURES,
        help="which figures to measure, e.g. 1,2 (default: all)",
    )
    parser.add_argument("--json", type=Path, help="where to write the results")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> BenchConfig:
    """Returns the sizes and durations the command line asks for."""
    config = BenchConfig().quick() if args.quick else BenchConfig()
    overrides = {
        name: getattr(args, name)
        for name in ("documents", "clients", "seconds", "rate")
        if getattr(args, name) is not None
    }
    return replace(config, **overrides)


def measure_default_system(
    root: Path, figures: frozenset[int], config: BenchConfig
) -> list[Figure]:
    """Footprint at rest and OCR, on the system exactly as ``make up`` starts it."""
    results: list[Figure] = []
    with running_system(root, {}) as system:
        user = add_user(system)
        if 7 in figures:
            time.sleep(REST_SECONDS)
            assert system.process is not None
            usage = usage_by_component(system.process.pid)
            results += footprint_figures(usage, "at rest")
        if 4 in figures:
            results += ocr_figures(system, user, root.parent / "ocr", config)
    return results


def measure_load_system(
    system: System,
    user: BenchUser,
    figures: frozenset[int],
    config: BenchConfig,
    reference: tuple[LoadResult, LoadResult] | None,
    mode: str,
) -> list[Figure]:
    """Commands and lag on one write path, on a system without OCR workers."""
    results: list[Figure] = []
    if figures & {1, 2}:
        pool = add_library(system, user, config.pool, _projection_seconds(config.pool))
        documents = [str(document) for document in pool.document_ids]
        if reference is not None:
            results += command_figures(system, user, documents, config, reference, mode)
        if 2 in figures:
            results += lag_figures(system, user, documents, config, mode)
    return results


def measure_the_rest(
    system: System,
    user: BenchUser,
    root: Path,
    figures: frozenset[int],
    config: BenchConfig,
) -> list[Figure]:
    """Uploads, browse, footprint after the load and rebuild, in that order."""
    results: list[Figure] = []
    if 3 in figures:
        scans = write_scans(root / "uploads", config.uploads)
        results += upload_figures(system, user, scans, config)
    if 5 in figures:
        library = add_library(
            system, user, config.documents, _projection_seconds(config.documents)
        )
        results += browse_figures(system, user, library, config)
    if 7 in figures and figures & {1, 2, 3, 5}:
        assert system.process is not None
        usage = usage_by_component(system.process.pid)
        results += footprint_figures(usage, "after the load")
    if 6 in figures:
        results += rebuild_figures(system)
    return results


def _projection_seconds(documents: int) -> float:
    return 120.0 + documents / 200


def run(figures: frozenset[int], config: BenchConfig, root: Path) -> list[Figure]:
    """Measures the figures asked for; returns them in figure order."""
    results: list[Figure] = []
    reference = measure_reference(config) if 1 in figures else None
    if figures & {4, 7}:
        results += measure_default_system(root / "default", figures, config)
    modes = group_commit_modes()
    for number, (mode, env) in enumerate(modes):
        last = number == len(modes) - 1
        if not (figures & {1, 2} or (last and figures & {3, 5, 6})):
            continue
        with running_system(root / f"load-{number}", {**LOAD_SYSTEM, **env}) as system:
            user = add_user(system)
            results += measure_load_system(
                system, user, figures, config, reference, mode
            )
            if last:
                results += measure_the_rest(system, user, root, figures, config)
    return sorted(results, key=lambda figure: figure.name.split()[0])


def about(config: BenchConfig, quick: bool) -> dict[str, object]:
    """Returns what the JSON file says about the run itself."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH)
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "commit": commit,
        "cpus": os.cpu_count(),
        "config": asdict(config),
    }


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmarks, prints the table, writes it as JSON."""
    args = parse(argv)
    config = configure(args)
    configure_logging("bench", "INFO")
    with tempfile.TemporaryDirectory(prefix="paperledger-bench-") as tmp:
        figures = run(args.figures, config, Path(tmp))
    print(format_table(figures))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = args.json or Path("build") / "bench" / f"bench-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(figures, about(config, args.quick)))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
