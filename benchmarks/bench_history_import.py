"""Time ``benchwatch history import-asv`` (a large project's shape) or ``import-pyperf`` (CPython's shape).

    .venv/bin/python benchmarks/bench_history_import.py --workdir W     # 1,150 benchmarks, ~10,600 series, 165 commits
    .venv/bin/python benchmarks/bench_history_import.py --workdir W --pyperf   # 61 pyperformance files, 6 MB

``--pyperf`` writes benchmarks/pyperf_history.py's 61 files (built from the real speed.python.org files
in ../shared/data/pyperf) and imports them.

The directory is generated once under ``--workdir`` in asv's result format
(results/benchmarks.json, results/<machine>/machine.json, one
``<commit[:8]>-<env>.json`` per commit with the columns result, params,
version, started_at, duration, stats_ci_99_a/b, stats_q_25/75,
stats_number, stats_repeat; no raw samples, as ``asv run`` leaves them by
default).  Parameterised benchmarks have 1-24 parameter combinations, ~9.2
on average, so 1,150 benchmarks declare ~10,600 series; 5% of the values
are missing (null), as failed or skipped parameter combinations are.

The import runs in a child process; its wall time and peak RSS (``ru_maxrss``)
are printed, then the history's size.  Not collected by pytest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

COLUMNS = [
    "result",
    "params",
    "version",
    "started_at",
    "duration",
    "stats_ci_99_a",
    "stats_ci_99_b",
    "stats_q_25",
    "stats_q_75",
    "stats_number",
    "stats_repeat",
]


def _parameters(rng: np.random.Generator, benchmarks: int) -> list[list[list[str]]]:
    shapes = []
    for _ in range(benchmarks):
        count = int(rng.choice([1, 2, 3, 4, 6, 8, 9, 12, 16, 24], p=[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]))
        first = [repr(f"v{k}") for k in range(count)]
        shapes.append([first] if count > 1 else [])
    return shapes


def generate(directory: Path, *, benchmarks: int, commits: int, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    results = directory / "results"
    machine = results / "bench-box"
    machine.mkdir(parents=True, exist_ok=True)
    names = [f"pandas_like.module_{i % 60}.Suite{i % 11}.time_case_{i:04d}" for i in range(benchmarks)]
    params = _parameters(rng, benchmarks)
    meta = {
        name: {"name": name, "type": "time", "unit": "seconds", "param_names": ["p"] if shape else [], "params": shape}
        for name, shape in zip(names, params, strict=True)
    }
    meta["version"] = 2  # type: ignore[assignment]
    (results / "benchmarks.json").write_text(json.dumps(meta))
    (machine / "machine.json").write_text(json.dumps({"machine": "bench-box", "num_cpu": "8", "version": 1}))
    sizes = [max(1, len(list(itertools.product(*shape)))) for shape in params]
    base = [np.exp(rng.uniform(np.log(1e-6), np.log(1.0), size)) for size in sizes]
    level = [np.zeros(size) for size in sizes]
    start = 1_600_000_000_000
    for c in range(commits):
        commit = f"{rng.integers(0, 2**63):016x}{c:024x}"
        document = {
            "commit_hash": commit,
            "env_name": "conda-py3.11",
            "date": start + c * 86_400_000,
            "params": {"machine": "bench-box", "python": "3.11"},
            "python": "3.11",
            "requirements": {},
            "env_vars": {},
            "result_columns": COLUMNS,
            "results": {},
            "durations": {},
            "version": 2,
        }
        for b, name in enumerate(names):
            if rng.random() < 0.01:
                level[b] = level[b] + rng.choice([-1, 1]) * rng.uniform(0.05, 0.3)
            values = base[b] * np.exp(level[b] + rng.normal(0.0, 0.03, sizes[b]))
            result = [None if rng.random() < 0.05 else float(f"{v:.6g}") for v in values]
            spread = [None if v is None else float(f"{v * 0.05:.3g}") for v in result]
            document["results"][name] = [
                result,
                params[b],
                f"{b:064x}",
                start + c * 86_400_000,
                1.5,
                [None if v is None else v - s for v, s in zip(result, spread, strict=True)],
                [None if v is None else v + s for v, s in zip(result, spread, strict=True)],
                [None if v is None else v * 0.98 for v in result],
                [None if v is None else v * 1.02 for v in result],
                [1] * sizes[b],
                [10] * sizes[b],
            ]
        (machine / f"{commit[:8]}-conda-py3.11.json").write_text(json.dumps(document))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=1150)
    parser.add_argument("--commits", type=int, default=165)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--pyperf", action="store_true", help="import 61 CPython-shaped pyperf files instead")
    args = parser.parse_args(argv)
    if args.pyperf:
        sys.path.insert(0, str(Path(__file__).parent))
        import pyperf_history

        source = args.workdir / "pyperf-61"
        if not any(source.glob("*.json.gz")):
            pyperf_history.generate(source)
        files = list(source.glob("*.json.gz"))
        print(f"pyperf files          {sum(p.stat().st_size for p in files) / 1e6:.1f} MB in {len(files)} files")
        history = args.workdir / "history-pyperf-61"
        arguments = ["history", "import-pyperf", str(source), "--history", str(history)]
    else:
        source = args.workdir / f"asv-{args.benchmarks}x{args.commits}"
        if not (source / "results" / "benchmarks.json").exists():
            started = time.perf_counter()
            generate(source, benchmarks=args.benchmarks, commits=args.commits)
            print(f"asv results generated {time.perf_counter() - started:.1f} s -> {source}")
        files = list((source / "results").rglob("*.json"))
        print(f"asv results           {sum(p.stat().st_size for p in files) / 1e6:.0f} MB in {len(files)} files")
        history = args.workdir / f"history-asv-{args.benchmarks}x{args.commits}"
        arguments = ["history", "import-asv", str(source / "results"), "--history", str(history)]
    shutil.rmtree(history, ignore_errors=True)
    command = [sys.executable, "-c", "import sys; from benchwatch.cli import main; sys.exit(main(sys.argv[1:]))"]
    command += arguments
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / 1024
    stored = list((history / "records").iterdir())
    print(f"command               benchwatch {' '.join(command[3:])}")
    print(f"says                  {done.stdout.strip()}")
    print(f"import seconds        {elapsed:.1f} wall, {usage.ru_utime + usage.ru_stime:.1f} CPU (user + system)")
    print(f"peak RSS              {peak:.0f} MB")
    print(f"history               {sum(p.stat().st_size for p in stored) / 1e6:.1f} MB in {len(stored)} Parquet files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
