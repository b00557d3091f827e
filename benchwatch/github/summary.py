"""Appending Markdown to the Actions job summary (``$GITHUB_STEP_SUMMARY``).

GitHub shows at most 1 MiB of summary per step and drops a step summary
that is larger.  :func:`append_step_summary` therefore counts what the
step's file already holds, and when the new Markdown does not fit it keeps
as many whole lines as fit and ends with a visible note - it never lets
GitHub silently drop the whole summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchwatch.errors import InputError

#: GitHub's limit on one step's summary, in bytes.
MAX_STEP_SUMMARY_BYTES = 1024 * 1024

TRUNCATION_NOTE = (
    "\n\n> **benchwatch:** this summary was cut to fit GitHub's 1 MiB job-summary limit; "
    "the full report is in the PR comment or the uploaded artifacts.\n"
)


@dataclass(frozen=True)
class SummaryWrite:
    """What :func:`append_step_summary` wrote."""

    path: str
    #: Bytes appended to the file.
    bytes_written: int
    #: True when the Markdown was cut (a note says so in the summary itself).
    truncated: bool


def append_step_summary(
    path: str | os.PathLike[str], markdown: str, *, max_bytes: int = MAX_STEP_SUMMARY_BYTES
) -> SummaryWrite:
    """Append ``markdown`` to the step summary file in one ``write`` call.

    The file is opened with ``O_APPEND`` and the text written with a single
    ``os.write``, so concurrent appenders (other steps' tools writing the same
    file) do not interleave inside it.  Text that would take the file past
    ``max_bytes`` is trimmed at a line boundary (closing an open code fence)
    and followed by :data:`TRUNCATION_NOTE`; when not even the note fits,
    nothing is written and ``truncated`` is True.
    """
    path = Path(path)
    try:
        existing = path.stat().st_size
    except FileNotFoundError:
        existing = 0
    except OSError as error:
        raise InputError(path, f"cannot stat the step summary file: {error.strerror}") from None
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    if existing and not _ends_with_newline(path):
        text = "\n" + text
    data = text.encode("utf-8")
    room = max_bytes - existing
    truncated = False
    if len(data) > room:
        truncated = True
        data = _trim(text, room)
    if data:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise InputError(path, f"cannot open the step summary file: {error.strerror}") from None
        try:
            written = os.write(fd, data)
            if written != len(data):  # regular files: does not happen short of a full disk
                raise InputError(path, f"short write to the step summary file ({written} of {len(data)} bytes)")
        except OSError as error:
            raise InputError(path, f"cannot write the step summary file: {error.strerror}") from None
        finally:
            os.close(fd)
    return SummaryWrite(path=str(path), bytes_written=len(data), truncated=truncated)


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            stream.seek(-1, os.SEEK_END)
            return stream.read(1) == b"\n"
    except OSError:
        return True


def _trim(text: str, room: int) -> bytes:
    """The longest whole-line prefix of ``text`` that fits ``room`` bytes with the note."""
    note = TRUNCATION_NOTE.encode("utf-8")
    budget = room - len(note) - len(b"```\n")
    if budget <= 0:
        return b""
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(line)
        used += size
    body = "".join(kept)
    fences = sum(1 for line in kept if line.lstrip().startswith("```"))
    if fences % 2:
        body += "```\n"
    return body.encode("utf-8") + note


def append_step_outputs(path: str | os.PathLike[str], outputs: Mapping[str, str]) -> None:
    """Append ``name=value`` lines to the step's ``$GITHUB_OUTPUT`` file.

    A value with a line break could set other outputs, so it is refused.
    """
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value or "\n" in name or "=" in name:
            raise InputError(path, f"step output {name!r:.40} must be one line")
        lines.append(f"{name}={value}\n")
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write("".join(lines))
    except OSError as error:
        raise InputError(path, f"cannot write the step outputs file: {error.strerror}") from None
