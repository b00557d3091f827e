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
    assert not {"scipy", "ruff", "mypy", "asv", "jsonschema"} & set(pins)
