"""The dashboard tests' population: the dashboard benchmark's bulk generator (``benchmarks/dashboards.py``), so the
tests and the benchmark read the same kind of trial. Nothing there computes what a dashboard shows: the tests count
it again from the ORM."""

from benchmarks.dashboards import populate

__all__ = ["populate"]
