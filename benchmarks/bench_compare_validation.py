"""How long does `benchwatch compare` take on large result files, validation included?

    python benchmarks/bench_compare_validation.py [--benchmarks 10000] [--runs 5] [--samples 100]
                                                  [--jsonschema] [--phases]

Writes a base and a head result file (.json.gz, per side: benchmarks x runs x
samples, head 3% slower) in a temporary directory, then times the whole CLI
``benchwatch compare BASE HEAD --format json --output /dev/null`` in a child
process: reading, gunzip, schema validation, comparison and the report.
Prints the wall and CPU time, the child's peak RSS and the load average
(``--phases``: reading, comparing and the JSON report timed in-process, with
the garbage collector paused as the command pauses it).  ``--jsonschema`` also times
the validation step alone with the compiled validator and with jsonschema
(the validator it replaced), on the same document.

Target (issue #11): 10,000 benchmarks in <= 10 s without dropping validation.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.resultfile import result_schema, save_result


def build_side(benchmarks: int, runs: int, samples: int, factor: float, seed: int) -> ResultSet:
    rng = np.random.default_rng(seed)
    levels = np.exp(rng.uniform(np.log(1e-6), np.log(1e-2), benchmarks))
    results = []
    for index, level in enumerate(levels):
        values = level * factor * np.exp(rng.normal(0, 0.03, (runs, 1))) * rng.lognormal(0, 0.05, (runs, samples))
        results.append(
            BenchmarkResult(
                name=f"benchmarks/test_module_{index % 100:02d}.py::test_case_{index:06d}",
                runs=tuple(Run(samples=values[r], wall_seconds=1.0, cpu_seconds=0.9) for r in range(runs)),
            )
        )
    return ResultSet(benchmarks=tuple(results), environment=Environment(cpu_count=2), source="synthetic")


def time_validators(path: Path) -> None:
    import jsonschema

    from benchwatch.schema_check import compile_schema

    document = json.loads(gzip.decompress(path.read_bytes()))
    compiled = compile_schema(result_schema())
    started = time.perf_counter()
    assert compiled(document) is None
    ours = time.perf_counter() - started
    validator = jsonschema.Draft202012Validator(result_schema())
    started = time.perf_counter()
    assert validator.is_valid(document)
    theirs = time.perf_counter() - started
    print(f"validation alone: compiled {ours:.2f} s, jsonschema {theirs:.2f} s (same schema, sample items included)")


def time_phases(base: Path, head: Path) -> None:
    import gc

    from benchwatch.adapters.registry import import_files
    from benchwatch.compare import CompareSettings, compare
    from benchwatch.render.json_report import render_json

    gc.disable()  # as the compare command does while it runs
    marks = [(time.perf_counter(), time.process_time())]
    sides = import_files([base]), import_files([head])
    marks.append((time.perf_counter(), time.process_time()))
    comparison = compare(*sides, CompareSettings())
    marks.append((time.perf_counter(), time.process_time()))
    render_json(comparison)
    marks.append((time.perf_counter(), time.process_time()))
    names = ("read+gunzip+parse+validate", "compare", "JSON report")
    spans = [
        f"{name} {after[0] - before[0]:.1f} s wall / {after[1] - before[1]:.1f} s CPU"
        for name, before, after in zip(names, marks, marks[1:], strict=False)
    ]
    print("in-process phases: " + ", ".join(spans))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--jsonschema", action="store_true", help="also time validation alone, ours vs jsonschema")
    parser.add_argument("--phases", action="store_true", help="also time reading, comparing and rendering in-process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compare-validation-") as folder:
        base = save_result(build_side(args.benchmarks, args.runs, args.samples, 1.0, 1), Path(folder) / "base.json.gz")
        head = save_result(build_side(args.benchmarks, args.runs, args.samples, 1.03, 2), Path(folder) / "head.json.gz")
        size = (base.stat().st_size + head.stat().st_size) / 2 / 1e6
        print(f"{args.benchmarks:,} benchmarks x {args.runs} runs x {args.samples} samples per side ({size:.1f} MB gz)")
        started = time.perf_counter()
        command = [sys.executable, "-m", "benchwatch", "compare", str(base), str(head)]
        done = subprocess.run(
            [*command, "--format", "json", "--output", "/dev/null"],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        if done.returncode not in (0, 1):
            raise SystemExit(f"compare failed ({done.returncode}): {done.stderr}")
        print(
            f"benchwatch compare: {elapsed:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.0f} MiB, "
            f"exit {done.returncode}, load average {os.getloadavg()[0]:.1f}"
        )
        if args.phases:
            time_phases(base, head)
        if args.jsonschema:
            time_validators(base)


if __name__ == "__main__":
    main()
