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

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchwatch.errors import InputError, UsageError
from benchwatch.locks import exclusive_lock

GIT_TIMEOUT_SECONDS = 300
SHALLOW_FIX = (
    "the repository is a shallow clone, so older commits are not in it: fetch the history with "
    "`git fetch --unshallow` (or `git fetch --deepen=100`), or check out with `fetch-depth: 0` "
    "(actions/checkout)"
)


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


def is_shallow(repo: Path) -> bool:
    """Whether ``repo`` is a shallow clone (CI's ``fetch-depth: 1``)."""
    completed = _git(repo, "rev-parse", "--is-shallow-repository", check=False)
    return completed.returncode == 0 and completed.stdout.strip() == "true"


def resolve_commit(repo: Path, ref: str) -> str:
    """The full hash ``ref`` names, or an InputError naming the unknown ref (and a shallow clone as its cause)."""
    if ref.startswith("-"):
        raise InputError(ref, "unknown git ref (refs cannot start with '-')")
    completed = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if completed.returncode != 0:
        shallow = f"; {SHALLOW_FIX}" if is_shallow(repo) else ""
        raise InputError(ref, f"unknown git ref in {repo}{shallow}")
    return completed.stdout.strip()


def merge_base(repo: Path, first: str, second: str) -> str:
    completed = _git(repo, "merge-base", first, second, check=False)
    if completed.returncode != 0:
        why = SHALLOW_FIX if is_shallow(repo) else "unrelated histories?"
        raise InputError(f"{first}...{second}", f"no merge base ({why})")
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


def untracked_files(repo: Path) -> list[str]:
    """Files git does not track and does not ignore (a new benchmark not yet added, say)."""
    listing = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", check=False).stdout
    return [name for name in listing.split("\0") if name]


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` while one process builds what it guards.

    Two compare-refs with an empty cache both saw no tree, and each removed
    the other's half-made clone (``….partial already exists``, ``not a git
    repository``, a vanished working directory).
    """
    with exclusive_lock(path):
        yield


def checkout(repo: Path, ref: str, cache_dir: Path) -> Checkout:
    """A detached checkout of ``ref`` (with its submodules) under ``cache_dir``, created once, then reused.

    Concurrent runs wait for each other on a per-commit lock; the one that
    comes second finds the tree made.
    """
    commit = resolve_commit(repo, ref)
    path = cache_dir / "trees" / commit
    with cache_lock(cache_dir / "trees" / f"{commit}.lock"):
        if path.exists():
            if _is_clean_checkout(path, commit):
                check_out_submodules(repo, path)  # a tree cached before submodules were checked out
                return Checkout(label=ref, commit=commit, path=path)
            shutil.rmtree(path, ignore_errors=True)
        # Cloned aside and renamed into place, so an interrupted clone is never taken for a tree.
        partial = path.with_name(f"{commit}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        _git(repo, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(partial))
        _git(partial, "checkout", "--quiet", "--detach", commit)
        check_out_submodules(repo, partial)
        partial.rename(path)
    return Checkout(label=ref, commit=commit, path=path)


def check_out_submodules(repo: Path, tree: Path) -> None:
    """Check out ``tree``'s submodules (recursively) at the commits it records.

    A submodule the user's repository has checked out is cloned from there
    (no network, and the commits the user has); others from the URL in
    ``.gitmodules``.
    """
    if not (tree / ".gitmodules").is_file():
        return
    listing = _git(tree, "config", "--file", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$", check=False)
    pending = _git(tree, "submodule", "status", "--recursive", check=False).stdout.splitlines()
    if pending and not any(line.startswith(("-", "+")) for line in pending):
        return  # all checked out at the recorded commits
    for line in listing.stdout.splitlines():
        key, _, sub_path = line.partition(" ")
        name = key.removeprefix("submodule.").removesuffix(".path")
        local = repo / sub_path
        if (local / ".git").exists():
            _git(tree, "config", f"submodule.{name}.url", str(local))
    # protocol.file.allow: git >= 2.38.1 refuses local-path submodules by default (CVE-2022-39253);
    # these are the user's own repositories.
    completed = _git(
        tree, "-c", "protocol.file.allow=always", "submodule", "update", "--init", "--recursive", "--quiet", check=False
    )
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(
            f"cannot check out the submodules of {tree.name[:12]}: {message} "
            "(run `git submodule update --init --recursive` in your repository so they can be copied from there)"
        )


def _is_clean_checkout(path: Path, commit: str) -> bool:
    head = _git(path, "rev-parse", "HEAD", check=False)
    if head.returncode != 0 or head.stdout.strip() != commit:
        return False
    status = _git(path, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=all", check=False)
    return status.returncode == 0 and not status.stdout.strip()


def working_tree(repo: Path) -> Checkout:
    """The working tree itself (with its uncommitted changes and untracked files) as the HEAD side."""
    dirty = is_dirty(repo) or bool(untracked_files(repo))
    return Checkout(label="working tree", commit=resolve_commit(repo, "HEAD"), path=repo, dirty=dirty)


def remove_legacy_worktree(repo: Path, path: Path) -> None:
    """Remove a worktree that older benchwatch versions registered in the user's repository."""
    if _git(repo, "worktree", "remove", "--force", str(path), check=False).returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        _git(repo, "worktree", "prune", check=False)
