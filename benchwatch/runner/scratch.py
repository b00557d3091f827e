"""The counted workers' private directories: one fixed path, waited for rather than replaced.

A counted worker's directory path reaches its heap (its characters decide
how pytest's sets and dicts holding it are laid out), so identical code
counts identically only from the same path; docs/instructions.md, "Why
counts can differ".  When another benchwatch on the machine was using the
path, the worker used to take a random name instead, and a layout-sensitive
benchmark then counted 1.3% apart on identical code (two compare-refs side
by side in the test suite).  Now the second run waits for the path.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchwatch.locks import exclusive_lock


@contextmanager
def fixed_directory(name: str, *, on_wait: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """``<temporary directory>/<name>``, empty, this process's alone while the context lasts.

    Waits while another process holds it; a leftover of a killed run (no
    holder) is emptied and reused.  Only where the lock file cannot be
    opened or the leftover removed (another user's, a read-only directory)
    is a random name used.
    ``on_wait(path)`` is told once when another process holds it.
    """
    root = Path(tempfile.gettempdir())
    path = root / name
    with ExitStack() as stack:
        try:
            stack.enter_context(
                exclusive_lock(root / f"{name}.lock", remove=True, on_wait=lambda _: on_wait and on_wait(path))
            )
        except OSError:
            path = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        else:
            shutil.rmtree(path, ignore_errors=True)
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:  # a leftover this user cannot remove (another user's)
                path = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def waited_note(path: Path) -> str:
    """The warning a pass records when it waited for ``path``."""
    return (
        f"the instruction pass waited for {path}: another benchwatch on this machine was counting there "
        "(counts are taken from one fixed path, so that identical code counts alike)"
    )
