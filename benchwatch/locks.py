"""An exclusive lock between processes on one machine, for what several benchwatch runs share."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing), waiting for any other holder.

    ``flock`` ends with the process, so a killed run never leaves the lock held;
    the file itself stays (removing it would let a third process lock a new file
    while a second still holds the old one).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)
