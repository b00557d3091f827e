"""Keeping a history small: drop old records, thin older ones to one per day, keep tags.

A long-lived history needs this now and then: ``benchwatch history prune``.
Records are removed by rewriting the record files that hold them (found by
listing ``records/``, never by a name stored in a file), under the writers'
lock, so a prune and a concurrent ``benchwatch record`` both land.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchwatch.errors import UsageError
from benchwatch.history import columnar, layout
from benchwatch.history.summary import date_text, normalize_date, parse_date


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` did: the commits it removed and how many records remain."""

    removed: tuple[str, ...]
    kept: int


def prune(
    history_dir: Path,
    *,
    keep_last: int | None = None,
    keep_tags: bool = True,
    thin_older_than_days: float | None = None,
    now: str | datetime | None = None,
) -> PruneResult:
    """Shrink a history; returns what was removed.

    * the newest ``keep_last`` records are always kept (None: no such rule);
    * tagged records are always kept when ``keep_tags``;
    * of the other records, those older than ``thin_older_than_days``
      (before ``now``, default the newest record's date) keep one per UTC day
      -- the day's last -- and newer ones are kept; without
      ``thin_older_than_days`` every record outside the last ``keep_last``
      is removed.

    Returns the removed commits.
    """
    if keep_last is not None and keep_last < 0:
        raise UsageError(f"keep_last must be >= 0, got {keep_last}")
    if thin_older_than_days is not None and thin_older_than_days < 0:
        raise UsageError(f"thin_older_than_days must be >= 0, got {thin_older_than_days}")
    if keep_last is None and thin_older_than_days is None:
        raise UsageError("prune needs keep_last and/or thin_older_than_days")
    history_dir = layout.check_history(history_dir, create=False)
    with layout.writer_lock(history_dir):
        rows = columnar.read_commit_rows(history_dir)
        ordered: list[dict[str, Any]] = [
            {"commit": row.commit, "date": date_text(row.date_epoch), "tags": row.tags} for row in rows
        ]
        keep = _kept_positions(ordered, keep_last=keep_last, keep_tags=keep_tags, days=thin_older_than_days, now=now)
        removed = {entry["commit"] for i, entry in enumerate(ordered) if i not in keep}
        if removed:
            for path, held in columnar.commits_in_files(history_dir).items():
                if held & removed:
                    columnar.rewrite_without(history_dir, path, held & removed)
    gone = tuple(str(entry["commit"]) for entry in ordered if entry["commit"] in removed)
    return PruneResult(removed=gone, kept=len(ordered) - len(gone))


def _kept_positions(
    ordered: list[dict[str, Any]],
    *,
    keep_last: int | None,
    keep_tags: bool,
    days: float | None,
    now: str | datetime | None,
) -> set[int]:
    protected: set[int] = set()
    if keep_last:
        protected.update(range(max(len(ordered) - keep_last, 0), len(ordered)))
    if keep_tags:
        protected.update(i for i, entry in enumerate(ordered) if entry.get("tags"))
    keep: set[int] = set(protected)
    if days is not None:
        reference = (
            parse_date(normalize_date(now))
            if now is not None
            else (parse_date(ordered[-1]["date"]) if ordered else datetime.now(UTC))
        )
        cutoff = reference - timedelta(days=days)
        last_of_day: dict[str, int] = {}
        for i, entry in enumerate(ordered):
            moment = parse_date(entry["date"])
            if moment >= cutoff:
                keep.add(i)
            else:
                last_of_day[moment.strftime("%Y-%m-%d")] = i
        keep.update(last_of_day.values())
    return keep
