"""Terminal progress for long runs: one redrawn line on a TTY, plain lines otherwise."""

from __future__ import annotations

from typing import TextIO

from benchwatch.runner.progress import Progress

#: What a phase does, for the line that says it started.
PHASE_WORDS = {
    "collect": "collecting benchmarks",
    "timing": "timing every benchmark in one worker",
    "memory": "memory pass, each benchmark in a process of its own",
    "instructions": "counting instructions under Callgrind, a process per benchmark and run",
}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    seconds = round(seconds)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def progress_line(progress: Progress) -> str:
    """One line: the phase and run, what runs or just finished, how many are left, the time left."""
    if progress.phase == "collect":
        return f"[collect] {PHASE_WORDS['collect']}"
    head = f"[{progress.phase} run {progress.run}/{progress.runs}]"
    left = progress.phase_total - progress.phase_done
    counts = f"{progress.phase_done}/{progress.phase_total} done, {left} left in this phase"
    times = (
        f"{format_duration(progress.phase_remaining_seconds)} left in this phase, "
        f"{format_duration(progress.remaining_seconds)} in all"
    )
    if progress.benchmark is None:
        return f"{head} {PHASE_WORDS.get(progress.phase, progress.phase)}: {counts} · {times}"
    what = f"{progress.benchmark}: {progress.last_status}" if progress.last_status else progress.benchmark
    return f"{head} {what} · {counts} · {times}"


class ProgressPrinter:
    """Writes :class:`Progress` reports to ``stream``.

    On a TTY (``redraw``) one status line is rewritten in place; otherwise
    one line is written per finished benchmark and per started phase, so CI
    logs stay readable and never fall silent for a whole phase.
    """

    def __init__(self, stream: TextIO, *, redraw: bool) -> None:
        self.stream = stream
        self.redraw = redraw
        self._width = 0

    def __call__(self, progress: Progress) -> None:
        line = progress_line(progress)
        if self.redraw:
            line = line[:160]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
        elif progress.last_status is not None or progress.benchmark is None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.redraw and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
