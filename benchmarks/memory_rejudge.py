"""Judge saved compare-refs results of identical code again: memory rules version 5 against version 4.

    .venv/bin/python benchmarks/memory_rejudge.py DIR [DIR ...]

Each DIR holds ``base.json.gz`` and ``head.json.gz`` (a compare-refs output
folder).  For each, the memory rows are compared as saved (every memory run)
and on every choice of 2 memory runs per side (issue 29's case), under the
shipped rules and under the rules-version-4 memory rule (no permutation test,
no run minimum, no rss-only margin).  Prints the gated memory regressions and
improvements each finds: on identical code, every one is a false alarm.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchwatch.compare import CompareSettings  # noqa: E402
from benchwatch.compare.memory import compare_memory_metrics, rss_needs_evidence  # noqa: E402
from benchwatch.compare.pairing import BenchmarkPair  # noqa: E402
from benchwatch.compare.records import BenchmarkComparison  # noqa: E402
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules  # noqa: E402
from benchwatch.model import BenchmarkResult  # noqa: E402
from benchwatch.resultfile import load_result  # noqa: E402

V4 = dataclasses.replace(DEFAULT_RULES, memory_test=False, rss_only_margin=1.0)


def _with_memory(benchmark: BenchmarkResult) -> list:
    return [run for run in benchmark.ok_runs if run.memory is not None]


def _false(pairs: list[BenchmarkPair], rules: CompareRules) -> int:
    settings = CompareSettings()
    result = compare_memory_metrics(pairs, settings=settings, rules=rules)
    benchmarks = [BenchmarkComparison(name=n, metrics=rows, status="compared") for n, rows in result.rows.items()]
    judged = rss_needs_evidence(benchmarks, settings, rules)
    return sum(m.gated and m.verdict in ("regression", "improvement") for b in judged for m in b.metrics)


def _subsets(base: dict[str, list], head: dict[str, list], size: int):
    """Comparisons with ``size`` memory runs per side: the k-th choice of runs for every benchmark alike."""
    shortest = min(len(runs) for runs in (*base.values(), *head.values()))
    choices = list(itertools.combinations(range(shortest), size))
    for left, right in itertools.product(choices, choices):
        yield [
            BenchmarkPair(
                name=name,
                base=BenchmarkResult(name=name, runs=tuple(base[name][i] for i in left)),
                head=BenchmarkResult(name=name, runs=tuple(head[name][i] for i in right)),
            )
            for name in base
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    args = parser.parse_args()
    print("| results | memory runs per side | comparisons | v5: false gated memory verdicts | v4: false |")
    print("|---|---|---|---|---|")
    for folder in args.dirs:
        base, head = load_result(folder / "base.json.gz"), load_result(folder / "head.json.gz")
        heads = {b.name: b for b in head.benchmarks}
        runs_base = {b.name: _with_memory(b) for b in base.benchmarks if b.name in heads}
        runs_head = {name: _with_memory(heads[name]) for name in runs_base}
        full = [
            BenchmarkPair(
                name=n,
                base=BenchmarkResult(name=n, runs=tuple(r)),
                head=BenchmarkResult(name=n, runs=tuple(runs_head[n])),
            )
            for n, r in runs_base.items()
        ]
        sizes = sorted({len(r) for r in (*runs_base.values(), *runs_head.values())})
        print(
            f"| {folder.name} | {'/'.join(map(str, sizes))} | 1 | {_false(full, DEFAULT_RULES)} | {_false(full, V4)} |"
        )
        subsets = list(_subsets(runs_base, runs_head, 2))
        v5 = sum(_false(pairs, DEFAULT_RULES) > 0 for pairs in subsets)
        v4 = sum(_false(pairs, V4) > 0 for pairs in subsets)
        print(f"| {folder.name} | 2 (every choice) | {len(subsets)} | {v5} with any | {v4} with any |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
