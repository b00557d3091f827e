"""Both sides' instruction counts taken from one path.

Why: compare-refs checks each commit out at ``trees/<commit>``.  The two
paths differ in content, and a path's characters reach the worker's heap
(``sys.path``, module ``__file__`` strings, pytest's node paths, the dicts and
sets holding them), so the heap each counted call starts from differs between
the sides.  On µs-scale benchmarks of a few thousand instructions a call that
moved counts past the 1% threshold on identical code (a README-only commit
of the 64-benchmark suite: 14 of 64 false regressions with warm parents, 4
with fresh workers; docs/instructions.md).  Counting each side from a copy of
its tree at one fixed path, one side after the other, removes that
difference; the timed passes keep their own trees.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from benchwatch.refs.worktrees import cache_lock
from benchwatch.runner.worker import WorkerCommand

#: Same length as a commit's name, so argument and path lengths match the tree's too.
COUNTING_NAME = "counting" + "0" * 32


@contextmanager
def counting_tree(tree: Path, *, copy: bool = True) -> Iterator[Path]:
    """A copy of ``tree`` at the fixed path beside it, removed afterwards (one counting at a time).

    Only for trees compare-refs checked out into its cache (``trees/<commit>``);
    a working tree (``--allow-dirty``) is counted where it is.
    """
    if not copy or tree.parent.name != "trees":
        yield tree
        return
    fixed = tree.with_name(COUNTING_NAME)
    with cache_lock(tree.with_name(f"{COUNTING_NAME}.lock")):
        shutil.rmtree(fixed, ignore_errors=True)  # left by a run that was killed
        shutil.copytree(tree, fixed, symlinks=True)
        try:
            yield fixed
        finally:
            shutil.rmtree(fixed, ignore_errors=True)


def relocated(command: WorkerCommand, old: Path, new: Path) -> WorkerCommand:
    """``command`` with every mention of ``old`` (working directory, paths, arguments) pointing into ``new``."""

    def move(text: str) -> str:
        return text.replace(str(old), str(new))

    def moved(mapping: Mapping[str, str] | None) -> dict[str, str] | None:
        return None if mapping is None else {key: move(value) for key, value in mapping.items()}

    return replace(
        command,
        cwd=Path(move(str(command.cwd))),
        pytest_args=tuple(move(arg) for arg in command.pytest_args),
        env=moved(command.env),
        extra_env=tuple((key, move(value)) for key, value in command.extra_env),
        arguments=moved(command.arguments),
    )
