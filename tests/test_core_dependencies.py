"""`pip install benchwatch` without extras: no module needs DuckDB or plotly to import or to compare."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
OPTIONAL = ("duckdb", "plotly")

BLOCKED = f"""
import importlib, importlib.abc, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ImportError("blocked: " + name + " is not a core dependency")
        return None
sys.meta_path.insert(0, Block())
import numpy as np
import benchwatch
for info in pkgutil.walk_packages(benchwatch.__path__, "benchwatch."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from benchwatch.compare import CompareSettings, compare
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.render.formats import RenderContext, render
rng = np.random.default_rng(3)
def runs(level):
    return tuple(Run(samples=level * rng.lognormal(0, 0.05, 150)) for _ in range(5))
def side(slower):
    # Only some benchmarks slower: a whole suite moving by one factor reads as another machine.
    benchmarks = tuple(
        BenchmarkResult(name=f"b{{i}}", runs=runs(1e-3 * (1 + i) * (1.3 if i < slower else 1.0))) for i in range(10)
    )
    return ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2))
base, head = side(0), side(3)
comparison = compare(base, head, CompareSettings())
for fmt in ("terminal", "json", "markdown", "pr-comment", "html"):
    render(comparison, fmt, RenderContext(base=base, head=head))
print(comparison.verdict)
"""


def test_every_module_imports_and_compares_without_the_extras() -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "regression"


def test_core_dependencies_are_what_the_tool_needs() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    core = project["dependencies"]
    names = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower() for requirement in core}
    assert not names & set(OPTIONAL), names
    # The user's suite runs with the pytest and pytest-benchmark they have: lower bounds only.
    for requirement in core:
        if re.match(r"pytest(-benchmark)?\b", requirement):
            assert "<" not in requirement.split(";")[0], requirement
    assert "scipy" in names  # the statistics' distributions and special functions
    extras = project["optional-dependencies"]
    assert any(requirement.startswith("duckdb") for requirement in extras["demo"])
