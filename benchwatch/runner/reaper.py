"""No process a benchmark starts outlives its worker.

Killing the worker's process group is not enough: a benchmark may start a
child in a new session (``setsid``, a daemon's double fork) that leaves the
group.  On Linux the runner becomes a *child subreaper*
(``prctl(PR_SET_CHILD_SUBREAPER)``) while a pass runs, so every orphaned
descendant of a worker is re-parented to the runner instead of to init; after
each worker the runner kills and reaps every child it did not have before.
Elsewhere only the process group is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
MAX_SWEEPS = 50


def _prctl() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return getattr(libc, "prctl", None)


class _SubreaperUsers:
    """How many passes of this process need it to be a subreaper right now.

    The flag is per process, but passes run in threads (the instruction pass
    runs two workers at once): the first pass to end must not switch it off
    under the other, or that pass's orphans would go to init and survive it.
    """

    lock = threading.Lock()
    count = 0
    enabled = False
    switched_on = False


@contextlib.contextmanager
def subreaper() -> Iterator[bool]:
    """Make this process a child subreaper for the block; yields whether that worked.

    Thread-safe: the flag stays on until the last block using it ends, and is
    switched off only if this module switched it on.
    """
    prctl = _prctl()
    if prctl is None:
        yield False
        return
    users = _SubreaperUsers
    with users.lock:
        if users.count == 0:
            state = ctypes.c_int(0)
            prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(state), 0, 0, 0)
            already = bool(state.value)
            users.switched_on = not already and prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            users.enabled = already or users.switched_on
        users.count += 1
        enabled = users.enabled
    try:
        yield enabled
    finally:
        with users.lock:
            users.count -= 1
            if users.count == 0 and users.switched_on:
                prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
                users.switched_on = False


def is_subreaper() -> bool:
    """Whether this process is a child subreaper now (Linux; False elsewhere)."""
    prctl = _prctl()
    if prctl is None:
        return False
    state = ctypes.c_int(0)
    prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(state), 0, 0, 0)
    return bool(state.value)


def die_with_parent(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux); whether that worked."""
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def _parent_of(pid: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def _parents() -> dict[int, int]:
    table = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                parent = _parent_of(entry)
                if parent is not None:
                    table[int(entry)] = parent
    return table


def children() -> set[int]:
    """Process ids whose parent is this process (Linux /proc; empty elsewhere)."""
    me = os.getpid()
    return {pid for pid, parent in _parents().items() if parent == me}


def _subtree(root: int, table: dict[int, int]) -> list[int]:
    found = [root]
    index = 0
    while index < len(found):
        parent = found[index]
        found.extend(pid for pid, ppid in table.items() if ppid == parent and pid not in found)
        index += 1
    return found


def kill_group(pgid: int) -> None:
    """SIGKILL the process group ``pgid`` if any member is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def reap_strays(known: set[int]) -> int:
    """Kill and reap every child of this process not in ``known``, with all their descendants.

    Returns how many processes were killed.  Loops because a dying process's
    own children are re-parented to this (subreaper) process in turn.
    """
    killed = 0
    for _ in range(MAX_SWEEPS):
        table = _parents()
        me = os.getpid()
        strays = [pid for pid, parent in table.items() if parent == me and pid not in known]
        if not strays:
            break
        for stray in strays:
            for pid in _subtree(stray, table):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        for stray in strays:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(stray, 0)
    return killed
