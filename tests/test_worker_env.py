"""What reaches a worker's environment."""

from __future__ import annotations

from pathlib import Path

from benchwatch.runner.worker import WorkerCommand, _worker_environment


def test_pytest_xdist_variables_never_reach_a_worker_and_extra_variables_do() -> None:
    """pytest-benchmark disables itself where it sees PYTEST_XDIST_WORKER: a run inside xdist measured nothing."""
    command = WorkerCommand(
        python="python",
        cwd=Path(),
        env={"PATH": "/bin", "PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "2"},
        extra_env=(("PYTHONHASHSEED", "0"),),
    )
    assert _worker_environment(command) == {"PATH": "/bin", "PYTHONHASHSEED": "0"}
