"""Time the trend report on a synthetic history (issue 13's shapes).

    .venv/bin/python benchmarks/bench_trend_report.py --benchmarks 10000 --commits 165 --metrics p50 --workdir W
    .venv/bin/python benchmarks/bench_trend_report.py --benchmarks 1000 --commits 500 --workdir W
    .venv/bin/python benchmarks/bench_trend_report.py --growth        # bytes per history record

The history is generated once per (benchmarks, commits, metrics, seed) under
``--workdir`` (default: a temporary directory).  The report is built by
``benchwatch trend`` in a child process, so its wall time and peak RSS
(``ru_maxrss`` of the child) are the command's own.  ``--metrics p50`` gives
an asv-shaped history (one value per benchmark and commit); the default adds
p95, p99, mean, peak memory and allocations (a pytest-benchmark suite with
memray).  Prints one line per figure.  Not collected by pytest.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchwatch.history import store  # noqa: E402
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run  # noqa: E402

T_975_4 = 2.776  # t quantile for 5 runs


def synthetic_history(
    directory: Path, *, benchmarks: int, commits: int, seed: int = 1, tag_every: int = 50, metrics: str = "all"
) -> Path:
    """Write a history with steps (known change points), trends, noise, 5 runs per commit and release tags.

    One record file per 10 commits (as an import writes them).  A tenth of the
    series drift (a slope), a twentieth are bimodal noise.
    """
    rng = np.random.default_rng(seed)
    names = [f"suite_{i % 17}/test_case_{i:05d}[param-{i % 7}]" for i in range(benchmarks)]
    base = np.exp(rng.uniform(np.log(2e-6), np.log(0.5), size=benchmarks))
    memory = np.exp(rng.uniform(np.log(2e4), np.log(5e8), size=benchmarks))
    sigma = rng.uniform(0.01, 0.05, size=benchmarks)
    level = np.zeros((commits, benchmarks))
    for b in range(benchmarks):
        for _ in range(rng.poisson(1.5)):
            at = int(rng.integers(5, commits))
            level[at:, b] += rng.choice([-1, 1]) * rng.uniform(0.05, 0.3)
    drifting = rng.random(benchmarks) < 0.1
    level[:, drifting] += np.arange(commits)[:, None] * rng.uniform(-0.003, 0.003, size=int(drifting.sum()))
    bimodal = rng.random(benchmarks) < 0.05
    mem_level = np.zeros((commits, benchmarks))
    for b in rng.choice(benchmarks, size=benchmarks // 10, replace=False):
        mem_level[int(rng.integers(5, commits)) :, b] += rng.uniform(0.05, 0.5)
    parent = None
    start = 1_700_000_000
    batch: list[store.PendingRecord] = []
    for c in range(commits):
        noise = rng.normal(0.0, sigma)
        p50 = base * np.exp(level[c] + noise) * np.where(bimodal & (rng.random(benchmarks) < 0.3), 3000.0, 1.0)
        half = sigma * T_975_4 / math.sqrt(5)
        peak = memory * np.exp(mem_level[c] + rng.normal(0.0, 0.002, size=benchmarks))
        entries = {}
        for b, name in enumerate(names):
            v, h = float(p50[b]), float(half[b])
            row = {"p50": [v, v * math.exp(-h), v * math.exp(h), 5]}
            if metrics == "all":
                row["p95"] = [v * 1.3, v * 1.3 * math.exp(-1.5 * h), v * 1.3 * math.exp(1.5 * h), 5]
                row["p99"] = [v * 1.8, v * 1.8 * math.exp(-2 * h), v * 1.8 * math.exp(2 * h), 5]
                row["mean"] = [v * 1.05, v * 1.05 * math.exp(-h), v * 1.05 * math.exp(h), 5]
                row["peak_memory"] = [float(round(peak[b])), None, None, 1]
                row["allocations"] = [float(round(peak[b] / 512)), None, None, 1]
            entries[name] = {"unit": "seconds", "metrics": row}
        commit = f"{rng.integers(0, 2**63):016x}{c:024x}"[:40]
        batch.append(
            store.PendingRecord(
                commit=commit,
                parent=parent,
                date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + c * 3600)),
                tags=(f"v1.{c // tag_every}",) if c % tag_every == tag_every - 1 else (),
                branch="main",
                message=f"commit {c}: synthetic change <b>#{c}</b>",
                benchmarks=entries,
            )
        )
        parent = commit
        if len(batch) == 10 or c == commits - 1:
            store.append_batch(directory, batch)
            batch = []
    return directory


def measure_report(history_dir: Path, output: Path) -> None:
    """``benchwatch trend`` in a child process: wall time, peak RSS, output size."""
    command = [sys.executable, "-c", "import sys; from benchwatch.cli import main; sys.exit(main(sys.argv[1:]))"]
    command += ["trend", "--history", str(history_dir), "--output-dir", str(output)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kb = usage.ru_maxrss
    if done.returncode:
        raise SystemExit(done.stderr)
    files = [p for p in output.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    page = (output / "index.html").stat().st_size
    chunks = sorted(p.stat().st_size for p in output.glob("trend-data/c*.js"))
    print(f"command              {' '.join(command[3:])}")
    print(f"says                 {done.stdout.strip()}")
    print(f"build seconds        {elapsed:.2f} wall (process start, read Parquet, segmentation, write)")
    print(f"CPU seconds          {usage.ru_utime + usage.ru_stime:.2f} (user + system of the trend process)")
    print(f"peak RSS             {peak_kb / 1024:.0f} MB")
    print(f"output               {total / 1e6:.2f} MB in {len(files)} files; page {page / 1e3:.0f} KB")
    if chunks:
        print(f"chunks               {len(chunks)}, {chunks[0] / 1e3:.0f}-{chunks[-1] / 1e3:.0f} KB each")
    print(f"report               {output / 'index.html'}")


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
    print("benchmarks  runs  .parquet  .parquet+samples(100/run)")
    for count in (13, 1000):
        result = _result(count, rng)
        sizes = []
        for name, options in (("plain", {}), ("samples", {"keep_samples": True})):
            directory = workdir / f"growth-{count}-{name}"
            record = store.append_record(directory, result, commit="a" * 40, date="2024-05-01T12:00:00Z", **options)
            sizes.append((directory / "records" / record.file).stat().st_size)
        print(f"{count:10d}  {5:4d}  {sizes[0]:8d}  {sizes[1]:8d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--metrics", choices=("all", "p50"), default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="reuse/keep the history here")
    parser.add_argument("--output", type=Path, default=None, help="report folder (default: in the workdir)")
    parser.add_argument("--growth", action="store_true", help="measure bytes per history record instead")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bw-trend-"))
    if args.growth:
        measure_growth(workdir)
        return 0
    history_dir = workdir / f"history-{args.benchmarks}x{args.commits}-{args.metrics}-s{args.seed}"
    if not (history_dir / "HISTORY.json").exists():
        started = time.perf_counter()
        synthetic_history(
            history_dir, benchmarks=args.benchmarks, commits=args.commits, seed=args.seed, metrics=args.metrics
        )
        print(f"history generated    {time.perf_counter() - started:.1f} s -> {history_dir}", flush=True)
        # Measure from a fresh interpreter: the child's ru_maxrss starts from this process's size at
        # fork, and generating the history made it large (400 MB reported at 10,000 x 165, 225 MB real).
        os.execv(sys.executable, [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])])
    files = list((history_dir / "records").iterdir())
    size = sum(p.stat().st_size for p in files)
    print(f"history bytes        {size / 1e6:.1f} MB in {len(files)} Parquet files")
    measure_report(history_dir, args.output or workdir / f"site-{history_dir.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
