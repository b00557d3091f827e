"""Combining the results of compare-refs shards run on several CI machines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchwatch.errors import InputError
from benchwatch.model import ResultSet


def merge_shard_results(results: Sequence[ResultSet], *, paths: Sequence[Path]) -> ResultSet:
    """One side's result from its shards: benchmarks are disjoint across shards.

    A benchmark in two shards means the shards were not cut from the same
    list (different ``n`` or suites) and is an error rather than a silent
    choice of one of them.  All shards must share one look schedule.
    """
    seen: dict[str, Path] = {}
    benchmarks = []
    for result, path in zip(results, paths, strict=False):
        for benchmark in result.benchmarks:
            if benchmark.name in seen:
                raise InputError(
                    path, f"benchmark {benchmark.name!r} is also in {seen[benchmark.name]} (shards must be disjoint)"
                )
            seen[benchmark.name] = path
            benchmarks.append(benchmark)
    schedules = {str(result.settings.get("looks")) for result in results}
    if len(schedules) > 1:
        raise InputError(paths[0], "shards were run with different --looks schedules")
    first = results[0]
    settings = dict(first.settings)
    settings["shard"] = None
    settings["merged_shards"] = len(results)
    return ResultSet(
        benchmarks=tuple(benchmarks),
        environment=first.environment,
        source=first.source,
        created_at=first.created_at,
        settings=settings,
        count_fingerprint=first.count_fingerprint,
    )
