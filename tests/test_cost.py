"""The cost ledger of ``benchwatch run``: phases add up, benchmarks get what is theirs."""

from __future__ import annotations

import pytest

from benchwatch.cli.cost_table import benchmark_table, phase_table
from benchwatch.runner.cost import CostLedger, PhaseCost, breakdown
from benchwatch.runner.instructions import InstructionOutcome
from benchwatch.runner.worker import PassOutcome


def _event(setup: float, call: float, teardown: float, around: float = 0.0) -> dict:
    return {
        "status": "ok",
        "setup_seconds": setup,
        "wall_seconds": call,
        "teardown_seconds": teardown,
        "protocol_seconds": setup + call + teardown + around,
    }


def test_timing_workers_split_into_start_up_set_up_rounds_and_the_rest() -> None:
    ledger = CostLedger()
    ledger.phases["collect"] = PhaseCost(elapsed=1.0, processes=1)
    outcome = PassOutcome(results={"a": _event(0.5, 2.0, 0.1, 0.2), "b": _event(0.0, 1.0, 0.0)})
    outcome.worker_seconds, outcome.startup_seconds, outcome.workers = 6.0, 1.5, 1
    ledger.add_pass("timing", outcome, elapsed=6.0)
    rows = {label: seconds for label, seconds, _ in breakdown(ledger.to_dict())}
    assert rows["start-up and collection"] == pytest.approx(2.5)
    assert rows["fixture set-up and tear-down"] == pytest.approx(0.6)
    assert rows["measured rounds"] == pytest.approx(3.0)
    assert rows["around each call"] == pytest.approx(0.2)
    # 6.0 of the worker: 1.5 start-up, 3.8 in the benchmarks, 0.7 after them
    assert rows["timing workers, other"] == pytest.approx(0.7)
    assert rows["total"] == pytest.approx(7.0)
    assert ledger.to_dict()["benchmarks"]["a"] == {"timing": pytest.approx(2.6)}


def test_passes_of_one_worker_per_benchmark_charge_the_whole_worker() -> None:
    ledger = CostLedger()
    memory = PassOutcome(results={"a": _event(0.0, 0.1, 0.0)}, seconds_of={"a": 1.2})
    memory.worker_seconds, memory.startup_seconds, memory.workers = 1.2, 0.9, 1
    ledger.add_pass("memory", memory, elapsed=1.3)
    ledger.add_counted(InstructionOutcome(seconds_of={"a": 15.0, "b": 5.0}, processes=4), elapsed=10.0)
    cost = ledger.to_dict()
    assert cost["benchmarks"] == {"a": {"memory": 1.2, "instructions": 15.0}, "b": {"instructions": 5.0}}
    assert cost["phases"]["instructions"]["process"] == 20.0 and cost["elapsed"] == pytest.approx(11.3)
    rows = {label: (seconds, note) for label, seconds, note in breakdown(cost)}
    assert rows["memory pass"] == (pytest.approx(1.3), "1 workers, 0.9 s of it start-up")
    assert rows["instruction pass"][0] == 10.0 and "20.0 process-seconds" in rows["instruction pass"][1]


def test_tables_rank_benchmarks_by_cost_and_say_what_is_left_out() -> None:
    ledger = CostLedger()
    ledger.add_counted(InstructionOutcome(seconds_of={"cheap": 1.0, "dear": 2.0, "mid": 1.5}, processes=3), elapsed=3.0)
    cost = ledger.to_dict()
    table = benchmark_table(cost, limit=2)
    lines = table.splitlines()
    assert lines[1].endswith("dear") and lines[2].endswith("mid") and "1 more" in lines[3]
    assert "instruction pass" in phase_table(cost) and "100.0%" in phase_table(cost)


def test_warm_parents_start_up_is_the_pass_s_own_and_is_said() -> None:
    ledger = CostLedger()
    counted = InstructionOutcome(seconds_of={"a": 3.0, "b": 2.0}, processes=2, startup_seconds=8.0, children=4)
    ledger.add_counted(counted, elapsed=7.0)
    cost = ledger.to_dict()
    # The parents' start-up is nobody's benchmark, but it is the pass's process time.
    assert cost["benchmarks"] == {"a": {"instructions": 3.0}, "b": {"instructions": 2.0}}
    assert cost["phases"]["instructions"]["process"] == 13.0 and cost["phases"]["instructions"]["startup"] == 8.0
    note = {label: text for label, _, text in breakdown(cost)}["instruction pass"]
    assert "13.0 process-seconds" in note and "8.0 s of it start-up" in note
