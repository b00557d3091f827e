"""Whether the two sides can be compared for latency at all, decided before anything is estimated.

Two checks, in order:

1. **Machine class** (``CompareRules.machine_fields``): CPU model, CPU count,
   Python implementation and minor version.  Latency from a different CPU or
   interpreter says nothing about the code.  A field unknown on either side
   is not held against the comparison (imported files often lack it).
2. **Machine speed**, where every ok run of both sides carries benchwatch's
   canary of one version: the sides must share a speed
   (:func:`benchwatch.stats.speed.side_speed_check`).  Interleaved sides
   (compare-refs, or files whose runs alternate base/head in time, see
   :func:`interleaved`) share one by construction: their check compares
   neighbouring runs (AB/BA pairs, :func:`benchwatch.stats.speed.paired_speed_check`)
   and never finds them "not comparable".  A stored baseline from a faster
   machine shares no speed with the head.

When either fails, latency rows carry no point estimate and no interval,
reason code ``not-comparable-machine`` or ``not-comparable-speed``, and the
headline says what to do.  Instruction counts and memray's memory figures
are not affected; ``peak_rss`` (the resident set, which depends on the
machine) follows the machine-class check (:mod:`.memory`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchwatch.compare.records import Comparability, LatencyComparability
from benchwatch.compare.rules import CompareRules
from benchwatch.compare.verdict import ReasonCode
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.stats.speed import SpeedCheck, paired_speed_check, side_speed_check, speed_warnings

#: The source of result sets measured by compare-refs, whose sides run interleaved on one machine.
INTERLEAVED_SOURCE = "benchwatch compare-refs"


def _machine_field(environment: Environment, name: str) -> Any:
    if name == "python_minor":
        version = environment.python_version
        return ".".join(version.split(".")[:2]) if version else None
    return getattr(environment, name, None)


def machine_differences(base: Environment, head: Environment, fields: tuple[str, ...]) -> list[str]:
    """The machine-class fields known on both sides that differ, as ``name 'a' (base) vs 'b' (head)``."""
    differences = []
    for name in fields:
        old, new = _machine_field(base, name), _machine_field(head, name)
        if old is not None and new is not None and old != new:
            differences.append(f"{name} {old!r} (base) vs {new!r} (head)")
    return differences


def run_canary_logs(result: ResultSet) -> np.ndarray:
    """Mean log canary time of every ok run of ``result`` (NaN for runs without one)."""
    logs = [run.canary_log_seconds for benchmark in result.benchmarks for run in benchmark.ok_runs]
    return np.array([(a + b) / 2.0 for a, b in logs], dtype=np.float64)


def _alternate(base: BenchmarkResult, head: BenchmarkResult, min_pairs: int) -> bool:
    """Whether the runs of one benchmark alternate in time: each consecutive pair holds one run of each side."""
    runs = [(run.started_at, 0) for run in base.ok_runs] + [(run.started_at, 1) for run in head.ok_runs]
    if any(started is None for started, _ in runs):
        return False
    pairs = min(len(base.ok_runs), len(head.ok_runs))
    if pairs < min_pairs:
        return False
    times = sorted(runs)
    if len({started for started, _ in times}) != len(times):
        return False  # ties: the order is unknown
    return all(times[2 * k][1] != times[2 * k + 1][1] for k in range(pairs))


def interleaved(base: ResultSet, head: ResultSet, min_pairs: int = 2) -> bool:
    """Whether the sides alternated run by run on one machine, so that they share its states by construction.

    True for two compare-refs sides, and for files whose every compared
    benchmark's runs alternate base/head in time (``started_at``; e.g. plain
    pytest-benchmark files recorded base, head, base, head ...).
    """
    if base.source == head.source == INTERLEAVED_SOURCE:
        return True
    heads = head.by_name()
    pairs = [(b, heads[b.name]) for b in base.benchmarks if b.name in heads and b.ok_runs and heads[b.name].ok_runs]
    return bool(pairs) and all(_alternate(b, h, min_pairs) for b, h in pairs)


def _in_time_order(runs: tuple[Run, ...]) -> list[Run]:
    return sorted(runs, key=lambda run: run.started_at or "") if all(run.started_at for run in runs) else list(runs)


def paired_canary_logs(base: ResultSet, head: ResultSet) -> tuple[np.ndarray, np.ndarray]:
    """Mean log canary time of neighbouring runs: the k-th base and k-th head run of every benchmark (time order)."""
    heads = head.by_name()
    base_logs: list[float] = []
    head_logs: list[float] = []
    for benchmark in base.benchmarks:
        other = heads.get(benchmark.name)
        if other is None:
            continue
        for run_b, run_h in zip(_in_time_order(benchmark.ok_runs), _in_time_order(other.ok_runs), strict=False):
            base_logs.append(sum(run_b.canary_log_seconds) / 2.0)
            head_logs.append(sum(run_h.canary_log_seconds) / 2.0)
    return np.array(base_logs, dtype=np.float64), np.array(head_logs, dtype=np.float64)


def speed_check(base: ResultSet, head: ResultSet, rules: CompareRules, *, alternated: bool) -> SpeedCheck | None:
    """The sides' machine speeds, or None when the canaries cannot be used (missing on a run, mixed versions)."""
    versions = canary_versions(base) | canary_versions(head)
    if len(versions) != 1 or None in versions:
        return None
    if rules.pair_interleaved and alternated:
        return paired_speed_check(
            *paired_canary_logs(base, head),
            tolerance=rules.speed_tolerance,
            by_construction=base.source == head.source == INTERLEAVED_SOURCE,
        )
    return side_speed_check(
        run_canary_logs(base), run_canary_logs(head), tolerance=rules.speed_tolerance, range_quantiles=rules.speed_range
    )


def latency_comparability(
    base: ResultSet, head: ResultSet, rules: CompareRules, *, alternated: bool
) -> LatencyComparability:
    """Decide whether latency can be compared (see the module doc); ``alternated``: :func:`interleaved`."""
    speed = speed_check(base, head, rules, alternated=alternated)
    if not rules.check_comparability:
        return LatencyComparability(code=None, detail="", speed=speed)
    differences = machine_differences(base.environment, head.environment, rules.machine_fields)
    if differences:
        return LatencyComparability(
            code=ReasonCode.NOT_COMPARABLE_MACHINE,
            detail="base and head ran on different machines: " + "; ".join(differences),
            speed=speed,
        )
    if speed is not None and not speed.shared and speed.paired:
        detail = (
            f"base and head alternated, yet in every pair of neighbouring runs benchwatch's canary was beyond "
            f"{rules.speed_tolerance - 1:.0%} on one side (median {speed.ratio:.2f}x as long on head): "
            "load ran beside one side only"
        )
        return LatencyComparability(code=ReasonCode.NOT_COMPARABLE_SPEED, detail=detail, speed=speed)
    if speed is not None and not speed.shared:
        low, high = sorted((speed.base_range, speed.head_range))
        detail = (
            f"base and head never ran at one machine speed: benchwatch's canary took {speed.ratio:.2f}x as long "
            f"on head as on base ({speed.head_seconds * 1e3:.3f} vs {speed.base_seconds * 1e3:.3f} ms, ranges "
            f"{low[0] * 1e3:.3f}–{low[1] * 1e3:.3f} and {high[0] * 1e3:.3f}–{high[1] * 1e3:.3f} ms do not overlap)"
        )
        return LatencyComparability(code=ReasonCode.NOT_COMPARABLE_SPEED, detail=detail, speed=speed)
    return LatencyComparability(code=None, detail="", speed=speed)


def canary_versions(result: ResultSet) -> set[int | None]:
    """The canary versions found in the ok runs of ``result`` (``None`` for runs without a canary)."""
    return {
        run.canary_version if run.canary_seconds else None
        for benchmark in result.benchmarks
        for run in benchmark.ok_runs
    }


def busy_runs(waits: np.ndarray, rules: CompareRules) -> tuple[int, int]:
    """How many runs (with a known CPU wait) waited more than ``busy_run_wait``, of how many."""
    known = waits[np.isfinite(waits)]
    return int((known > rules.busy_run_wait).sum()), int(known.size)


def decide_comparability(base: ResultSet, head: ResultSet, waits: np.ndarray, rules: CompareRules) -> Comparability:
    """Everything about the sides that the strategies and the suite verdict take as given, decided once.

    ``waits``: the CPU-wait share of every compared run (the pairing's run arrays).
    """
    alternated = interleaved(base, head, rules.min_runs)
    latency = latency_comparability(base, head, rules, alternated=alternated)
    busy, runs = busy_runs(waits, rules)
    return Comparability(
        latency=latency,
        busy_runs=busy,
        all_runs=runs,
        machine_busy=runs > 0 and busy >= rules.busy_share * runs,
        interleaved=alternated,
        warnings=(
            *environment_warnings(base.environment, head.environment),
            *argument_warnings(base, head),
            *speed_warnings(latency.speed, rules.speed_tolerance),
        ),
        base_environment=environment_summary(base.environment),
        head_environment=environment_summary(head.environment),
    )


def argument_warnings(base: ResultSet, head: ResultSet) -> list[str]:
    """A warning when the sides ran the suite with different arguments (e.g. another --workload-scale)."""
    base_args, head_args = base.settings.get("pytest_args"), head.settings.get("pytest_args")
    if base_args is not None and head_args is not None and list(base_args) != list(head_args):
        return [f"base and head were run with different suite arguments: {list(base_args)} vs {list(head_args)}"]
    return []


# -- environment -----------------------------------------------------------------

_ENVIRONMENT_FIELDS = ("cpu_model", "cpu_count", "python_version", "python_implementation", "os")


def environment_summary(environment: Environment) -> dict[str, Any]:
    """The environment fields reports show (packages are compared, not listed)."""
    fields = (*_ENVIRONMENT_FIELDS, "hostname", "git_commit", "git_branch", "git_dirty")
    return {name: getattr(environment, name) for name in fields}


def environment_warnings(base: Environment, head: Environment) -> list[str]:
    """Differences between the two machines/interpreters that can explain a change."""
    warnings = []
    for name in _ENVIRONMENT_FIELDS:
        old, new = getattr(base, name), getattr(head, name)
        if old is not None and new is not None and old != new:
            warnings.append(f"environment differs: {name} {old!r} (base) vs {new!r} (head)")
    for package in sorted(set(base.packages) & set(head.packages)):
        if base.packages[package] != head.packages[package]:
            warnings.append(
                f"package versions differ: {package} {base.packages[package]} (base) vs {head.packages[package]} (head)"
            )
    return warnings
