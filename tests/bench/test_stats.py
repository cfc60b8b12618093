"""Percentiles and summaries of latencies."""

from __future__ import annotations

import math

import pytest

from bench.stats import Summary, percentile


def test_the_median_of_an_odd_count_is_the_middle_value() -> None:
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0


def test_percentiles_interpolate_between_neighbours() -> None:
    assert percentile([0.0, 10.0], 0.25) == 2.5


def test_the_99th_percentile_of_a_hundred_values_sits_just_below_the_top() -> None:
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 0.99) == pytest.approx(99.01)


def test_the_extremes_are_the_smallest_and_largest_value() -> None:
    values = [4.0, 8.0, 1.0]

    assert (percentile(values, 0.0), percentile(values, 1.0)) == (1.0, 8.0)


def test_no_values_give_no_percentile() -> None:
    assert math.isnan(percentile([], 0.5))


def test_a_quantile_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 99)


def test_a_summary_counts_and_describes_its_samples() -> None:
    summary = Summary.of([1.0, 2.0, 3.0, 4.0, 100.0])

    assert (summary.count, summary.p50, summary.max) == (5, 3.0, 100.0)
    assert 4.0 < summary.p99 < 100.0
