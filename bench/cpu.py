"""Where the processor goes under load: CPU time per command, by component.

On a machine this small the write path's rate is bounded by the processor the
whole system spends on a command, not by one component: the command API, the
database, the relay and projector that follow each event, the proxy, and the
load generator itself all share the same cores. These rows say how much each
takes, so that a figure's limit is read off the table rather than guessed.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

from bench.footprint import component_of
from bench.table import Figure

LOAD_GENERATOR = "load generator"
# The load process starts this long after ``measure`` is called, at most.
START_SECONDS = 1.0


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds per component, and the machine's, at one moment."""

    at: float
    by_component: dict[str, float]
    machine_busy: float


@dataclass
class CpuWindow:
    """The CPU spent between two samples taken inside a load's measured window."""

    samples: list[CpuSample] = field(default_factory=list)

    def seconds(self) -> float:
        """Returns how long the window was, or 0 if it was not sampled."""
        if len(self.samples) < 2:
            return 0.0
        return self.samples[1].at - self.samples[0].at

    def per_component(self) -> dict[str, float]:
        """Returns each component's share of one core over the window (1.0 = one)."""
        seconds = self.seconds()
        if seconds <= 0:
            return {}
        first, last = self.samples
        shares = {
            name: (used - first.by_component.get(name, 0.0)) / seconds
            for name, used in last.by_component.items()
        }
        return dict(sorted(shares.items(), key=lambda item: -item[1]))

    def machine_busy(self) -> float:
        """Returns the cores the whole machine kept busy over the window."""
        seconds = self.seconds()
        if seconds <= 0:
            return float("nan")
        first, last = self.samples
        return (last.machine_busy - first.machine_busy) / seconds


def sample(supervisor_pid: int) -> CpuSample:
    """Returns the CPU seconds used so far by the system and the load generator.

    A process that ended between two samples drops out of the second; the
    components measured here live as long as the system does.
    """
    used: dict[str, float] = defaultdict(float)
    root = psutil.Process(supervisor_pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            used[component_of(process, supervisor_pid)] += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    for child in psutil.Process().children(recursive=True):
        try:
            if "bench.load" in child.cmdline():
                times = child.cpu_times()
                used[LOAD_GENERATOR] += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    return CpuSample(time.monotonic(), dict(used), busy)


@contextmanager
def cpu_during(
    supervisor_pid: int, warmup: float, seconds: float
) -> Iterator[CpuWindow]:
    """Samples CPU inside the measured window of a load started in the block.

    The first sample is taken once the load's warm-up is surely over, the
    second before its window can have ended, so the steady state is measured.
    """
    window = CpuWindow()
    stop = threading.Event()

    def run() -> None:
        if stop.wait(START_SECONDS + warmup):
            return
        window.samples.append(sample(supervisor_pid))
        if stop.wait(max(seconds - START_SECONDS, 0.5)):
            window.samples.clear()
            return
        window.samples.append(sample(supervisor_pid))

    sampler = threading.Thread(target=run, name="cpu-sampler", daemon=True)
    sampler.start()
    try:
        yield window
    except BaseException:
        stop.set()
        raise
    finally:
        sampler.join()


def cpu_figures(name: str, window: CpuWindow, rate: float) -> list[Figure]:
    """Returns CPU milliseconds per answered command, per component and in all.

    The machine's busy cores are the last row: near all of them, the rate is
    bounded by the processor, and the rows above say who spends it.
    """
    if rate <= 0 or window.seconds() <= 0:
        return []
    figures = []
    shares = window.per_component()
    for component, share in shares.items():
        if share * 1000 / rate >= 0.005:
            figures.append(
                Figure(
                    f"{name}: CPU per command, {component}", share * 1000 / rate, "ms"
                )
            )
    total = sum(shares.values())
    figures.append(
        Figure(f"{name}: CPU per command, all of these", total * 1000 / rate, "ms")
    )
    cores = psutil.cpu_count() or 1
    figures.append(
        Figure(
            f"{name}: machine busy (of {cores} cores)",
            window.machine_busy(),
            "cores",
        )
    )
    return figures
