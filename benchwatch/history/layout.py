"""Where a history keeps its files, how writers exclude each other, and the DuckDB connection.

Layout (schema version 2; docs/history.md is the user-facing description)::

    history/
      HISTORY.json                  {"format": "benchwatch-history", "schema_version": 2}
      .lock                         writers hold an exclusive flock on it
      records/
        20240501T120000Z-1a2b3c4d5e6f-<random>.parquet   one per record (or per import batch)

There is no index file to keep in step: the set of ``records/*.parquet``
files *is* the index.  A record file is written under a hidden temporary
name and renamed into place, so a reader sees a whole file or none, and two
writers never write the same name (the random suffix).  Writers that read
before they write (the duplicate-commit check, ``--replace``, ``prune``)
hold ``.lock`` for the whole read-check-write, so concurrent
``benchwatch record`` calls serialise instead of losing updates.

Only files found by listing ``records/`` (regular files with our name
pattern, no symlinks) are ever rewritten or deleted: nothing stored inside
a file can point a delete elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from benchwatch.errors import InputError, UsageError
from benchwatch.locks import exclusive_lock

SCHEMA_VERSION = 2
MARKER_NAME = "HISTORY.json"
RECORDS_DIR = "records"
LOCK_NAME = ".lock"
LEGACY_INDEX_NAME = "index.json"
MISSING_EXTRA = "benchwatch record/trend need the history extra: pip install 'benchwatch[history]'"
RECORD_FILE = re.compile(r"^\d{8}T\d{6}Z-[0-9A-Za-z._-]{1,40}-[0-9a-f]{8,32}\.parquet$")
_SAFE_NAME = re.compile(r"[^0-9A-Za-z._-]")


def duckdb_module() -> Any:
    """The duckdb module, imported lazily: it is an optional extra, not a core dependency."""
    try:
        import duckdb
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    return duckdb


_CONNECTION: list[Any] = []


def connect() -> Any:
    """A cursor on the process's in-memory DuckDB database (opening a database costs ~0.1 s; a cursor little).

    The database has a modest memory cap; close the cursor after use.
    """
    if not _CONNECTION:
        duckdb = duckdb_module()
        _CONNECTION.append(duckdb.connect(config={"memory_limit": "160MB", "threads": 2}))
    return _CONNECTION[0].cursor()


def records_dir(history_dir: Path) -> Path:
    return Path(history_dir) / RECORDS_DIR


def record_file_name(stamp: str, commit: str) -> str:
    """``<stamp>-<short commit>-<random>.parquet``; the random part keeps concurrent writers apart."""
    short = _SAFE_NAME.sub("_", commit[:12]) or "unknown"
    return f"{stamp}-{short}-{secrets.token_hex(8)}.parquet"


def check_history(history_dir: Path, *, create: bool) -> Path:
    """The history directory, checked (and created with ``create``); one-line InputError otherwise."""
    history_dir = Path(history_dir)
    marker = history_dir / MARKER_NAME
    if history_dir.exists() and not history_dir.is_dir():
        raise InputError(history_dir, "is not a directory (a history is a directory)")
    if not history_dir.exists():
        if not create:
            raise InputError(history_dir, "history directory not found")
        history_dir.mkdir(parents=True, exist_ok=True)
    if marker.exists():
        _check_marker(marker)
    elif (history_dir / LEGACY_INDEX_NAME).exists():
        raise InputError(
            history_dir,
            f"is a JSON history (schema 1); convert it once with: benchwatch history migrate --history {history_dir}",
        )
    elif not create:
        raise InputError(history_dir, f"not a benchwatch history (no {MARKER_NAME})")
    else:
        write_marker(marker)
    records_dir(history_dir).mkdir(exist_ok=True)
    return history_dir


def write_marker(marker: Path) -> None:
    from benchwatch.output import write_output

    document = {"format": "benchwatch-history", "schema_version": SCHEMA_VERSION, "layout": "records/*.parquet"}
    write_output(marker, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    # A history is often kept in git (a benchwatch-history branch): the lock and temporaries stay out of it.
    ignore = marker.parent / ".gitignore"
    if not ignore.exists():
        write_output(ignore, f"{LOCK_NAME}\n.*.part\n".encode())


def _check_marker(marker: Path) -> None:
    from benchwatch.resultfile import read_json_document

    document = read_json_document(marker)
    if not isinstance(document, dict) or document.get("format") != "benchwatch-history":
        raise InputError(marker, "not a benchwatch history marker (format is not 'benchwatch-history')")
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(marker, f"schema_version must be an integer, got {version!r}")
    if version != SCHEMA_VERSION:
        raise InputError(
            marker,
            f"unknown history schema_version {version} "
            f"(this benchwatch reads {SCHEMA_VERSION}; a newer one may read it)",
        )


def record_files(history_dir: Path) -> list[Path]:
    """The record files, sorted by name: regular files matching our pattern (symlinks and strays ignored)."""
    folder = records_dir(history_dir)
    if not folder.is_dir():
        return []
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if RECORD_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
                files.append(folder / entry.name)
    return sorted(files)


def owned_record_file(history_dir: Path, path: str | Path) -> Path:
    """``path`` if it is one of ``history_dir``'s record files, else InputError: the guard before any delete."""
    candidate = Path(path)
    folder = records_dir(history_dir).resolve()
    if candidate.parent.resolve() != folder or not RECORD_FILE.match(candidate.name) or candidate.is_symlink():
        raise InputError(candidate, f"is not a record file of the history {history_dir}; refusing to touch it")
    return folder / candidate.name


def writer_lock(history_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock of the history's writers (flock: released by the kernel if the process dies)."""
    return exclusive_lock(Path(history_dir) / LOCK_NAME, mode=0o644)


def temporary_path(target: Path) -> Path:
    """A hidden sibling of ``target`` that the ``*.parquet`` listing never matches."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def sql_string(value: str | Path) -> str:
    """A SQL string literal (paths go into COPY/read_parquet, which take no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"
