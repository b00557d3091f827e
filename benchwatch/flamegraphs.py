"""memray flamegraphs for the memory regressions of a comparison.

Runs ``python -m memray flamegraph`` on the capture files the runner kept
(``benchwatch run --keep-captures``), so it happens before any renderer is
called: the HTML report only links the files this writes (renderers return
strings and run no tools).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchwatch.compare import Comparison
from benchwatch.compare.verdict import Verdict
from benchwatch.model import MEMORY_METRICS, BenchmarkResult, MemoryProfile, ResultSet

#: Seconds one ``memray flamegraph`` may take before its side is left out.
FLAMEGRAPH_TIMEOUT = 120.0


def _capture(benchmark: BenchmarkResult | None) -> MemoryProfile | None:
    """Memory of the ok run with a capture file whose peak is nearest the median peak."""
    if benchmark is None:
        return None
    profiles = [r.memory for r in benchmark.ok_runs if r.memory is not None and r.memory.capture_path]
    if not profiles:
        return None
    median = float(np.median([profile.peak_bytes for profile in profiles]))
    return min(profiles, key=lambda profile: abs(profile.peak_bytes - median))


def memory_regressions(comparison: Comparison) -> list[str]:
    """Names of benchmarks with a memory metric that regressed (gated or not)."""
    return [
        b.name
        for b in comparison.benchmarks
        if any(m.metric in MEMORY_METRICS and m.verdict == Verdict.REGRESSION for m in b.metrics)
    ]


def capture_files(comparison: Comparison, base: ResultSet, head: ResultSet) -> dict[str, dict[str, str]]:
    """For each memory regression: side -> memray capture path (as recorded; may not exist)."""
    found: dict[str, dict[str, str]] = {}
    base_map, head_map = base.by_name(), head.by_name()
    for name in memory_regressions(comparison):
        sides = {}
        for side, mapping in (("base", base_map), ("head", head_map)):
            profile = _capture(mapping.get(name))
            if profile is not None:
                sides[side] = str(profile.capture_path)
        if sides:
            found[name] = sides
    return found


def write_flamegraphs(
    comparison: Comparison,
    base: ResultSet,
    head: ResultSet,
    directory: Path,
    *,
    href_prefix: str = "",
    timeout: float = FLAMEGRAPH_TIMEOUT,
) -> dict[str, dict[str, str]]:
    """memray flamegraphs of base and head for every memory regression whose capture file exists.

    Files go to ``directory`` as ``<hash of name>-<side>.html`` (no part of the
    untrusted name reaches the file system); returns name -> side -> href
    (``href_prefix`` + file name).  A capture memray cannot read is skipped
    (its side is missing from the result); the report then names the file.
    """
    hrefs: dict[str, dict[str, str]] = {}
    for name, sides in capture_files(comparison, base, head).items():
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        for side, capture in sides.items():
            source = Path(capture)
            if not source.is_file():
                continue
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"{digest}-{side}.html"
            command = [
                sys.executable,
                "-m",
                "memray",
                "flamegraph",
                "--force",
                "-o",
                str(target),
                str(source.resolve()),
            ]
            try:
                done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0 and target.is_file():
                hrefs.setdefault(name, {})[side] = href_prefix + target.name
    return hrefs
