"""Migrating a JSON history (schema 1: ``index.json`` plus one ``.json[.gz]`` per record) to Parquet.

``benchwatch history migrate --history H`` converts in place: the records
are written to ``H/records/`` in batches, ``H/HISTORY.json`` marks the new
layout, and the old files move to ``H/json-v1/`` (kept: delete them when
satisfied).  A crash part-way leaves the JSON history readable by a rerun,
which starts over.

The old index names each record's file.  Those names are not trusted: a name
with a directory part, an absolute path or anything but the record-name
pattern is an InputError, and only validated names are read or moved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwatch.errors import InputError
from benchwatch.history import columnar, layout
from benchwatch.history.store import PendingRecord, record_document
from benchwatch.history.summary import normalize_date, parse_date
from benchwatch.resultfile import read_json_document

LEGACY_VERSION = 1
BACKUP_DIR = "json-v1"
BATCH = 50
_LEGACY_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9A-Za-z._-]{1,40}\.json(\.gz)?$")


@dataclass(frozen=True)
class MigrationSummary:
    records: int
    files: int
    backup: Path


def legacy_record_path(history_dir: Path, name: Any) -> Path:
    """The path of an index entry's ``file``, or InputError when it could point outside the history."""
    index = Path(history_dir) / layout.LEGACY_INDEX_NAME
    if not isinstance(name, str) or not _LEGACY_NAME.match(name):
        raise InputError(index, f"record file name {name!r} is not a plain record name; refusing to read it")
    path = Path(history_dir) / name
    if path.is_symlink() or not path.is_file():
        raise InputError(path, "record file listed in the index is missing or not a regular file")
    return path


def _check_version(document: Any, path: Path, what: str) -> None:
    if not isinstance(document, dict) or "schema_version" not in document:
        raise InputError(path, f"not a benchwatch history {what} (no schema_version field)")
    if document["schema_version"] != LEGACY_VERSION:
        raise InputError(path, f"unknown JSON history schema_version {document['schema_version']!r} (expected 1)")


def read_legacy_index(history_dir: Path) -> list[Path]:
    """The record files the JSON index lists, validated (see the module docstring)."""
    path = Path(history_dir) / layout.LEGACY_INDEX_NAME
    if not path.is_file():
        raise InputError(history_dir, f"not a JSON history (no {layout.LEGACY_INDEX_NAME})")
    document = read_json_document(path)
    _check_version(document, path, "index")
    records = document.get("records")
    if not isinstance(records, list) or not all(isinstance(entry, dict) and "file" in entry for entry in records):
        raise InputError(path, "'records' must be a list of objects with 'commit' and 'file'")
    return [legacy_record_path(history_dir, entry["file"]) for entry in records]


def _pending(path: Path) -> PendingRecord:
    document = read_json_document(path)
    _check_version(document, path, "record")
    for key in ("commit", "date", "benchmarks"):
        if key not in document:
            raise InputError(path, f"history record has no {key!r} field")
    if not isinstance(document["benchmarks"], dict):
        raise InputError(path, "'benchmarks' must be an object mapping names to summaries")
    return PendingRecord(
        commit=str(document["commit"]),
        date=normalize_date(document["date"]),
        benchmarks=document["benchmarks"],
        parent=document.get("parent"),
        tags=tuple(document.get("tags") or ()),
        branch=document.get("branch"),
        environment=document.get("environment") or {},
        source=document.get("source"),
        message=document.get("message"),
    )


def migrate(history_dir: Path) -> MigrationSummary:
    """Convert the JSON history in ``history_dir`` to the Parquet layout, in place (see the module docstring)."""
    history_dir = Path(history_dir)
    if (history_dir / layout.MARKER_NAME).exists():
        raise InputError(history_dir, "is already a Parquet history (nothing to migrate)")
    paths = read_legacy_index(history_dir)
    layout.records_dir(history_dir).mkdir(exist_ok=True)
    with layout.writer_lock(history_dir):
        for stale in layout.record_files(history_dir):
            stale.unlink()  # left by a migration that crashed before it finished
        written = 0
        seen: dict[str, int] = {}
        for start in range(0, len(paths), BATCH):
            batch = _deduplicated([_pending(path) for path in paths[start : start + BATCH]], seen)
            if not batch:
                continue
            documents = [record_document(item) for item in batch]
            first = documents[0]
            stamp = parse_date(first["date"]).strftime("%Y%m%dT%H%M%SZ")
            columnar.write_record_file(history_dir, documents, layout.record_file_name(stamp, first["commit"]))
            written += 1
        _finish(history_dir, paths)
    return MigrationSummary(records=len(seen), files=written, backup=history_dir / BACKUP_DIR)


def _deduplicated(batch: Sequence[PendingRecord], seen: dict[str, int]) -> list[PendingRecord]:
    # An index lists a commit once; a hand-edited one may not, and silently picking one would lose data.
    kept = []
    for item in batch:
        if item.commit in seen:
            raise InputError(layout.LEGACY_INDEX_NAME, f"commit {item.commit} is listed twice in the index")
        seen[item.commit] = 1
        kept.append(item)
    return kept


def _finish(history_dir: Path, paths: Sequence[Path]) -> None:
    layout.write_marker(history_dir / layout.MARKER_NAME)
    backup = history_dir / BACKUP_DIR
    backup.mkdir(exist_ok=True)
    for path in [*paths, history_dir / layout.LEGACY_INDEX_NAME]:
        path.rename(backup / path.name)
