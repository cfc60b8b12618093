"""Benchmarks: the figures behind the targets in the design, measured in one run."""
