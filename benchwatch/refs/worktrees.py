"""Git revisions checked out into cached trees, so both sides can run side by side.

Each ref resolves to a commit; its tree is checked out (detached) under the
cache directory, keyed by the full commit hash, and reused by later calls.
The working tree itself can stand for HEAD when it has uncommitted changes
and the caller allows that.

Why clones and not ``git worktree add``: a worktree is registered in the
user's ``.git`` and shows in ``git worktree list`` until it is pruned.  A
``git clone --shared`` of the repository borrows its objects (no copy, a
few milliseconds) and leaves the user's repository untouched; deleting the
directory is all the cleaning it needs.
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
    """The branch a PR would merge into: ``origin/HEAD``'s branch, else ``main``, else ``master``."""
    origin_head = _git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False)
    candidates = [origin_head.stdout.strip()] if origin_head.returncode == 0 else []
    candidates += ["main", "master", "origin/main", "origin/master"]
    for candidate in candidates:
        if candidate and _git(repo, "rev-parse", "--verify", "--quiet", candidate, check=False).returncode == 0:
            return candidate
    raise InputError(repo, "no default branch (origin/HEAD, main or master) to take the merge base from; pass BASE")


def describe_commit(repo: Path, commit: str) -> str:
    """``abc1234 subject`` for messages (the subject is the commit's first line)."""
    completed = _git(repo, "log", "-1", "--format=%h %s", commit, check=False)
    return completed.stdout.strip() or commit[:7]


def is_dirty(repo: Path) -> bool:
    status = _git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    return bool(status.strip())


def checkout(repo: Path, ref: str, cache_dir: Path) -> Checkout:
    """A detached checkout of ``ref`` under ``cache_dir`` (created once, then reused)."""
    commit = resolve_commit(repo, ref)
    path = cache_dir / "trees" / commit
    if path.exists():
        if _is_clean_checkout(path, commit):
            return Checkout(label=ref, commit=commit, path=path)
        shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Cloned aside and renamed into place, so an interrupted clone is never taken for a tree.
    partial = path.with_name(f"{commit}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    _git(repo, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(partial))
    _git(partial, "checkout", "--quiet", "--detach", commit)
    partial.rename(path)
    return Checkout(label=ref, commit=commit, path=path)


def _is_clean_checkout(path: Path, commit: str) -> bool:
    head = _git(path, "rev-parse", "HEAD", check=False)
    if head.returncode != 0 or head.stdout.strip() != commit:
        return False
    status = _git(path, "status", "--porcelain", "--untracked-files=no", check=False)
    return status.returncode == 0 and not status.stdout.strip()


def working_tree(repo: Path) -> Checkout:
    """The working tree itself (with its uncommitted changes) as the HEAD side."""
    return Checkout(label="working tree", commit=resolve_commit(repo, "HEAD"), path=repo, dirty=is_dirty(repo))


def remove_legacy_worktree(repo: Path, path: Path) -> None:
    """Remove a worktree that older benchwatch versions registered in the user's repository."""
    if _git(repo, "worktree", "remove", "--force", str(path), check=False).returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        _git(repo, "worktree", "prune", check=False)
