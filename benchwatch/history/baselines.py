"""Stored per-run results of recorded commits: the base side of a one-side comparison.

A history's Parquet records keep one summary per benchmark and metric,
enough for a trend, not for a verdict.  A one-side PR run (measure only
the PR head) needs the base's runs: samples, memory, instruction counts,
the environment and its count fingerprint.  So ``benchwatch record
--keep-result`` also writes the result itself, compacted, beside the
records::

    history/
      records/*.parquet
      results/<40-hex commit>.json.gz     a result file that ``benchwatch compare`` reads

Compact: latency samples keep four significant digits (a rounding error of
at most 0.05%, far below run-to-run noise; latency is not gated in a
one-side comparison anyway) and memray capture paths, which name files of
the recording machine, are dropped.  Only the newest ``keep`` recorded
commits keep a result.

A PR job reads them from the history branch without checking it out
(``git ls-tree``/``git cat-file`` on e.g. ``origin/benchwatch-history``)
and takes the merge base's result, else the nearest ancestor's that has
one (:func:`nearest_stored`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchwatch.errors import InputError, UsageError
from benchwatch.history import columnar, layout
from benchwatch.model import BenchmarkResult, ResultSet, Run

RESULTS_DIR = "results"
#: Recorded commits that keep their result (the newest by commit date).
DEFAULT_KEEP = 100
#: How far back from the merge base an ancestor with a stored result is looked for.
DEFAULT_MAX_DISTANCE = 200
SAMPLE_DIGITS = 4
RESULT_FILE = re.compile(r"^([0-9a-f]{40})\.json\.gz$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
GIT_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class StoredBaseline:
    """The stored result chosen for ``wanted`` (a merge base): ``commit``, ``distance`` commits back."""

    wanted: str
    commit: str
    distance: int

    def label(self) -> str:
        """How the PR comment names the base side (it shows the commit itself next to this)."""
        if self.distance == 0:
            return "stored run of the merge base"
        back = "1 commit" if self.distance == 1 else f"{self.distance} commits"
        return f"stored run: nearest recorded ancestor of the merge base {self.wanted[:12]}, {back} back"


def check_commit(commit: str, what: str) -> str:
    if not _SHA.fullmatch(commit or ""):
        raise UsageError(f"{what} must be a full 40-hex commit sha, got {commit!r:.60}")
    return commit


def compact_result(result: ResultSet, *, commit: str) -> ResultSet:
    """``result`` with samples rounded to :data:`SAMPLE_DIGITS` significant digits, no capture paths, its commit set."""

    def run(item: Run) -> Run:
        samples = np.array([float(f"{value:.{SAMPLE_DIGITS}g}") for value in item.samples.tolist()])
        memory = replace(item.memory, capture_path=None) if item.memory is not None else None
        return replace(item, samples=samples, memory=memory)

    def benchmark(item: BenchmarkResult) -> BenchmarkResult:
        return replace(item, runs=tuple(run(one) for one in item.runs))

    environment = replace(result.environment, git_commit=commit)
    return replace(result, environment=environment, benchmarks=tuple(benchmark(b) for b in result.benchmarks))


def results_dir(history_dir: Path) -> Path:
    return Path(history_dir) / RESULTS_DIR


def stored_commits(history_dir: Path) -> set[str]:
    """Commits with a stored result in a history directory (regular files of our name pattern only)."""
    folder = results_dir(history_dir)
    if not folder.is_dir():
        return set()
    return {
        match.group(1)
        for path in folder.iterdir()
        if (match := RESULT_FILE.match(path.name)) and path.is_file() and not path.is_symlink()
    }


def store_result(history_dir: Path, result: ResultSet, *, commit: str, keep: int = DEFAULT_KEEP) -> Path:
    """Write ``result`` (compacted) as ``results/<commit>.json.gz``; keep only the newest ``keep`` commits' results.

    Newest by the records' commit dates, so call it after the commit's record
    is written.  Holds the history's writer lock (see :mod:`.layout`).
    """
    from benchwatch.resultfile import save_result

    check_commit(commit, "the commit of a stored result")
    if keep < 1:
        raise UsageError(f"--keep-results must be at least 1, got {keep}")
    history_dir = layout.check_history(history_dir, create=True)
    target = results_dir(history_dir) / f"{commit}.json.gz"
    with layout.writer_lock(history_dir):
        target.parent.mkdir(exist_ok=True)
        save_result(compact_result(result, commit=commit), target)
        _prune(history_dir, keep)
    return target


def _prune(history_dir: Path, keep: int) -> None:
    """Delete stored results beyond the newest ``keep`` recorded commits (and of commits no longer recorded)."""
    stored = stored_commits(history_dir)
    if len(stored) <= keep:
        return
    rows = columnar.read_commit_rows(history_dir) if layout.record_files(history_dir) else []
    recorded = (row for row in rows if row.commit in stored)
    newest = sorted(recorded, key=lambda row: (row.date_epoch, row.recorded_ns), reverse=True)
    kept = {row.commit for row in newest[:keep]}
    for commit in stored - kept:
        (results_dir(history_dir) / f"{commit}.json.gz").unlink(missing_ok=True)


# -- reading from a git ref (the history branch, not checked out) ---------------------------------


def _git(repo: Path, *args: str) -> bytes:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} did not finish within {GIT_TIMEOUT_SECONDS} s") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(repo, f"git {args[0]}: {message[-1] if message else 'failed'}")
    return completed.stdout


def _tree_path(ref: str, history_path: str) -> str:
    if ref.startswith("-") or ":" in ref:
        raise UsageError(f"--history-ref {ref!r:.60}: not a git ref")
    folder = "/".join(part for part in (history_path.strip("/"), RESULTS_DIR) if part)
    return f"{ref}:{folder}"


def stored_commits_in_ref(repo: Path, ref: str, history_path: str) -> set[str]:
    """Commits with a stored result in ``history_path/results`` of the tree of ``ref`` (empty when it has none)."""
    tree = _tree_path(ref, history_path)
    try:
        listing = _git(repo, "ls-tree", "-z", "--name-only", tree)
    except InputError:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")  # an unknown ref is the error
        return set()  # the ref exists but holds no stored results yet
    names = listing.decode("utf-8", "replace").split("\0")
    return {match.group(1) for name in names if (match := RESULT_FILE.match(name))}


def read_result_from_ref(repo: Path, ref: str, history_path: str, commit: str) -> bytes:
    """The bytes of ``commit``'s stored result in ``ref`` (read with ``git cat-file``; validated by the reader)."""
    check_commit(commit, "commit")
    return _git(repo, "cat-file", "blob", f"{_tree_path(ref, history_path)}/{commit}.json.gz")


def nearest_stored(
    repo: Path, commit: str, stored: Collection[str], *, max_distance: int = DEFAULT_MAX_DISTANCE
) -> StoredBaseline | None:
    """``commit`` if it has a stored result, else its nearest ancestor that has one, within ``max_distance``.

    Nearest in ``git rev-list`` order (newest first by commit date, parents
    after children): on a linear main it is the closest commit back.
    """
    check_commit(commit, "commit")
    if not stored:
        return None
    listing = _git(repo, "rev-list", f"--max-count={max_distance + 1}", commit, "--")
    for distance, line in enumerate(listing.decode("ascii", "replace").split()):
        if line in stored:
            return StoredBaseline(wanted=commit, commit=line, distance=distance)
    return None
