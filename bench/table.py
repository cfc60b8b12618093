"""The one table a benchmark run prints: figure, value, target, reference, ratio."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Target:
    """A bound a figure (or its ratio to the reference) should keep."""

    bound: float
    kind: Literal["at least", "at most"]
    on: Literal["value", "ratio"] = "value"

    def met(self, value: float) -> bool:
        """Says whether ``value`` keeps the bound."""
        if math.isnan(value):
            return False
        return value >= self.bound if self.kind == "at least" else value <= self.bound

    def describe(self, unit: str) -> str:
        """Returns the bound as the table shows it, e.g. ``>= 2,000 /s``."""
        sign = ">=" if self.kind == "at least" else "<="
        if self.on == "ratio":
            return f"ratio {sign} {_number(self.bound)}"
        return f"{sign} {_number(self.bound)} {unit}".rstrip()


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target and the reference from the same run."""

    name: str
    value: float
    unit: str
    target: Target | None = None
    reference: float | None = None
    reference_name: str = ""

    @property
    def ratio(self) -> float | None:
        """Returns value divided by reference, where there is a reference."""
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    @property
    def verdict(self) -> str:
        """Returns ``met`` or ``missed`` against the target; empty without one."""
        if self.target is None:
            return ""
        checked = self.ratio if self.target.on == "ratio" else self.value
        if checked is None:
            return "missed"
        return "met" if self.target.met(checked) else "missed"


HEADERS = ("figure", "value", "target", "reference", "ratio", "verdict")


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    """Returns the table's cells, one tuple of strings per figure."""
    result: list[tuple[str, ...]] = []
    for figure in figures:
        reference = ""
        if figure.reference is not None:
            reference = f"{_number(figure.reference)} {figure.unit}".rstrip()
            if figure.reference_name:
                reference += f" ({figure.reference_name})"
        ratio = figure.ratio
        result.append(
            (
                figure.name,
                f"{_number(figure.value)} {figure.unit}".rstrip(),
                figure.target.describe(figure.unit) if figure.target else "",
                reference,
                "" if ratio is None else f"{ratio:.2f}",
                figure.verdict,
            )
        )
    return result


def format_table(figures: list[Figure]) -> str:
    """Returns the figures as an aligned plain-text table."""
    cells = [HEADERS, *rows(figures)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def to_json(figures: list[Figure], about: dict[str, Any]) -> str:
    """Returns the figures and what the run was as JSON, for later comparison."""
    entries = []
    for figure in figures:
        entry = asdict(figure)
        entry.update(ratio=figure.ratio, verdict=figure.verdict)
        entry["value"] = _finite(figure.value)
        entries.append(entry)
    return json.dumps({"run": about, "figures": entries}, indent=2)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
