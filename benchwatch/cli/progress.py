"""Terminal progress for long runs: one redrawn line on a TTY, plain lines otherwise."""

from __future__ import annotations

from typing import TextIO

from benchwatch.runner.session import Progress


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    seconds = round(seconds)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ProgressPrinter:
    """Writes :class:`Progress` reports to ``stream``.

    On a TTY (``redraw``) one status line is rewritten in place; otherwise
    one line is written per finished benchmark so CI logs stay readable.
    """

    def __init__(self, stream: TextIO, *, redraw: bool) -> None:
        self.stream = stream
        self.redraw = redraw
        self._width = 0

    def __call__(self, progress: Progress) -> None:
        left = format_duration(progress.remaining_seconds)
        head = f"[{progress.phase} run {progress.run}/{progress.runs}] {progress.done}/{progress.total}"
        if self.redraw:
            line = f"{head} {progress.benchmark} · {left} left"
            line = line[:160]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
        elif progress.last_status is not None:
            self.stream.write(f"{head} {progress.benchmark}: {progress.last_status} ({left} left)\n")
            self.stream.flush()

    def close(self) -> None:
        if self.redraw and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
