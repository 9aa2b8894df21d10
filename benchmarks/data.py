"""The benchmarks' synthetic trial data: the product's generator, ``outcomes/synthetic.py`` (also behind
``manage.py scale_data``), re-exported here so the benchmarks keep reading ``from benchmarks import data``."""

from outcomes.synthetic import SYNTHETIC_PREFIX, TABLES, Config, analyze, configure, counts, generate

__all__ = ["SYNTHETIC_PREFIX", "TABLES", "Config", "analyze", "configure", "counts", "generate"]
