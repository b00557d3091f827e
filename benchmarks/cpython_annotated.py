"""A real, annotated CPython history: the worker runs of the three speed.python.org files in ../shared/data/pyperf.

    .venv/bin/python benchmarks/cpython_annotated.py          # change points per series, P/R/F1

Three pyperformance files (the 3.8 branch and two master commits, Dec 2019 - Feb 2020) are too few
commits to segment, but each holds 20 worker runs of every benchmark, run one after the other on
speed.python.org's machine: laid out in commit-date order they make a 60-point history per benchmark
with real run-to-run noise, where a change can only come at a commit (positions 20 and 40).  The
changes with a documented cause are annotated in tests/fixtures/changepoints/cpython-pyperf-annotations.json
(what and why: docs/changepoints.md).  Run-to-run noise is smaller than the noise between two builds
of CPython, so this set is a hard test of precision: every build-to-build difference of a few percent
is there to be found and counted as a false alarm unless annotated.
"""

from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "pyperf"
ANNOTATIONS = REPO / "tests" / "fixtures" / "changepoints" / "cpython-pyperf-annotations.json"
MARGIN = 5  # positions (runs) either side of a commit's first run


@dataclass(frozen=True)
class History:
    names: list[str]
    matrix: np.ndarray  # benchmarks x runs: the mean of each worker run's values, seconds
    starts: dict[str, int]  # commit -> its first run's position
    truth: dict[str, list[tuple[int, int]]]  # benchmark -> [(position, direction: +1 slower, -1 faster)]
    not_scored: dict[str, list[int]]  # benchmark -> positions where a change point is neither right nor wrong


def available(directory: Path = SHARED) -> bool:
    return len(sorted(directory.glob("*.json.gz"))) >= 3


def load(directory: Path = SHARED, annotations: Path = ANNOTATIONS) -> History:
    notes = json.loads(annotations.read_text("utf-8"))
    starts = {entry["commit"]: int(entry["first_run"]) for entry in notes["commits"]}
    documents = {}
    for path in sorted(directory.glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
        documents[document["metadata"]["commit_id"]] = document
    ordered = [documents[commit] for commit in sorted(starts, key=starts.__getitem__)]
    runs: list[dict[str, list[float]]] = []
    for document in ordered:
        runs.append(
            {
                entry["metadata"]["name"]: [float(np.mean(run["values"])) for run in entry["runs"] if run.get("values")]
                for entry in document["benchmarks"]
            }
        )
    names = sorted(set.intersection(*(set(per_file) for per_file in runs)))
    matrix = np.array([[value for per_file in runs for value in per_file[name]] for name in names])
    truth: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for change in notes["changes"]:
        sign = 1 if change["direction"] == "slower" else -1
        truth[change["benchmark"]].append((starts[change["commit"]], sign))
    not_scored: dict[str, list[int]] = {name: [] for name in names}
    for entry in notes["not_scored"]:
        chosen = names if entry["benchmarks"] == "*" else entry["benchmarks"]
        for name in chosen:
            if all(at != starts[entry["commit"]] for at, _ in truth[name]):
                not_scored[name].append(starts[entry["commit"]])
    return History(names=names, matrix=matrix, starts=starts, truth=truth, not_scored=not_scored)


@dataclass(frozen=True)
class RealScore:
    tp: int
    fp: int
    fn: int
    ignored: int  # change points where the annotation scores nothing
    found: int  # every change point
    inside: int  # false alarms more than MARGIN runs from every commit: within one build's runs

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else float("nan")


def score(history: History, found: dict[str, list[tuple[int, float]]]) -> RealScore:
    """``found``: benchmark -> [(position, relative change)].  A hit is within MARGIN and of the same sign."""
    tp = fp = fn = ignored = total = inside = 0
    commits = [at for at in history.starts.values() if at > 0]
    for name in history.names:
        points = list(found.get(name, []))
        total += len(points)
        for at, sign in history.truth[name]:
            near = [p for p in points if abs(p[0] - at) <= MARGIN and (p[1] > 0) == (sign > 0)]
            if near:
                tp += 1
                points.remove(min(near, key=lambda p: abs(p[0] - at)))
            else:
                fn += 1
        for at, change in points:
            if any(abs(at - skip) <= MARGIN for skip in history.not_scored[name]) or any(
                abs(at - true) <= MARGIN and (change > 0) == (sign > 0) for true, sign in history.truth[name]
            ):
                ignored += 1  # beside an unscored commit, or a second point (of the same sign) at an annotated one
            else:
                fp += 1
                inside += all(abs(at - start) > MARGIN for start in commits)
    return RealScore(tp=tp, fp=fp, fn=fn, ignored=ignored, found=total, inside=inside)


def detect(history: History, **options: float) -> dict[str, list[tuple[int, float]]]:
    """The trend report's segmentation at its defaults (p 0.001, shifts of at least 2%) unless told otherwise."""
    sys.path.insert(0, str(REPO))
    from benchwatch.history import segmentation

    settings = {"max_pvalue": 0.001, "min_magnitude": segmentation.REPORT_MIN_MAGNITUDE, **options}
    fits = segmentation.segment_series(history.matrix, **settings)  # type: ignore[arg-type]
    return {
        name: [(p.index, p.relative_change) for p in fit.change_points]
        for name, fit in zip(history.names, fits, strict=True)
    }


def main() -> int:
    if not available():
        print(f"{SHARED} holds no three pyperf files: nothing to score", file=sys.stderr)
        return 1
    history = load()
    found = detect(history)
    result = score(history, found)
    annotated = sum(len(t) for t in history.truth.values())
    print(f"{len(history.names)} benchmarks x {history.matrix.shape[1]} runs, {annotated} annotated changes")
    print(f"change points        {result.found} ({result.found / len(history.names):.2f} a series)")
    print(f"scored               TP {result.tp}  FP {result.fp}  FN {result.fn}  (not scored: {result.ignored})")
    print(f"false alarms         {result.fp - result.inside} at a commit, {result.inside} within a build's runs")
    print(f"precision / recall   {result.precision:.2f} / {result.recall:.2f}  F1 {result.f1:.2f}")
    for name in history.names:
        if history.truth[name] or found[name]:
            marks = ", ".join(f"{at}:{change:+.1%}" for at, change in found[name])
            print(f"  {name:26s} annotated {[at for at, _ in history.truth[name]]}  found [{marks}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
