"""Trials of concurrent ``benchwatch record`` processes on one history: how many records are lost.

    .venv/bin/python benchmarks/bench_concurrent_record.py [--trials 10] [--writers 4]

Each trial starts ``--writers`` processes that wait on a barrier file, then
all record a different commit into one fresh history at once.  Counted per
trial: processes that exited non-zero, records missing from the history, and
leftover temporary files.  Prints one line per trial and a total.  Not
collected by pytest (tests/test_history_concurrency.py runs 3 trials).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchwatch.history import store  # noqa: E402
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run  # noqa: E402
from benchwatch.resultfile import save_result  # noqa: E402

RECORDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.001)
    from benchwatch import cli
    sys.exit(cli.main(sys.argv[2:]))
    """
)


def trial(workdir: Path, number: int, writers: int) -> tuple[int, int, int]:
    history, go = workdir / f"history-{number}", workdir / f"go-{number}"
    processes = []
    for k in range(writers):
        rng = np.random.default_rng(k)
        result = ResultSet(
            benchmarks=tuple(
                BenchmarkResult(name=f"b{i}", runs=tuple(Run(samples=rng.lognormal(-7, 0.05, 20)) for _ in range(3)))
                for i in range(50)
            ),
            environment=Environment(git_commit=f"{number:04d}{k:036x}", git_branch="main"),
        )
        path = workdir / f"result-{number}-{k}.json"
        save_result(result, path)
        command = [sys.executable, "-c", RECORDER, str(go), "record", str(path), "--history", str(history)]
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    go.touch()
    failed = sum(1 for process in processes if process.wait(timeout=600) != 0)
    kept = {record.commit for record in store.load_history(history).records}
    lost = writers - len(kept)
    leftovers = sum(1 for p in (history / "records").iterdir() if not p.name.endswith(".parquet"))
    return failed, lost, leftovers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args(argv)
    totals = [0, 0, 0]
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(args.trials):
            failed, lost, leftovers = trial(Path(scratch), number, args.writers)
            totals = [totals[0] + failed, totals[1] + lost, totals[2] + leftovers]
            print(
                f"trial {number + 1:2d}: {args.writers} writers, {failed} failed, {lost} lost, {leftovers} temp files"
            )
    print(
        f"total: {args.trials} trials x {args.writers} writers: {totals[0]} failed, {totals[1]} lost, {totals[2]} temp"
    )
    return 1 if any(totals) else 0


if __name__ == "__main__":
    sys.exit(main())
