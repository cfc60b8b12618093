"""Percentiles and summaries of measured latencies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """Returns the ``fraction`` quantile (0..1) of ``values``, interpolated linearly."""
    if not values:
        return math.nan
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a quantile lies between 0 and 1, not {fraction}")
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """How many samples there were and their median, 99th percentile and maximum."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Returns the summary of ``values``; NaN everywhere when there are none."""
        return cls(
            count=len(values),
            p50=percentile(values, 0.50),
            p99=percentile(values, 0.99),
            max=max(values) if values else math.nan,
        )
