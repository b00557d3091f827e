"""Progress of `benchwatch run`: per-phase pace, time left, and the lines the CLI writes."""

from __future__ import annotations

import io
from typing import cast

import pytest

from benchwatch.cli.progress import ProgressPrinter, progress_line
from benchwatch.runner.progress import PhaseClock, relay_events


class FakeTime:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_each_phase_is_estimated_at_its_own_pace() -> None:
    clock_time = FakeTime()
    clock = PhaseClock(totals={"timing": 10, "instructions": 4}, now=clock_time)
    assert clock.remaining() is None  # nothing measured: no guess
    clock.begin("timing")
    clock_time.value += 10.0
    clock.tick("timing", 10)  # 1 s a benchmark run
    clock.end()
    assert clock.phase_remaining("timing") == 0.0
    # the instruction pass has not started: the pace so far stands in for it
    assert clock.remaining() == pytest.approx(4.0)
    clock.begin("instructions")
    clock_time.value += 30.0
    clock.tick("instructions")  # under Callgrind: 30 s a run
    assert clock.phase_remaining("instructions") == pytest.approx(90.0)
    assert clock.remaining() == pytest.approx(90.0)
    report = clock.report("instructions", run=1, runs=2, benchmark="b")
    assert (report.done, report.total, report.phase_done, report.phase_total) == (11, 14, 1, 4)
    assert report.elapsed_seconds == pytest.approx(40.0)


def test_plain_lines_for_phase_starts_and_finished_benchmarks_only() -> None:
    clock = PhaseClock(totals={"timing": 2})
    stream = io.StringIO()
    printer = ProgressPrinter(stream, redraw=False)
    relay = relay_events(printer, clock, "timing", 1, 1)
    printer(clock.report("timing", run=1, runs=1, benchmark=None))
    relay({"event": "start", "name": "t::a"})  # a start is not worth a line in a log
    relay({"event": "result", "name": "t::a", "status": "ok"})
    relay({"event": "collected", "name": "t::a"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[timing run 1/1] timing every benchmark in one worker: 0/2 done, 2 left")
    assert lines[1].startswith("[timing run 1/1] t::a: ok · 1/2 done, 1 left in this phase · ")
    assert lines[1].endswith("· 0s left in this phase, 0s in all")  # the clock was never started: no time spent


def test_a_terminal_gets_one_redrawn_line_that_is_cleared_at_the_end() -> None:
    clock = PhaseClock(totals={"instructions": 3})
    stream = io.StringIO()
    printer = ProgressPrinter(stream, redraw=True)
    relay = relay_events(printer, clock, "instructions", 1, 1)
    relay({"event": "start", "name": "t::a"})
    relay({"event": "result", "name": "t::a", "status": "ok"})
    printer.close()
    text = stream.getvalue()
    assert "\n" not in text and text.count("\r") == 4 and text.endswith("\r")
    assert "[instructions run 1/1] t::a · 0/3 done, 3 left in this phase" in text
    collect = clock.report("collect", run=0, runs=1, benchmark=None)
    assert progress_line(collect) == "[collect] collecting benchmarks"


def test_compare_refs_reports_each_count_of_both_sides(monkeypatch, tmp_path) -> None:
    from types import SimpleNamespace

    from benchwatch.cli.compare_refs_command import counting_line
    from benchwatch.refs import session
    from benchwatch.runner.instructions import InstructionOutcome, InstructionSettings
    from benchwatch.runner.worker import WorkerCommand

    def fake_pass(*, command, names, settings, on_event):
        for run in range(1, settings.runs + 1):
            for name in names:
                on_event(run, {"event": "start", "name": name})
                on_event(run, {"event": "result", "name": name, "status": "ok"})
        return InstructionOutcome()

    monkeypatch.setattr(session, "run_instruction_pass", fake_pass)
    sides = {
        label: SimpleNamespace(
            label=label,
            names=["a", "b"],
            command=WorkerCommand(python="python", cwd=tmp_path),
            checkout=SimpleNamespace(path=tmp_path),  # not a cached tree: counted in place
        )
        for label in ("base", "head")
    }
    settings = session.RefsSettings(instructions=InstructionSettings(valgrind="valgrind", runs=2))
    seen: list[session.RefsProgress] = []
    # Stand-ins with only the attributes the instruction pass reads, not whole checked-out sides.
    session._count_sides(cast("dict[str, session._Side]", sides), settings, seen.append, started=0.0)
    starts = [p for p in seen if p.benchmark is None]
    assert [p.side for p in starts] == ["base", "head"] and all(p.phase == "instructions" for p in seen)
    results = [p for p in seen if p.benchmark is not None]
    assert [p.phase_done for p in results] == list(range(1, 9)) and {p.phase_total for p in results} == {8}
    assert results[-1].side == "head" and results[-1].phase_remaining_seconds == 0.0
    line = counting_line(results[2])
    assert line.startswith("[instructions base] a: ok · 3/8 done, 5 left · ") and "left in this pass" in line
    assert counting_line(starts[0]).startswith(
        "[instructions base] counting instructions under Callgrind, 2 benchmarks"
    )
