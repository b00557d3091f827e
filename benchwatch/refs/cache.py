"""Where compare-refs keeps its checkouts, per-ref environments and plugin shim, and how to clean them.

The cache lives outside the user's repository, in a folder of the user's
cache directory keyed by the repository (its name and a hash of its path),
so that two clones of one project never share trees.  Which user cache
directory that is ($XDG_CACHE_HOME, ~/.cache) is the CLI's business: this
module is given the root.

Older benchwatch versions kept the cache in ``<repo>/.benchwatch-cache``
with worktrees registered in the repository's ``.git``; ``clean`` removes
those parts too, unregistering the worktrees.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from benchwatch.refs.worktrees import remove_legacy_worktree

LEGACY_DIR = ".benchwatch-cache"
PARTS = ("trees", "venvs", "shim")
#: What older compare-refs versions wrote into ``<repo>/.benchwatch-cache`` (other tools' files there stay).
LEGACY_PARTS = ("worktrees", "venvs", "shim")


def repository_cache(root: Path, repo: Path) -> Path:
    """The cache folder of ``repo`` under the cache ``root``."""
    resolved = repo.resolve()
    digest = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:12]
    return root / f"{resolved.name}-{digest}"


@dataclass(frozen=True)
class CacheEntry:
    """One folder of the cache: what it holds and how many bytes."""

    path: Path
    kind: str  # "trees", "venvs", "shim" or "legacy"
    items: int
    bytes: int


def _size(path: Path) -> int:
    total = 0
    for child in path.rglob("*"):
        try:
            if child.is_file() and not child.is_symlink():
                total += child.stat().st_size
        except OSError:
            continue
    return total


def cache_entries(cache: Path, repo: Path | None = None) -> list[CacheEntry]:
    """The parts of one repository's cache folder, and its legacy in-repository cache if ``repo`` is given."""
    entries = []
    for part in PARTS:
        folder = cache / part
        if folder.is_dir():
            # The lock files of concurrent runs (worktrees.cache_lock) are not items.
            items = sum(1 for child in folder.iterdir() if not child.name.endswith(".lock"))
            entries.append(CacheEntry(folder, part, items, _size(folder)))
    legacy = [repo / LEGACY_DIR / part for part in LEGACY_PARTS] if repo is not None else []
    for folder in legacy:
        if folder.is_dir():
            entries.append(CacheEntry(folder, "legacy", sum(1 for _ in folder.iterdir()), _size(folder)))
    return entries


def clean_cache(cache: Path, repo: Path | None = None) -> list[CacheEntry]:
    """Delete one repository's cache folder (and its legacy in-repository cache); what was removed."""
    removed = cache_entries(cache, repo)
    if repo is not None and (repo / LEGACY_DIR / "worktrees").is_dir():
        for tree in (repo / LEGACY_DIR / "worktrees").iterdir():
            remove_legacy_worktree(repo, tree)
    for entry in removed:
        if entry.kind == "legacy":
            shutil.rmtree(entry.path, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return removed
