"""Keeping a history small: drop old records, thin older ones to one per day, keep tags.

Growth is about 1.5 KB per record for 13 benchmarks and 91 KB for 1,000
(summaries only; see benchwatch.history.store), so a long-lived history
needs this now and then: ``benchwatch history prune``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchwatch.errors import UsageError
from benchwatch.history.store import normalize_date, parse_date, read_index, write_index


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` did: the files it removed and how many records remain."""

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

    The index is rewritten first, then the files are deleted.
    """
    if keep_last is not None and keep_last < 0:
        raise UsageError(f"keep_last must be >= 0, got {keep_last}")
    if thin_older_than_days is not None and thin_older_than_days < 0:
        raise UsageError(f"thin_older_than_days must be >= 0, got {thin_older_than_days}")
    if keep_last is None and thin_older_than_days is None:
        raise UsageError("prune needs keep_last and/or thin_older_than_days")
    history_dir = Path(history_dir)
    entries = read_index(history_dir)
    order = sorted(range(len(entries)), key=lambda i: (entries[i]["date"], i))
    ordered = [entries[i] for i in order]
    protected: set[int] = set()
    if keep_last:
        protected.update(range(max(len(ordered) - keep_last, 0), len(ordered)))
    if keep_tags:
        protected.update(i for i, entry in enumerate(ordered) if entry.get("tags"))
    keep: set[int] = set(protected)
    if thin_older_than_days is not None:
        reference = (
            parse_date(normalize_date(now))
            if now is not None
            else (parse_date(ordered[-1]["date"]) if ordered else datetime.now(UTC))
        )
        cutoff = reference - timedelta(days=thin_older_than_days)
        last_of_day: dict[str, int] = {}
        for i, entry in enumerate(ordered):
            moment = parse_date(entry["date"])
            if moment >= cutoff:
                keep.add(i)
            else:
                last_of_day[moment.strftime("%Y-%m-%d")] = i
        keep.update(last_of_day.values())
    kept = [entry for i, entry in enumerate(ordered) if i in keep]
    removed = [entry["file"] for i, entry in enumerate(ordered) if i not in keep]
    if removed:
        write_index(history_dir, kept)
        for name in removed:
            (history_dir / name).unlink(missing_ok=True)
    return PruneResult(removed=tuple(removed), kept=len(kept))
