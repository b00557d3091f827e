"""requirements/benchmarks.lock pins, with hashes, everything the main job installs (docs/baselines.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "benchmarks.lock"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line):
            current = canonical(match[1])
            pins[current] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_every_dependency_of_the_main_job_is_pinned_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["demo"]]
    wanted += project["optional-dependencies"]["instructions"]
    pins = locked()
    for requirement in wanted:
        name = canonical(re.match(r"[A-Za-z0-9_.-]+", requirement)[0])
        assert name in pins, f"{name} is not in {LOCK.name}: run bash scripts/lock.sh"
    assert all(hashes >= 1 for _, hashes in pins.values())
    # what benchmarks/ imports, and the packages the baseline's counts were made with
    assert {"duckdb", "requests", "idna", "urllib3", "pytest-benchmark", "valgrind"} <= set(pins)
    # no test or lint tools: the main job does not install them
    assert not {"ruff", "mypy", "asv", "jsonschema", "check-jsonschema"} & set(pins)


def test_the_committed_baseline_was_counted_with_the_locked_versions():
    from benchwatch.resultfile import load_result

    baseline = load_result(ROOT / "baselines" / "main.json.gz")
    pins = locked()
    recorded = dict(baseline.count_fingerprint.get("packages") or {})
    for benchmark in baseline.benchmarks:
        recorded.update(benchmark.executed_packages or {})
    moved = {name: (version, pins.get(canonical(name), ("missing",))[0]) for name, version in recorded.items()}
    moved = {name: pair for name, pair in moved.items() if pair[0] != pair[1]}
    assert not moved, f"refresh the lock and the baseline together (docs/baselines.md): {moved}"
