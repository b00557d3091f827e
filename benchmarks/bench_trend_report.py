"""Time the trend report on a synthetic history (default 1,000 benchmarks x 500 commits).

    .venv/bin/python benchmarks/bench_trend_report.py                 # build + time the report
    .venv/bin/python benchmarks/bench_trend_report.py --growth        # bytes per history record
    .venv/bin/python benchmarks/bench_trend_report.py --benchmarks 50 --commits 100 --keep DIR

The history is generated once per (benchmarks, commits, seed) under
``--workdir`` (default: a temporary directory); only the report build
(load history + change points + HTML) is timed.  Prints one line per figure.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchwatch.history import store  # noqa: E402
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run  # noqa: E402
from benchwatch.report import trend  # noqa: E402

T_975_4 = 2.776  # t quantile for 5 runs


def synthetic_history(directory: Path, *, benchmarks: int, commits: int, seed: int = 1, tag_every: int = 50) -> Path:
    """Write a history with steps (known change points), noise, 5 runs per commit and release tags."""
    rng = np.random.default_rng(seed)
    names = [f"suite_{i % 17}/test_case_{i:04d}[param-{i % 7}]" for i in range(benchmarks)]
    base = np.exp(rng.uniform(np.log(2e-6), np.log(0.5), size=benchmarks))
    memory = np.exp(rng.uniform(np.log(2e4), np.log(5e8), size=benchmarks))
    sigma = rng.uniform(0.01, 0.05, size=benchmarks)
    level = np.zeros((commits, benchmarks))
    for b in range(benchmarks):
        for _ in range(rng.poisson(1.5)):
            at = int(rng.integers(5, commits))
            level[at:, b] += rng.choice([-1, 1]) * rng.uniform(0.05, 0.3)
    mem_level = np.zeros((commits, benchmarks))
    for b in rng.choice(benchmarks, size=benchmarks // 10, replace=False):
        mem_level[int(rng.integers(5, commits)) :, b] += rng.uniform(0.05, 0.5)
    parent = None
    start = 1_700_000_000
    for c in range(commits):
        noise = rng.normal(0.0, sigma)
        p50 = base * np.exp(level[c] + noise)
        half = sigma * T_975_4 / math.sqrt(5)
        entries = {}
        peak = memory * np.exp(mem_level[c] + rng.normal(0.0, 0.002, size=benchmarks))
        for b, name in enumerate(names):
            v = float(p50[b])
            h = float(half[b])
            entries[name] = {
                "unit": "seconds",
                "metrics": {
                    "p50": [v, v * math.exp(-h), v * math.exp(h), 5],
                    "p95": [v * 1.3, v * 1.3 * math.exp(-1.5 * h), v * 1.3 * math.exp(1.5 * h), 5],
                    "p99": [v * 1.8, v * 1.8 * math.exp(-2 * h), v * 1.8 * math.exp(2 * h), 5],
                    "mean": [v * 1.05, v * 1.05 * math.exp(-h), v * 1.05 * math.exp(h), 5],
                    "peak_memory": [float(round(peak[b])), None, None, 1],
                    "allocations": [float(round(peak[b] / 512)), None, None, 1],
                },
            }
        commit = f"{rng.integers(0, 2**63):016x}{c:024x}"[:40]
        tags = [f"v1.{c // tag_every}"] if c % tag_every == tag_every - 1 else []
        store.append_summaries(
            directory,
            entries,
            commit=commit,
            parent=parent,
            date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + c * 3600)),
            tags=tags,
            branch="main",
            message=f"commit {c}: synthetic change <b>#{c}</b>",
        )
        parent = commit
    return directory


def measure_report(history_dir: Path, output: Path) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    report = trend.write_trend_report(history_dir, output)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    plotly_bytes = len(trend._plotly_js().encode("utf-8"))
    print(f"benchmarks           {report.benchmarks}")
    print(f"commits              {report.commits}")
    print(f"change points        {report.change_points}")
    print(f"build seconds        {elapsed:.2f} wall, {cpu:.2f} CPU (load history + change points + HTML)")
    print(
        f"html bytes           {report.html_bytes} ({report.html_bytes / 1e6:.1f} MB, "
        f"of which plotly.js {plotly_bytes / 1e6:.1f} MB)"
    )
    print(f"report               {output}")


def _result(benchmarks: int, rng: np.random.Generator, samples: int = 100, runs: int = 5) -> ResultSet:
    items = []
    for i in range(benchmarks):
        base = float(np.exp(rng.uniform(np.log(1e-5), np.log(1e-1))))
        items.append(
            BenchmarkResult(
                name=f"tests/test_module_{i % 13}.py::test_case_{i:04d}",
                runs=tuple(
                    Run(
                        samples=base * rng.lognormal(0.0, 0.05, size=samples),
                        memory=MemoryProfile(
                            peak_bytes=int(rng.integers(1e5, 1e8)), allocations=int(rng.integers(10, 1e5))
                        ),
                    )
                    for _ in range(runs)
                ),
            )
        )
    return ResultSet(benchmarks=tuple(items), environment=Environment(git_commit="0" * 40, cpu_count=2))


def measure_growth(workdir: Path) -> None:
    rng = np.random.default_rng(3)
    print("benchmarks  runs  .json.gz  .json  .json.gz+samples(100/run)")
    for count in (13, 1000):
        result = _result(count, rng)
        sizes = []
        for name, options in (("gz", {}), ("json", {"compress": False}), ("samples", {"keep_samples": True})):
            directory = workdir / f"growth-{count}-{name}"
            record = store.append_record(directory, result, commit="a" * 40, date="2024-05-01T12:00:00Z", **options)
            sizes.append((directory / record.file).stat().st_size)
        print(f"{count:10d}  {5:4d}  {sizes[0]:8d}  {sizes[1]:5d}  {sizes[2]:8d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="reuse/keep the history here")
    parser.add_argument("--output", type=Path, default=None, help="report path (default: in the workdir)")
    parser.add_argument("--growth", action="store_true", help="measure bytes per history record instead")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bw-trend-"))
    if args.growth:
        measure_growth(workdir)
        return 0
    history_dir = workdir / f"history-{args.benchmarks}x{args.commits}-s{args.seed}"
    if not (history_dir / store.INDEX_NAME).exists():
        started = time.perf_counter()
        synthetic_history(history_dir, benchmarks=args.benchmarks, commits=args.commits, seed=args.seed)
        print(f"history generated    {time.perf_counter() - started:.1f} s -> {history_dir}")
    files = list(history_dir.iterdir())
    size = sum(p.stat().st_size for p in files)
    print(f"history bytes        {size} ({size / len(files) / 1e3:.0f} KB per record)")
    measure_report(history_dir, args.output or workdir / "trend.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
