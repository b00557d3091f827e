"""Build a history from other tools' per-commit results.

* :func:`import_pyperf_directory` -- a folder of pyperf / pyperformance JSON
  files, one per commit (as speed.python.org-style runners leave them).  The
  commit comes from pyperf's ``commit_id`` metadata, the date from
  ``commit_date`` (else the run ``date``); a file name such as
  ``2019-12-16_21-50-master-f501db2b93a9.json.gz`` fills in what the
  metadata lacks (date, branch, short commit).
* :func:`import_asv_directory` -- an asv results directory, one commit at a
  time (several machines' files of a commit merged), straight to columns
  (:mod:`benchwatch.history.asv_columns`).

Records are written in batches, one Parquet file per batch, under the
history's writer lock.  A pyperf record's parent is the commit imported
before it (the files carry no ancestry); asv commits are read one at a
time (a large results directory never sits in memory at once), so their
parent is left unknown.  Commits already in the history are skipped unless
``replace``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from benchwatch.adapters.registry import load_any
from benchwatch.errors import InputError, UsageError
from benchwatch.history import layout, store
from benchwatch.model import ResultSet

# 2019-12-16_21-50-master-f501db2b93a9.json.gz: date_time-branch-commit
_PYPERF_NAME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[_T](?P<hour>\d{2})-(?P<minute>\d{2}))?"
    r"(?:-(?P<branch>.+?))?-(?P<commit>[0-9a-f]{7,40})\.json(?:\.gz)?$"
)


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: commits added, commits skipped as already present."""

    added: tuple[str, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    commit: str
    date: str
    branch: str | None
    result: ResultSet
    source: Path


def pyperf_commit_info(path: Path, result: ResultSet) -> tuple[str, str, str | None]:
    """``(commit, date, branch)`` of one pyperf file: metadata first, then its name."""
    environment = result.environment
    match = _PYPERF_NAME.match(Path(path).name)
    commit = environment.git_commit or (match.group("commit") if match else None)
    if not commit:
        raise InputError(
            path, "no commit: pyperf metadata has no commit_id and the file name does not end in -<commit>.json"
        )
    date = environment.extra.get("commit_date") or environment.collected_at or result.created_at
    if not date and match:
        date = f"{match.group('date')}T{match.group('hour') or '00'}:{match.group('minute') or '00'}:00Z"
    if not date:
        raise InputError(path, "no date: pyperf metadata has no commit_date or date, and the file name none")
    try:
        normalized = store.normalize_date(str(date).replace(" ", "T", 1))
    except UsageError:
        raise InputError(path, f"date {date!r} is not an ISO 8601 date") from None
    branch = environment.git_branch or (match.group("branch") if match else None)
    return str(commit), normalized, branch


def import_pyperf_directory(
    directory: Path,
    history_dir: Path,
    *,
    branch: str | None = None,
    keep_samples: bool = False,
    replace: bool = False,
) -> ImportSummary:
    """Append every pyperf file (``*.json``, ``*.json.gz``) of ``directory`` to the history, oldest first.

    ``branch`` overrides the branch from the files.  Raises InputError for a
    missing directory, a folder without pyperf files, or an unreadable file
    (no file is skipped silently).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "not a directory of pyperf JSON files")
    files = sorted(
        p for p in directory.iterdir() if p.is_file() and (p.name.endswith(".json") or p.name.endswith(".json.gz"))
    )
    if not files:
        raise InputError(directory, "no pyperf files (*.json, *.json.gz) in the directory")
    entries = []
    for path in files:
        result = load_any(path)
        if result.source != "pyperf":
            raise InputError(path, f"is a {result.source} result, expected a pyperf file")
        commit, date, file_branch = pyperf_commit_info(path, result)
        entries.append(_Entry(commit=commit, date=date, branch=branch or file_branch, result=result, source=path))
    return _append_all(entries, history_dir, keep_samples=keep_samples, replace=replace)


def import_asv_directory(
    directory: Path,
    history_dir: Path,
    *,
    branch: str | None = None,
    keep_samples: bool = False,
    replace: bool = False,
    batch_size: int = 8,
) -> ImportSummary:
    """Append every commit of an asv results directory to the history, ``batch_size`` commits per file.

    asv records a ``date`` with every result; a commit without one is an
    InputError rather than a guess.  Result files go straight to columns
    (:mod:`benchwatch.history.asv_columns`); with ``keep_samples`` they go
    through the adapter's objects, which carry the samples.
    """
    from benchwatch.adapters import asv
    from benchwatch.history import asv_columns

    if keep_samples:
        return import_asv_results(
            Path(directory), history_dir, branch=branch, keep_samples=True, replace=replace, batch_size=batch_size
        )
    present = _present_commits(history_dir)
    added: list[str] = []
    skipped: list[str] = []
    batch: list[tuple[store.PendingRecord, dict[str, Any]]] = []
    for commit, when, files, benchmarks_meta in asv.iter_asv_documents(Path(directory)):
        if when is None:
            raise InputError(directory, f"asv results for commit {commit} have no date")
        if commit in present and not replace:
            skipped.append(commit)
            continue
        _, first_document, first_machine = files[0]
        record = store.PendingRecord(
            commit=commit,
            date=store.normalize_date(when.astimezone(UTC)),
            benchmarks={},
            branch=branch,
            environment=store.environment_summary(asv.environment_of(first_document, first_machine)),
            source="asv",
        )
        rows = asv_columns.commit_rows(
            [asv_columns.file_runs(path, document, benchmarks_meta) for path, document, _ in files]
        )
        del files, first_document
        batch.append((record, rows))
        if len(batch) >= batch_size:
            added += store.append_columns(history_dir, batch, replace=replace)
            batch = []
    added += store.append_columns(history_dir, batch, replace=replace)
    return ImportSummary(added=tuple(added), skipped=tuple(skipped))


def import_asv_results(
    directory: Path,
    history_dir: Path,
    *,
    branch: str | None = None,
    keep_samples: bool = False,
    replace: bool = False,
    batch_size: int = 8,
) -> ImportSummary:
    """The adapter's path (a ResultSet per commit): keeps raw samples; tests check the columnar path against it."""
    from benchwatch.adapters.asv import iter_asv_results

    present = _present_commits(history_dir)
    added: list[str] = []
    skipped: list[str] = []
    batch: list[store.PendingRecord] = []
    for commit, when, result in iter_asv_results(directory):
        if when is None:
            raise InputError(directory, f"asv results for commit {commit} have no date")
        if commit in present and not replace:
            skipped.append(commit)
            continue
        batch.append(
            store.pending_from_result(
                result,
                commit=commit,
                date=store.normalize_date(when.astimezone(UTC)),
                branch=branch,
                keep_samples=keep_samples,
            )
        )
        del result
        if len(batch) >= batch_size:
            added += _write(history_dir, batch, replace=replace)
            batch = []
    added += _write(history_dir, batch, replace=replace)
    return ImportSummary(added=tuple(added), skipped=tuple(skipped))


def _present_commits(history_dir: Path) -> set[str]:
    history_dir = Path(history_dir)
    if not (history_dir / layout.MARKER_NAME).exists() and not (history_dir / layout.LEGACY_INDEX_NAME).exists():
        return set()
    return {row.commit for row in store.read_commits(history_dir)}


def _write(history_dir: Path, batch: list[store.PendingRecord], *, replace: bool) -> list[str]:
    store.append_batch(history_dir, batch, replace=replace)
    return [item.commit for item in batch]


def _append_all(entries: Iterable[_Entry], history_dir: Path, *, keep_samples: bool, replace: bool) -> ImportSummary:
    rows = store.read_commits(history_dir) if _present_commits(history_dir) else []
    present = {row.commit for row in rows}
    previous: str | None = rows[-1].commit if rows else None
    ordered = sorted(entries, key=lambda entry: (entry.date, entry.commit))
    added, skipped, batch = [], [], []
    for entry in ordered:
        if entry.commit in present and not replace:
            skipped.append(entry.commit)
            previous = entry.commit
            continue
        batch.append(
            store.pending_from_result(
                entry.result,
                commit=entry.commit,
                parent=previous,
                date=entry.date,
                branch=entry.branch,
                keep_samples=keep_samples,
            )
        )
        added.append(entry.commit)
        present.add(entry.commit)
        previous = entry.commit
    store.append_batch(history_dir, batch, replace=replace)
    return ImportSummary(added=tuple(added), skipped=tuple(skipped))
