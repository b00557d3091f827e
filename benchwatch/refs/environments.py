"""A separate virtual environment per ref, built from the project's declared dependencies.

By default both refs run in the environment benchwatch runs from (fast, and
right when that environment holds the project's test dependencies and they
did not change between the refs).  With ``environment = "per-ref"`` each
commit gets a cached venv under ``<cache>/venvs/<commit>-<spec>`` holding
the tree itself with its test extras, its PEP 735 dependency groups and the
worker's needs (pytest, pytest-benchmark, memray); the benchwatch plugin
itself comes from the running benchwatch via PYTHONPATH.

Which extras and groups: those the caller names, else every declared one
whose name says it is for tests or benchmarks (``test``, ``tests``,
``testing``, ``bench``, ``benchmark(s)``, ``dev``).  Dependency groups are
read from the tree's pyproject.toml here (``include-group`` followed), so
any pip version can install them.
"""

from __future__ import annotations

import hashlib
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwatch.errors import InputError, UsageError
from benchwatch.refs.worktrees import Checkout, cache_lock
from benchwatch.runner.client_requests import machine_code_supported

#: What benchwatch's worker plugin imports besides the suite: numpy holds its samples (runner.worker, model).
WORKER_REQUIREMENTS = ("pytest", "pytest-benchmark", "memray", "numpy")
#: The instruction pass's workers switch Callgrind on and off through this
#: module (benchwatch's ``instructions`` extra), which builds from source;
#: on x86-64 Linux they need nothing (benchwatch.runner.client_requests).
INSTRUCTION_REQUIREMENTS = () if machine_code_supported() else ("valgrind<1",)
INSTALL_TIMEOUT_SECONDS = 1800
TEST_NAMES = ("test", "tests", "testing", "bench", "benchmark", "benchmarks", "dev")


@dataclass(frozen=True)
class InstallSpec:
    """What goes into a ref's environment besides the worker's needs."""

    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    group_requirements: tuple[str, ...] = ()
    installable: bool = False

    def key(self) -> str:
        text = "|".join([",".join(self.extras), ",".join(self.groups), *self.group_requirements])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _read_pyproject(tree: Path) -> dict[str, Any]:
    path = tree / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read it to build the environment: {error}") from None


def _group_requirements(groups: dict[str, Any], name: str, path: Path, seen: tuple[str, ...] = ()) -> list[str]:
    if name in seen:
        raise InputError(path, f"dependency group {name!r} includes itself")
    if name not in groups:
        raise InputError(path, f"no dependency group {name!r} (declared: {', '.join(sorted(groups)) or 'none'})")
    requirements = []
    for entry in groups[name]:
        if isinstance(entry, str):
            requirements.append(entry)
        elif isinstance(entry, dict) and "include-group" in entry:
            requirements += _group_requirements(groups, entry["include-group"], path, (*seen, name))
    return requirements


def install_spec(tree: Path, *, extras: Sequence[str] | None, groups: Sequence[str] | None) -> InstallSpec:
    """The extras and groups to install for ``tree``; None means "the declared test-like ones"."""
    document = _read_pyproject(tree)
    declared_extras = document.get("project", {}).get("optional-dependencies", {}) or {}
    declared_groups = document.get("dependency-groups", {}) or {}
    chosen_extras = list(extras) if extras is not None else [n for n in declared_extras if n in TEST_NAMES]
    chosen_groups = list(groups) if groups is not None else [n for n in declared_groups if n in TEST_NAMES]
    requirements: list[str] = []
    for group in chosen_groups:
        requirements += _group_requirements(declared_groups, group, tree / "pyproject.toml")
    return InstallSpec(
        extras=tuple(chosen_extras),
        groups=tuple(chosen_groups),
        group_requirements=tuple(dict.fromkeys(requirements)),
        installable=(tree / "pyproject.toml").exists() or (tree / "setup.py").exists(),
    )


def _run(argv: list[str], what: str) -> None:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{what}: did not finish within {INSTALL_TIMEOUT_SECONDS} s") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"{what}: {last}")


def ref_python(
    ref: Checkout,
    cache_dir: Path,
    base_python: str,
    *,
    extras: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    instructions: bool = False,
) -> str:
    """The interpreter of ``ref``'s own environment, created and installed on first use.

    ``instructions``: the environment also gets what the instruction pass
    needs (a separate cached environment, so one built without it is never
    taken for one that has it).
    """
    spec = install_spec(ref.path, extras=extras, groups=groups)
    name = f"{ref.commit}-{spec.key()}" + ("-counts" if instructions else "") + ("-dirty" if ref.dirty else "")
    venv = cache_dir / "venvs" / name
    # Two compare-refs at once build one environment once: the second waits, then finds it ready.
    with cache_lock(cache_dir / "venvs" / f"{name}.lock"):
        return _build_environment(ref, spec, venv, base_python, instructions=instructions)


def _build_environment(ref: Checkout, spec: InstallSpec, venv: Path, base_python: str, *, instructions: bool) -> str:
    python = venv / "bin" / "python"
    marker = venv / ".benchwatch-ready"
    if marker.exists() and not ref.dirty:
        return str(python)
    if not python.exists():
        _run([base_python, "-m", "venv", str(venv)], f"creating the environment of {ref.label}")
    packages = []
    if spec.installable:
        packages.append(f"{ref.path}[{','.join(spec.extras)}]" if spec.extras else str(ref.path))
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *packages,
            *spec.group_requirements,
            *WORKER_REQUIREMENTS,
            *(INSTRUCTION_REQUIREMENTS if instructions else ()),
        ],
        f"installing {ref.label} into its environment",
    )
    marker.write_text(ref.commit + "\n")
    return str(python)
