"""Benchmark history: an embedded on-disk store of runs of main, importers, change points."""
