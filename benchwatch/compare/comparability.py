"""Whether the two sides can be compared for latency at all, decided before anything is estimated.

Two checks, in order:

1. **Machine class** (``CompareRules.machine_fields``): CPU model, CPU count,
   Python implementation and minor version.  Latency from a different CPU or
   interpreter says nothing about the code.  A field unknown on either side
   is not held against the comparison (imported files often lack it).
2. **Machine speed**, where every ok run of both sides carries benchwatch's
   canary of one version: the sides must share a speed
   (:func:`benchwatch.stats.speed.side_speed_check`).  Interleaved runs share
   one by construction; a stored baseline from a faster machine does not.

When either fails, latency rows carry no point estimate and no interval,
reason code ``not-comparable-machine`` or ``not-comparable-speed``, and the
headline says what to do.  Instruction counts and memray's memory figures
are not affected; ``peak_rss`` (the resident set, which depends on the
machine) follows the machine-class check (:mod:`.memory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchwatch.compare.pairing import canary_log_seconds, canary_versions
from benchwatch.compare.rules import CompareRules
from benchwatch.compare.verdict import ReasonCode
from benchwatch.model import Environment, ResultSet
from benchwatch.stats.speed import SpeedCheck, side_speed_check


@dataclass(frozen=True)
class LatencyComparability:
    """``code`` is None when latency is comparable; ``detail`` says why not; ``speed`` the canary check (or None)."""

    code: ReasonCode | None
    detail: str
    speed: SpeedCheck | None

    @property
    def comparable(self) -> bool:
        return self.code is None

    def to_dict(self) -> dict[str, Any]:
        return {"comparable": self.comparable, "reason_code": self.code, "detail": self.detail}


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
    logs = [canary_log_seconds(run) for benchmark in result.benchmarks for run in benchmark.ok_runs]
    return np.array([(a + b) / 2.0 for a, b in logs], dtype=np.float64)


def speed_check(base: ResultSet, head: ResultSet, rules: CompareRules) -> SpeedCheck | None:
    """The sides' machine speeds, or None when the canaries cannot be used (missing on a run, mixed versions)."""
    versions = canary_versions(base) | canary_versions(head)
    if len(versions) != 1 or None in versions:
        return None
    return side_speed_check(
        run_canary_logs(base), run_canary_logs(head), tolerance=rules.speed_tolerance, range_quantiles=rules.speed_range
    )


def latency_comparability(base: ResultSet, head: ResultSet, rules: CompareRules) -> LatencyComparability:
    """Decide whether latency can be compared (see the module doc)."""
    speed = speed_check(base, head, rules)
    if not rules.check_comparability:
        return LatencyComparability(code=None, detail="", speed=speed)
    differences = machine_differences(base.environment, head.environment, rules.machine_fields)
    if differences:
        return LatencyComparability(
            code=ReasonCode.NOT_COMPARABLE_MACHINE,
            detail="base and head ran on different machines: " + "; ".join(differences),
            speed=speed,
        )
    if speed is not None and not speed.shared:
        low, high = sorted((speed.base_range, speed.head_range))
        detail = (
            f"base and head never ran at one machine speed: benchwatch's canary took {speed.ratio:.2f}x as long "
            f"on head as on base ({speed.head_seconds * 1e3:.3f} vs {speed.base_seconds * 1e3:.3f} ms, ranges "
            f"{low[0] * 1e3:.3f}–{low[1] * 1e3:.3f} and {high[0] * 1e3:.3f}–{high[1] * 1e3:.3f} ms do not overlap)"
        )
        return LatencyComparability(code=ReasonCode.NOT_COMPARABLE_SPEED, detail=detail, speed=speed)
    return LatencyComparability(code=None, detail="", speed=speed)


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
