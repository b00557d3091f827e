"""Writing output files: the one place every command writes a file through.

Rules (documented in docs/reliability.md):

* A regular file (or a missing one) is replaced atomically: the data goes to
  a temporary file beside it, is flushed to disk, then renamed over it, so a
  reader or a crash sees the old file or the new one, never half of one.  An
  overwritten file keeps its permission bits (and, where allowed, its owner).
* A symbolic link is followed: the file it points to is replaced and the link
  stays a link.
* A FIFO, a character device (``/dev/null``, a terminal) and this process's
  own streams (``-``, ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``) are written
  through, never replaced.  A block device is refused: writing a result
  over a disk is never what was meant.
* Every failure is an :class:`OutputError` (exit 2, one line naming the file
  and the problem); the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from benchwatch.errors import BenchwatchError

# Paths that name one of this process's own file descriptors: opening them
# again would truncate what the shell set up (``>> log``), so the bytes go to
# the descriptor itself.
_OWN_DESCRIPTOR = re.compile(r"^/(?:dev/(?:fd/(\d+)|(stdout|stderr))|proc/self/fd/(\d+))$")
_NAMED_DESCRIPTORS = {"stdout": 1, "stderr": 2}


class OutputError(BenchwatchError):
    """An output file that cannot be written (exit 2)."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _own_descriptor(path: Path) -> int | None:
    if str(path) == "-":
        return 1
    match = _OWN_DESCRIPTOR.match(str(path))
    if match is None:
        return None
    number, name, proc_number = match.groups()
    if name is not None:
        return _NAMED_DESCRIPTORS[name]
    return int(number if number is not None else proc_number)


def is_stdout(path: Path | str) -> bool:
    """Whether writing ``path`` writes this process's standard output (``-``, ``/dev/stdout`` ...)."""
    return _own_descriptor(Path(path)) == 1


def write_problem(error: OSError) -> str:
    """The one-line problem of a failed write (after the path: "<path>: cannot write: ...")."""
    if error.errno == errno.ENOSPC:
        return "cannot write: no space left on device"
    return f"cannot write: {error.strerror or error}"


def _existing_mode(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)  # follows a symlink to what it points at
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise OutputError(path, "cannot write: a component of the path is a file, not a directory") from None
    except OSError as error:
        raise OutputError(path, write_problem(error)) from None


def check_writable(path: Path) -> None:
    """Fail now, with one line, if ``path`` could not be written later.

    Called before long work (``benchwatch run``) so that a bad ``--output``
    costs nothing.  Creates missing parent directories, as writing would.
    """
    path = Path(path)
    if _own_descriptor(path) is not None:
        return
    status = _existing_mode(path)
    if status is not None and not stat.S_ISREG(status.st_mode):
        _check_special(path, status)
        return
    directory = Path(os.path.realpath(path)).parent
    _make_directory(directory, path)
    try:
        handle, probe = tempfile.mkstemp(dir=directory, prefix=".benchwatch-probe-", suffix=".tmp")
    except OSError as error:
        raise OutputError(path, f"cannot write in {directory}: {error.strerror or error}") from None
    os.close(handle)
    os.unlink(probe)
    if status is not None and not os.access(path, os.W_OK):
        raise OutputError(path, "cannot write: the existing file is not writable")


def _check_special(path: Path, status: os.stat_result) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise OutputError(path, "is a directory; give a file name")
    if stat.S_ISBLK(status.st_mode):
        raise OutputError(path, "is a block device; refusing to write a report over it")
    if not os.access(path, os.W_OK):
        raise OutputError(path, "cannot write: permission denied")


def _make_directory(directory: Path, path: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(path, f"cannot write: {directory} exists and is not a directory") from None
    except NotADirectoryError:
        raise OutputError(path, "cannot write: a component of the path is a file, not a directory") from None
    except OSError as error:
        raise OutputError(path, f"cannot create the directory {directory}: {error.strerror or error}") from None


def write_output(path: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` following the module's rules; returns the file actually written.

    ``durable=False`` skips the flush to disk (the replacement is still atomic): for files that are
    rebuilt at will from other data, such as the trend report's many data files.
    """
    path = Path(path)
    descriptor = _own_descriptor(path)
    if descriptor is not None:
        _write_descriptor(path, descriptor, data)
        return path
    status = _existing_mode(path)
    if status is not None and not stat.S_ISREG(status.st_mode):
        _check_special(path, status)
        _write_through(path, data)
        return path
    target = Path(os.path.realpath(path))
    _make_directory(target.parent, path)
    _replace_atomically(path, target, data, status, durable=durable)
    return target


def _write_descriptor(path: Path, descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
    except OSError as error:
        raise OutputError(path, write_problem(error)) from None


def _write_through(path: Path, data: bytes) -> None:
    # No O_CREAT, no O_TRUNC: the node exists and must stay what it is.
    try:
        descriptor = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise OutputError(path, write_problem(error)) from None
    try:
        _write_descriptor(path, descriptor, data)
    finally:
        os.close(descriptor)


def _replace_atomically(
    path: Path, target: Path, data: bytes, status: os.stat_result | None, *, durable: bool = True
) -> None:
    anonymous = _open_anonymous(target.parent)
    if anonymous is not None and _replace_from_anonymous(path, target, data, status, anonymous, durable=durable):
        return
    with _signals_held():
        try:
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as error:
            raise OutputError(path, f"cannot write in {target.parent}: {error.strerror or error}") from None
        try:
            _fill(handle, data, status, durable=durable)
            os.replace(temporary, target)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if isinstance(error, OSError):
                raise OutputError(path, write_problem(error)) from None
            raise


#: The signals the CLI turns into an orderly exit (an exception in the main thread).
_HELD_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP while a named temporary exists: delivered after it is renamed or gone.

    Their handlers raise in the main thread at any point; between creating the
    temporary and the ``try`` that removes it, that left ``.<name>.<pid>-….tmp``
    behind (a SIGTERM to ``benchwatch trend`` on a busy machine).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread: this thread is never interrupted by one
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _fill(handle: int, data: bytes, status: os.stat_result | None, *, durable: bool = True) -> None:
    """Give the new file the old one's mode and owner (or the umask's mode), write, flush to disk, close."""
    if status is not None:
        os.fchmod(handle, stat.S_IMODE(status.st_mode))
        with contextlib.suppress(OSError):  # only root may give a file away; keep ours then
            os.fchown(handle, status.st_uid, status.st_gid)
    else:
        # Temporary files are private (0600); a new output is an ordinary file.
        os.fchmod(handle, 0o666 & ~_current_umask())
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
        stream.flush()
        if durable:
            os.fsync(stream.fileno())


def _open_anonymous(directory: Path) -> int | None:
    # Linux O_TMPFILE: a file with no name until it is complete, so even a SIGKILL while writing
    # leaves nothing behind (the named temporary exists only between link and rename).
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError:
        return None  # file system without O_TMPFILE, or an error the named path will report


def _replace_from_anonymous(
    path: Path, target: Path, data: bytes, status: os.stat_result | None, handle: int, *, durable: bool = True
) -> bool:
    link = os.dup(handle)  # _fill closes handle; the link is made from this one
    try:
        _fill(handle, data, status, durable=durable)
        temporary = f"{target.parent}/.{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
        with _signals_held():
            try:
                # A directory descriptor makes os.link use linkat(AT_SYMLINK_FOLLOW), which follows the /proc link.
                directory = os.open(target.parent, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.link(f"/proc/self/fd/{link}", temporary, src_dir_fd=directory, follow_symlinks=True)
                finally:
                    os.close(directory)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                return False  # e.g. /proc not usable for linking: the named-temporary path writes again
            try:
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        return True
    except OSError as error:
        raise OutputError(path, write_problem(error)) from None
    finally:
        os.close(link)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fallback_path(directory: Path, name: str) -> Path:
    """A file in ``directory`` named ``name`` that does not exist yet (``name-1``, ``name-2`` ... if needed)."""
    candidate = Path(directory) / name
    stem, dot, suffix = name.partition(".")
    counter = 1
    while candidate.exists():
        candidate = Path(directory) / f"{stem}-{counter}{dot}{suffix}"
        counter += 1
    return candidate


def write_with_fallback(path: Path, data: bytes, *, fallback: Path) -> tuple[Path, OutputError | None]:
    """Write ``data`` to ``path``; if that fails, to ``fallback`` so that finished work is never lost.

    Returns the file written and the error that forced the fallback (None
    when ``path`` itself was written).  Raises the original error when the
    fallback cannot be written either.
    """
    try:
        return write_output(path, data), None
    except OutputError as error:
        try:
            return write_output(fallback, data), error
        except OutputError:
            raise error from None


def publish_written(temporary: Path, target: Path) -> None:
    """Put a file another writer made (DuckDB's COPY) in place: fsync it, rename it over ``target``
    (atomic on POSIX), then fsync the directory."""
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
