"""The ``[tool.benchwatch]`` section of pyproject.toml.

Run keys (all optional)::

    suites = ["benchmarks"]        # pytest paths holding the suites
    runs = 5                       # process runs per benchmark
    timeout = 300                  # seconds per benchmark per pass
    pytest_args = []               # extra arguments for every worker
    scale_option = "--workload-scale"  # suite option that `--scale N` sets
    memory = true                  # memray pass after each timed run
    memory_fork = true             # ... a child per benchmark forked from a warm worker (false: a fresh worker each)
    instructions = true            # Callgrind instruction pass (default: when valgrind is on PATH)
    instruction_runs = 2           # Callgrind processes per benchmark
    warm_instructions = true       # fork them from a warm parent (false: a fresh worker each)
    max_instruction_runs = 6       # ... up to this many when its counts disagree
    counted_calls = 1              # calls counted per benchmark and process
    cycles = false                 # cache simulation for estimated cycles
    sample_budget = 10             # seconds per benchmark per run to reach the samples the gate needs
    environment = "current"        # compare-refs workers: "current" environment or "per-ref" venvs
    dependency_groups = ["test"]   # per-ref: PEP 735 groups to install (default: the test-like ones)
    test_extras = ["test"]         # per-ref: extras to install with the project (default: the test-like ones)
    results_dir = "results"        # where `run` writes when -o is not given
    baseline = "baselines/main.json.gz"

Comparison keys (``threshold``, ``alpha``, ``gate``, ``thresholds``, memory
tolerances) may stand in the section or in a ``[tool.benchwatch.compare]``
sub-table; they are passed to the comparator's settings, which validates them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchwatch.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from benchwatch.compare.settings import CompareSettings

RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "suites": list,
    "runs": int,
    "timeout": (int, float),
    "pytest_args": list,
    "scale_option": str,
    "memory": bool,
    "memory_fork": bool,
    "instructions": bool,
    "instruction_runs": int,
    "max_instruction_runs": int,
    "counted_calls": int,
    "cycles": bool,
    "results_dir": str,
    "baseline": str,
    "sample_budget": (int, float),
    "environment": str,
    "dependency_groups": list,
    "test_extras": list,
    "explain": bool,
    "instruction_env": list,
    "warm_instructions": bool,
}
ENVIRONMENTS = ("current", "per-ref")
#: Counts that must be at least 1: checked here so that the error names the file.
_AT_LEAST_ONE = ("runs", "instruction_runs", "max_instruction_runs", "counted_calls")


@dataclass(frozen=True)
class ProjectConfig:
    """The validated section; ``root`` is the directory holding pyproject.toml."""

    root: Path
    run: dict[str, Any] = field(default_factory=dict)
    compare: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any) -> Any:
        return self.run.get(key, default)

    def pytest_args(self, *, scale: int | None, extra: list[str]) -> tuple[str, ...]:
        """Worker arguments: the configured ones, the suite's scale option if ``scale`` is set, then ``extra``."""
        args = list(self.run.get("pytest_args", []))
        if scale is not None:
            scale_option = self.run.get("scale_option")
            if not scale_option:
                raise UsageError("--scale needs scale_option in [tool.benchwatch] (the suite's pytest option to set)")
            args.append(f"{scale_option}={scale}")
        return tuple(args + list(extra))


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def load_config(path: Path) -> ProjectConfig:
    """Read ``[tool.benchwatch]`` from ``path``; a missing file or section gives defaults."""
    path = Path(path)
    if not path.exists():
        return ProjectConfig(root=path.parent.resolve())
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a pyproject.toml file")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    section = document.get("tool", {}).get("benchwatch", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.benchwatch] must be a table")
    from benchwatch.compare.settings import CompareSettings  # the comparator's keys, validated by it

    compare_keys = set(CompareSettings.MAPPING_KEYS)
    run: dict[str, Any] = {}
    compare: dict[str, Any] = {}
    for key, value in section.items():
        if key in RUN_KEYS:
            expected = RUN_KEYS[key]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
                raise ConfigError(f"{path}: [tool.benchwatch] {key} must be {names}, got {value!r}")
            if isinstance(value, list) and not all(isinstance(item, str) for item in value):
                raise ConfigError(f"{path}: [tool.benchwatch] {key} must be a list of strings")
            if key in _AT_LEAST_ONE and isinstance(value, int) and value < 1:
                raise ConfigError(f"{path}: [tool.benchwatch] {key} must be at least 1, got {value}")
            if isinstance(value, (int, float)) and key in ("timeout", "sample_budget") and not _positive(value):
                problem = f"{key} must be a positive, finite number of seconds, got {value}"
                raise ConfigError(f"{path}: [tool.benchwatch] {problem}")
            if key == "environment" and value not in ENVIRONMENTS:
                raise ConfigError(f"{path}: [tool.benchwatch] environment must be one of {', '.join(ENVIRONMENTS)}")
            run[key] = value
        elif key in compare_keys:
            compare[key] = value
        elif key == "compare":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [tool.benchwatch.compare] must be a table")
            compare.update(value)
        else:
            known = ", ".join(sorted(set(RUN_KEYS) | compare_keys | {"compare"}))
            raise ConfigError(f"{path}: [tool.benchwatch] unknown key {key!r} (known: {known})")
    return ProjectConfig(root=path.parent.resolve(), run=run, compare=compare)


def compare_settings(config: ProjectConfig, path: Path) -> CompareSettings:
    """The comparator's settings from the section, with errors naming ``path``."""
    from benchwatch.compare.settings import CompareSettings

    try:
        return CompareSettings.from_mapping(config.compare)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
