"""Git revisions checked out into cached worktrees, so both sides can run side by side.

Each ref resolves to a commit; its tree is checked out (detached) under the
cache directory, keyed by the full commit hash, and reused by later calls.
The working tree itself can stand for HEAD when it has uncommitted changes
and the caller allows that.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchwatch.errors import InputError, UsageError

GIT_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Checkout:
    """A revision ready to run: its label, commit and the directory holding its tree."""

    label: str  # what the user typed ("main", "HEAD", "working tree")
    commit: str
    path: Path
    dirty: bool = False


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {' '.join(args)} did not finish within {GIT_TIMEOUT_SECONDS} s") from None
    if check and completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"git {' '.join(args)}: {message}")
    return completed


def repository_root(path: Path) -> Path:
    completed = _git(path, "rev-parse", "--show-toplevel", check=False)
    if completed.returncode != 0:
        raise InputError(path, "not inside a git repository")
    return Path(completed.stdout.strip())


def resolve_commit(repo: Path, ref: str) -> str:
    """The full hash ``ref`` names, or an InputError naming the unknown ref."""
    if ref.startswith("-"):
        raise InputError(ref, "unknown git ref (refs cannot start with '-')")
    completed = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if completed.returncode != 0:
        raise InputError(ref, f"unknown git ref in {repo}")
    return completed.stdout.strip()


def merge_base(repo: Path, first: str, second: str) -> str:
    completed = _git(repo, "merge-base", first, second, check=False)
    if completed.returncode != 0:
        raise InputError(f"{first}...{second}", "no merge base (unrelated histories?)")
    return completed.stdout.strip()


def default_base_ref(repo: Path) -> str:
    """The branch a PR would merge into: ``main``, else ``master``, else ``origin/main``."""
    for candidate in ("main", "master", "origin/main", "origin/master"):
        if _git(repo, "rev-parse", "--verify", "--quiet", candidate, check=False).returncode == 0:
            return candidate
    raise InputError(repo, "no main or master branch to take the merge base from; pass BASE explicitly")


def is_dirty(repo: Path) -> bool:
    status = _git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    return bool(status.strip())


def checkout(repo: Path, ref: str, cache_dir: Path) -> Checkout:
    """A detached worktree of ``ref`` under ``cache_dir`` (created once, then reused)."""
    commit = resolve_commit(repo, ref)
    path = cache_dir / "worktrees" / commit
    if path.exists():
        head = _git(path, "rev-parse", "HEAD", check=False).stdout.strip()
        if head == commit and not is_dirty(path):
            return Checkout(label=ref, commit=commit, path=path)
        _remove_worktree(repo, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "worktree", "prune")
    _git(repo, "worktree", "add", "--detach", "--force", str(path), commit)
    return Checkout(label=ref, commit=commit, path=path)


def working_tree(repo: Path) -> Checkout:
    """The working tree itself (with its uncommitted changes) as the HEAD side."""
    return Checkout(label="working tree", commit=resolve_commit(repo, "HEAD"), path=repo, dirty=is_dirty(repo))


def _remove_worktree(repo: Path, path: Path) -> None:
    if _git(repo, "worktree", "remove", "--force", str(path), check=False).returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        _git(repo, "worktree", "prune", check=False)
