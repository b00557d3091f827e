"""The environment fingerprint: what a result was measured on.

A comparison between results from different CPUs, Pythons or package
versions is a comparison of machines, not of code; the fingerprint lets
reports warn about that.  pyperf's metadata collector provides the system
part (CPU model, frequency, load, ASLR); git and package versions are ours.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from benchwatch.model import Environment

DEFAULT_PACKAGES = (
    "benchwatch",
    "numpy",
    "scipy",
    "duckdb",
    "pytest",
    "pytest-benchmark",
    "pyperf",
    "memray",
    "requests",
)


def _pyperf_metadata() -> dict[str, Any]:
    try:
        # pyperf keeps its collector in a private module; if it moves we
        # still fill the fields we read ourselves below.
        from pyperf._collect_metadata import collect_metadata
    except ImportError:
        return {}
    try:
        return dict(collect_metadata(process=False))
    except Exception:  # a collector failure must not stop a benchmark run
        return {}


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cpu_model_from_proc() -> str | None:
    text = _read_text("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _git(repo: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def git_state(repo: Path) -> tuple[str | None, str | None, bool | None]:
    """(commit, branch, dirty) of the work tree at ``repo``; Nones outside git."""
    commit = _git(repo, "rev-parse", "HEAD")
    if commit is None:
        return None, None, None
    branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return commit, branch, (bool(status) if status is not None else None)


def package_versions(names: Iterable[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def collect_environment(*, repo: Path, packages: Iterable[str] = DEFAULT_PACKAGES) -> Environment:
    """Fingerprint this machine and the git state of ``repo``."""
    meta = _pyperf_metadata()
    commit, branch, dirty = git_state(repo)
    governor = _read_text("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    extra = {key: value for key, value in meta.items() if isinstance(value, (str, int, float))}
    return Environment(
        cpu_model=meta.get("cpu_model_name") or _cpu_model_from_proc() or platform.processor() or None,
        cpu_count=os.cpu_count(),
        cpu_governor=governor,
        os=platform.platform(),
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        python_build=" ".join(platform.python_build()) + f" [{platform.python_compiler()}]",
        packages=package_versions(packages),
        load_average=tuple(round(value, 2) for value in load) if load else None,
        hostname=platform.node() or None,
        git_commit=commit,
        git_branch=branch,
        git_dirty=dirty,
        collected_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra=extra,
    )
