"""``benchwatch cache info`` and ``benchwatch cache clean``: compare-refs' checkouts and environments."""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from benchwatch.errors import InputError
from benchwatch.refs.cache import cache_entries, clean_cache, repository_cache
from benchwatch.refs.worktrees import repository_root


def user_cache_root(environ: Mapping[str, str]) -> Path:
    """benchwatch's folder in the user's cache directory ($XDG_CACHE_HOME, else ~/.cache)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "benchwatch"


def find_repository(repo: Path | None, config: Path | None) -> Path:
    """``--repo``'s repository; else the repository holding ``--config``; else the current directory's."""
    if repo is not None:
        return repository_root(repo)
    if config is not None:
        try:
            return repository_root(config.resolve().parent)
        except InputError:
            pass  # a config kept outside the repository: the current directory names the repository
    return repository_root(Path.cwd())


def cache_for(repo: Path, cache_dir: Path | None) -> Path:
    return (cache_dir or repository_cache(user_cache_root(os.environ), repo)).resolve()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="show or delete compare-refs' cached checkouts and environments",
        description="compare-refs keeps one checkout per commit (and, with per-ref environments, one virtual "
        "environment per commit) in the user cache directory ($XDG_CACHE_HOME/benchwatch or "
        "~/.cache/benchwatch), one folder per repository. `info` lists them with their sizes; `clean` deletes "
        "the current repository's folder and what older versions left in its .benchwatch-cache (worktrees, "
        "unregistered from .git; venvs; shim), or with --all every repository's folder.",
    )
    parser.add_argument("action", choices=("info", "clean"), help="info: list the cache; clean: delete it")
    parser.add_argument("--repo", type=Path, help="repository whose cache to use (default: this directory's)")
    parser.add_argument("--cache-dir", type=Path, help="the repository's cache folder, if not the default")
    parser.add_argument("--all", action="store_true", help="every repository's cache, not only this one's")
    parser.set_defaults(handler=handle)


def _size(count: float) -> str:
    if count < 1000:
        return f"{count:.0f} B"
    for unit in ("kB", "MB"):
        count /= 1000
        if count < 1000:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} GB"


def handle(args: argparse.Namespace) -> int:
    root = user_cache_root(os.environ)
    if args.all:
        if args.action == "clean":
            shutil.rmtree(root, ignore_errors=True)
            print(f"removed {root}")
        else:
            folders = sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else []
            print(f"{root}: {len(folders)} repositories")
            for folder in folders:
                total = sum(entry.bytes for entry in cache_entries(folder))
                print(f"  {folder.name}  {_size(total)}")
        return 0
    repo = find_repository(args.repo, None)
    cache = cache_for(repo, args.cache_dir)
    if args.action == "clean":
        removed = clean_cache(cache, repo)
        total = sum(entry.bytes for entry in removed)
        print(f"removed {len(removed)} cache folders of {repo} ({_size(total)})" if removed else "nothing to remove")
        return 0
    entries = cache_entries(cache, repo)
    print(f"cache of {repo}: {cache}")
    if not entries:
        print("  empty")
    for entry in entries:
        print(f"  {entry.kind:<7} {entry.items:>4} entries  {_size(entry.bytes):>9}  {entry.path}")
    return 0
