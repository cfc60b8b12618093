"""The table a benchmark run prints and writes as JSON."""

from __future__ import annotations

import json
import math

from bench.table import Figure, Target, format_table, rows, to_json

RATE = Figure(
    "1 commands: rate", 2500.0, "/s", Target(2000, "at least"), 5000.0, "bare"
)
SLOW = Figure("1 commands: p99", 31.5, "ms", Target(25, "at most"))
OCR = Figure("4 OCR", 2.1, "s/page", Target(1.05, "at most", on="ratio"), 2.0, "plain")


def test_a_figure_within_its_target_is_met_and_one_outside_is_missed() -> None:
    assert (RATE.verdict, SLOW.verdict) == ("met", "missed")


def test_a_target_on_the_ratio_is_checked_against_the_reference() -> None:
    assert OCR.ratio == 2.1 / 2.0
    assert OCR.verdict == "met"


def test_a_figure_without_a_target_has_no_verdict() -> None:
    assert Figure("3 uploads: rate", 40.0, "/s").verdict == ""


def test_a_figure_that_could_not_be_measured_misses_its_target() -> None:
    assert Figure("2 lag: p99", math.nan, "ms", Target(50, "at most")).verdict == (
        "missed"
    )


def test_a_row_shows_value_target_reference_and_ratio_with_units() -> None:
    assert rows([RATE])[0] == (
        "1 commands: rate",
        "2,500 /s",
        ">= 2,000 /s",
        "5,000 /s (bare)",
        "0.50",
        "met",
    )


def test_the_table_has_a_header_and_aligned_columns() -> None:
    lines = format_table([RATE, SLOW]).splitlines()

    assert lines[0].split() == [
        "figure",
        "value",
        "target",
        "reference",
        "ratio",
        "verdict",
    ]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].index("2,500") == lines[3].index("31.5")


def test_the_json_holds_every_figure_with_ratio_verdict_and_the_run() -> None:
    written = json.loads(to_json([RATE, OCR], {"quick": True}))

    assert written["run"] == {"quick": True}
    assert [f["name"] for f in written["figures"]] == [RATE.name, OCR.name]
    assert written["figures"][0]["ratio"] == 0.5
    assert written["figures"][1]["target"]["on"] == "ratio"


def test_an_unmeasured_value_is_null_in_the_json() -> None:
    written = json.loads(to_json([Figure("x", math.nan, "ms")], {}))

    assert written["figures"][0]["value"] is None
