"""A separate virtual environment per ref, for trees whose dependencies differ.

By default both refs run in benchwatch's own environment (fast, and right
when the dependencies did not change).  On request each commit gets a cached
venv under ``<cache>/venvs/<commit>`` with the tree installed into it and the
worker's needs (pytest, pytest-benchmark, memray); the benchwatch plugin
itself comes from the running benchwatch via PYTHONPATH.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchwatch.errors import UsageError
from benchwatch.refs.worktrees import Checkout

WORKER_REQUIREMENTS = ("pytest", "pytest-benchmark", "memray")
INSTALL_TIMEOUT_SECONDS = 1800


def _run(argv: list[str], what: str) -> None:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{what}: did not finish within {INSTALL_TIMEOUT_SECONDS} s") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"{what}: {last}")


def ref_python(ref: Checkout, cache_dir: Path, base_python: str) -> str:
    """The interpreter of ``ref``'s own environment, created and installed on first use."""
    venv = cache_dir / "venvs" / (ref.commit if not ref.dirty else f"{ref.commit}-dirty")
    python = venv / "bin" / "python"
    marker = venv / ".benchwatch-ready"
    if marker.exists() and not ref.dirty:
        return str(python)
    if not python.exists():
        _run([base_python, "-m", "venv", str(venv)], f"creating the environment of {ref.label}")
    installable = (ref.path / "pyproject.toml").exists() or (ref.path / "setup.py").exists()
    packages = [str(ref.path)] if installable else []
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *packages,
            *WORKER_REQUIREMENTS,
        ],
        f"installing {ref.label} into its environment",
    )
    marker.write_text(ref.commit + "\n")
    return str(python)
