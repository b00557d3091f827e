"""An exclusive lock between processes on one machine, for what several benchwatch runs share."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(
    path: Path, *, remove: bool = False, on_wait: Callable[[Path], None] | None = None, mode: int = 0o600
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing), waiting for any other holder.

    ``flock`` ends with the process, so a killed run never leaves the lock held.
    ``remove``: the holder deletes the file before letting go, so that nothing
    is left behind; a waiter that then gets the lock on the deleted file sees
    that the path no longer names it and locks the path anew.  ``on_wait(path)``
    is called once when another process holds the lock, before waiting for it.
    ``mode``: the permission bits of a lock file this call creates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, mode)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait(path)
                    on_wait = None
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            if not remove or _names(path, descriptor):
                break
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # deleted by the holder before us: lock the new file
    try:
        yield
    finally:
        if remove:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        os.close(descriptor)  # closing releases the lock


def _names(path: Path, descriptor: int) -> bool:
    """Whether ``path`` still names the file open as ``descriptor``."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)
