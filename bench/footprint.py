"""Figure 7: resident memory of the running system, per component and in total."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import psutil

from bench.table import Figure, Target
from infra.supervisor import COMPONENTS

MIB = 1024 * 1024
TOTAL_MIB = Target(600, "at most")
_COMPONENT_OF_MODULE = {module: name for name, module in COMPONENTS.items()}


@dataclass(frozen=True)
class Usage:
    """Memory of one group of processes: how many, resident and proportional."""

    processes: int
    rss: int
    pss: int


def component_of(process: psutil.Process, supervisor_pid: int) -> str:
    """Returns which part of the system a process belongs to."""
    if process.pid == supervisor_pid:
        return "supervisor"
    command: list[str] = process.cmdline()
    if "-m" in command[:-1]:
        module = command[command.index("-m") + 1]
        return _COMPONENT_OF_MODULE.get(module, module)
    name: str = process.name()
    if name.startswith(("postgres", "postmaster")):
        return "postgres"
    return "nats" if name.startswith("nats-server") else name


def usage_by_component(supervisor_pid: int) -> dict[str, Usage]:
    """Returns the memory of the supervisor's process tree, grouped by component."""
    root = psutil.Process(supervisor_pid)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for process in [root, *root.children(recursive=True)]:
        try:
            memory = process.memory_full_info()
            group = totals[component_of(process, supervisor_pid)]
        except psutil.NoSuchProcess:
            continue
        group[0] += 1
        group[1] += memory.rss
        group[2] += memory.pss
    return {name: Usage(*values) for name, values in sorted(totals.items())}


def footprint_figures(usage: dict[str, Usage], when: str) -> list[Figure]:
    """Returns one PSS row per component and both totals, in MiB."""
    figures = []
    for name, part in usage.items():
        label = f"{name} ({part.processes} processes)" if part.processes > 1 else name
        figures.append(
            Figure(
                f"7 {when}: {label}, PSS (RSS {part.rss / MIB:.0f} MiB)",
                part.pss / MIB,
                "MiB",
            )
        )
    rss = sum(part.rss for part in usage.values()) / MIB
    pss = sum(part.pss for part in usage.values()) / MIB
    figures.append(Figure(f"7 {when}: total PSS", pss, "MiB", TOTAL_MIB))
    figures.append(
        Figure(f"7 {when}: total RSS (shared pages counted again)", rss, "MiB")
    )
    return figures
