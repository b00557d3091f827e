"""How two result sets are compared: thresholds, alpha, gating, memory tolerances.

Validated once, here, so the comparator can trust every value; errors are
one-line ConfigErrors naming the ``[tool.benchwatch]`` key.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchwatch.errors import ConfigError
from benchwatch.model import ALL_METRICS, MEMORY_METRICS

#: Memory tolerances (docs/statistics.md): an absolute floor, and a share of the base's median.
DEFAULT_PEAK_BYTES_TOLERANCE = 64 * 1024
DEFAULT_ALLOCATION_TOLERANCE = 100
DEFAULT_PERCENT_TOLERANCE = 0.10

#: Level of the ratio intervals unless looks share the error budget.
CONFIDENCE = 0.95

#: Thresholds of metrics whose noise is far below latency's: instruction
#: counts of the same code agree to ~0.01%, so 1% is a real change
#: (``docs/instructions.md``).  ``thresholds`` in the config overrides them.
DEFAULT_METRIC_THRESHOLDS = {"instructions": 0.01, "estimated_cycles": 0.02}


def _number(key: str, value: Any, *, low: float, high: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"[tool.benchwatch] {key} must be {kind}, got {value!r}")
    if not (low <= value <= high) or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(f"[tool.benchwatch] {key} must be between {low:g} and {high:g}, got {value!r}")
    return value


#: Upper bound of a latency threshold: 1.0 means "a doubling matters"; a
#: larger value (e.g. 5, meant as 5%) would let a +50% regression pass as
#: unchanged.  Memory thresholds are percent tolerances and may go higher.
MAX_LATENCY_THRESHOLD = 1.0
MAX_MEMORY_THRESHOLD = 10.0


def _threshold(key: str, value: Any, *, high: float = MAX_LATENCY_THRESHOLD) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"[tool.benchwatch] {key} must be a number, got {value!r}")
    if not (0 < value <= high):
        hint = " (a fraction: 0.10 means 10%)" if value > high else ""
        raise ConfigError(f"[tool.benchwatch] {key} must be greater than 0 and at most {high:g}{hint}, got {value!r}")
    return float(value)


#: The true-or-false keys of the compare settings.
_BOOLEAN_KEYS = (
    "fail_on_inconclusive",
    "gate_failures",
    "moderate_variances",
    "assume_same_machine",
    "strict_packages",
)


@dataclass(frozen=True)
class CompareSettings:
    """How two result sets are compared.

    ``threshold`` is the relative change that matters (0.10 = 10%);
    ``metric_thresholds`` overrides it per metric and
    ``benchmark_thresholds`` per benchmark and metric (most specific wins).
    ``alpha`` is the false discovery rate of the BH procedure.  Memory uses
    ``memory_bytes_tolerance`` (peak bytes), ``allocation_tolerance``
    (allocation count) and ``memory_percent_tolerance`` (of the base median;
    the larger tolerance applies).  ``bootstrap_resamples`` > 0 adds a
    hierarchical bootstrap interval to each latency metric (display only),
    drawn from ``np.random.default_rng(seed)``.
    """

    threshold: float = 0.10
    metric_thresholds: Mapping[str, float] = field(default_factory=dict)
    benchmark_thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    alpha: float = 0.05
    #: Level of the ratio intervals; below 0.95 only when several looks share
    #: the error budget (adaptive compare-refs, see benchwatch.refs.sequential).
    confidence: float = CONFIDENCE
    gating_metrics: tuple[str, ...] = ("p50", "p95", "peak_memory", "peak_rss", "instructions")
    memory_bytes_tolerance: int = DEFAULT_PEAK_BYTES_TOLERANCE
    allocation_tolerance: int = DEFAULT_ALLOCATION_TOLERANCE
    memory_percent_tolerance: float = DEFAULT_PERCENT_TOLERANCE
    fail_on_inconclusive: bool = False
    #: A benchmark that fails on every head run where base ran fails the gate
    #: (suite verdict regression): a change must not pass by breaking its benchmark.
    gate_failures: bool = True
    bootstrap_resamples: int = 0
    seed: int | None = None
    #: Moderate between-run variances across the suite's benchmarks
    #: (empirical Bayes, benchwatch.stats.moderated) before the Welch test.
    moderate_variances: bool = True
    #: Files without machine evidence (no canary, not interleaved) whose whole
    #: suite moved by one factor get no latency estimate (the machine, not the
    #: code); set this when both sides ran on one machine in one state, so that
    #: a genuine suite-wide change stays expressible (``--assume-same-machine``).
    assume_same_machine: bool = False
    #: Refuse instruction counts whose call executed a package at another
    #: version on the other side (default: judge them and name the versions).
    strict_packages: bool = False

    #: Keys accepted by :meth:`from_mapping` (the compare part of [tool.benchwatch]).
    MAPPING_KEYS = (
        "threshold",
        "alpha",
        "gate",
        "thresholds",
        "memory_bytes_tolerance",
        "allocation_tolerance",
        "memory_percent_tolerance",
        "fail_on_inconclusive",
        "gate_failures",
        "bootstrap_resamples",
        "seed",
        "moderate_variances",
        "assume_same_machine",
        "strict_packages",
    )

    def __post_init__(self) -> None:
        _threshold("threshold", self.threshold)
        _number("alpha", self.alpha, low=1e-12, high=0.5)
        _number("confidence", self.confidence, low=0.5, high=1 - 1e-12)
        for metric in self.gating_metrics:
            if metric not in ALL_METRICS:
                raise ConfigError(
                    f"[tool.benchwatch] gate: unknown metric {metric!r} (known: {', '.join(ALL_METRICS)})"
                )
        for metric, value in self.metric_thresholds.items():
            self._check_metric_threshold(f"thresholds.{metric}", metric, value)
        for name, table in self.benchmark_thresholds.items():
            for metric, value in table.items():
                self._check_metric_threshold(f"thresholds.{name!r}.{metric}", metric, value)
        _number("memory_bytes_tolerance", self.memory_bytes_tolerance, low=0, high=2**62, integer=True)
        _number("allocation_tolerance", self.allocation_tolerance, low=0, high=2**62, integer=True)
        _number("memory_percent_tolerance", self.memory_percent_tolerance, low=0.0, high=100.0)
        _number("bootstrap_resamples", self.bootstrap_resamples, low=0, high=1_000_000, integer=True)
        if self.seed is not None:
            _number("seed", self.seed, low=0, high=2**63, integer=True)
        object.__setattr__(self, "gating_metrics", tuple(self.gating_metrics))

    @staticmethod
    def _check_metric_threshold(key: str, metric: str, value: Any) -> None:
        if metric not in ALL_METRICS:
            raise ConfigError(f"[tool.benchwatch] {key}: unknown metric {metric!r} (known: {', '.join(ALL_METRICS)})")
        memory = metric in MEMORY_METRICS
        _threshold(key, value, high=MAX_MEMORY_THRESHOLD if memory else MAX_LATENCY_THRESHOLD)

    def threshold_for(self, benchmark: str, metric: str) -> float:
        """The threshold of one benchmark's metric: benchmark override, metric override, global."""
        table = self.benchmark_thresholds.get(benchmark, {})
        if metric in table:
            return float(table[metric])
        return float(self.metric_thresholds.get(metric, DEFAULT_METRIC_THRESHOLDS.get(metric, self.threshold)))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> CompareSettings:
        """Settings from a config table; ConfigError (one line) on an unknown key or bad value.

        Keys: ``threshold``, ``alpha``, ``gate`` (list of metrics),
        ``thresholds`` (metric -> threshold, or benchmark name -> table of
        metric -> threshold), ``memory_bytes_tolerance``,
        ``allocation_tolerance``, ``memory_percent_tolerance``,
        ``fail_on_inconclusive``, ``gate_failures``, ``bootstrap_resamples``, ``seed``,
        ``moderate_variances``, ``assume_same_machine``, ``strict_packages``.
        """
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"[tool.benchwatch] must be a table, got {type(mapping).__name__}")
        unknown = sorted(set(mapping) - set(cls.MAPPING_KEYS))
        if unknown:
            raise ConfigError(
                f"[tool.benchwatch] unknown compare setting {unknown[0]!r} (known: {', '.join(cls.MAPPING_KEYS)})"
            )
        kwargs: dict[str, Any] = {}
        for key in (
            "threshold",
            "alpha",
            "memory_bytes_tolerance",
            "allocation_tolerance",
            "memory_percent_tolerance",
            "bootstrap_resamples",
            "seed",
        ):
            if key in mapping:
                kwargs[key] = mapping[key]
        for key in (
            "fail_on_inconclusive",
            "gate_failures",
            "moderate_variances",
            "assume_same_machine",
            "strict_packages",
        ):
            if key in mapping:
                if not isinstance(mapping[key], bool):
                    raise ConfigError(f"[tool.benchwatch] {key} must be true or false, got {mapping[key]!r}")
                kwargs[key] = mapping[key]
        if "gate" in mapping:
            gate = mapping["gate"]
            if not isinstance(gate, (list, tuple)) or not all(isinstance(m, str) for m in gate):
                raise ConfigError(f"[tool.benchwatch] gate must be a list of metric names, got {gate!r}")
            kwargs["gating_metrics"] = tuple(gate)
        metric_thresholds: dict[str, float] = {}
        benchmark_thresholds: dict[str, dict[str, float]] = {}
        table = mapping.get("thresholds", {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[tool.benchwatch] thresholds must be a table, got {table!r}")
        for key, value in table.items():
            if isinstance(value, Mapping):
                benchmark_thresholds[key] = dict(value)
            elif key in ALL_METRICS:
                metric_thresholds[key] = value
            else:
                raise ConfigError(
                    f"[tool.benchwatch] thresholds.{key}: expected a metric ({', '.join(ALL_METRICS)}) "
                    f"with a number, or a benchmark name with a table, got {value!r}"
                )
        kwargs["metric_thresholds"] = metric_thresholds
        kwargs["benchmark_thresholds"] = benchmark_thresholds
        return cls(**kwargs)

    def replace(self, **changes: Any) -> CompareSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for reports (tuples become lists in JSON)."""
        return dataclasses.asdict(self)
