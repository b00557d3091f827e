"""Change point quality: benchwatch's detectors side by side with ruptures PELT and Apache Otava.

    .venv/bin/python benchmarks/changepoint_quality.py                     # ours (+ ruptures if installed)
    .venv/bin/python benchmarks/changepoint_quality.py --quick             # the issue-13 comparison only
    .venv/bin/python benchmarks/changepoint_quality.py --ablation          # each issue-28 rule removed in turn
    .venv/bin/python benchmarks/changepoint_quality.py --real              # the annotated real CPython history
    .venv/bin/python benchmarks/changepoint_quality.py --otava-python /tmp/otava-venv/bin/python

Detectors: ``segmentation`` (the trend report's: robust, trend-aware binary
segmentation, benchwatch/history/segmentation.py), ``e-divisive`` (the
earlier default, benchmarks/edivisive.py) and, when the
``ruptures`` package is importable (``pip install ruptures``; not a
dependency), ruptures' PELT with an l2 cost and a BIC-type penalty
``2 sigma^2 log n`` (sigma from the MAD of first differences), min_size 3.

Otava is not a dependency: when ``--otava-python`` names an interpreter that
can ``import otava``, the same series are sent to
``otava.analysis.compute_change_points`` in a subprocess (JSON over stdin).

Data sets:

* ``tigerbeetle`` -- the series from Otava's own tests
  (``tests/fixtures/changepoints/tigerbeetle.json``), ground truth = the
  change points annotated in that test's docstring;
* ``steps`` -- synthetic: 200 series of 300 commits, 0-4 steps of 5-30%
  (random sign, >= 20 commits apart), multiplicative Gaussian noise of 1-4%;
* ``steps+outliers`` -- the same with 2% of points multiplied by 1.3-2.0
  (a noisy neighbour on a CI machine);
* ``noise`` -- 200 series of 300 commits without any change: every
  detection is a false alarm;
* ``trends`` -- steps as above on top of a linear trend of +-0.05% to
  +-0.3% per commit (a slow leak, a growing data set);
* ``trends+seasonal+outliers`` -- the same with a weekly-like cycle of
  1-4% amplitude and 2% outliers;
* ``bimodal`` -- 200 series that jump at random between two modes (29 µs
  and 100 ms, 30% in the slow one), no change: every detection is false;
* ``seasonal`` -- steps with a weekly-like cycle of 1-4% amplitude, no trend;
* ``heavy-tailed`` -- steps in Student-t noise (3 degrees of freedom, same
  standard deviation): rare large excursions that are not changes;
* ``trends+heavy-tailed`` -- both;
* ``short (61 commits)`` -- the steps set at the length of CPython's history;
* ``autocorrelated`` -- steps in AR(1) noise (phi 0.2-0.8, same marginal
  spread): a machine whose speed wanders for a few commits;
* ``strong cycle`` -- steps with a cycle of 1-4 noise sigmas, period 7-30;
* ``trends+autocorrelated+cycle`` -- all three (phi up to 0.6, 1-3 sigmas);
* ``cpython-like pyperf (61 commits)`` -- the p50 of every benchmark of
  ``benchmarks/pyperf_history.py``'s 61 pyperformance files (built from
  real speed.python.org files), imported as ``history import-pyperf`` does,
  with the changes annotated there;
* ``--real`` -- a real history: the worker runs of the three speed.python.org files in
  ``../shared/data/pyperf``, with the changes a documented cause predicts annotated
  (benchmarks/cpython_annotated.py, tests/fixtures/changepoints/cpython-pyperf-annotations.json).

Scores: a detection within +-5 commits of a true change point is a hit (each
true point matched at most once); precision, recall and F1 are pooled over
all series of a data set.  Prints a Markdown table (as in docs/changepoints.md).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edivisive import detect_change_points  # noqa: E402

from benchwatch.history import segmentation  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "changepoints" / "tigerbeetle.json"
MARGIN = 5

OTAVA_SCRIPT = r"""
import json, sys, time
from otava.analysis import compute_change_points
job = json.load(sys.stdin)
out = []
started = time.perf_counter()
for values in job["series"]:
    points, _ = compute_change_points(list(values), window_len=job["window"], max_pvalue=job["max_pvalue"],
                                      min_magnitude=job["min_magnitude"])
    out.append([int(p.index) for p in points])
json.dump({"indices": out, "seconds": time.perf_counter() - started}, sys.stdout)
"""


@dataclass(frozen=True)
class Dataset:
    name: str
    series: list[np.ndarray]
    truth: list[list[int]]


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r and not math.isnan(p) and not math.isnan(r) else float("nan")


def match(found: list[int], truth: list[int], margin: int = MARGIN) -> Score:
    """Greedy one-to-one matching, closest pairs first."""
    pairs = sorted((abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= margin)
    used_f, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return Score(tp=len(used_t), fp=len(found) - len(used_f), fn=len(truth) - len(used_t))


def pooled(found: list[list[int]], truth: list[list[int]]) -> Score:
    scores = [match(f, t) for f, t in zip(found, truth, strict=False)]
    return Score(tp=sum(s.tp for s in scores), fp=sum(s.fp for s in scores), fn=sum(s.fn for s in scores))


def tigerbeetle() -> Dataset:
    document = json.loads(FIXTURE.read_text("utf-8"))
    return Dataset("tigerbeetle", [np.asarray(document["values"], dtype=float)], [document["annotated_change_points"]])


def synthetic(
    name: str,
    *,
    count: int = 200,
    length: int = 300,
    seed: int = 2024,
    outliers: float = 0.0,
    steps: bool = True,
    trend: bool = False,
    seasonal: bool = False,
    heavy: bool = False,
    ar: float = 0.0,
    cycle: float = 0.0,
) -> Dataset:
    rng = np.random.default_rng(seed)
    series, truth = [], []
    for _ in range(count):
        x = np.arange(length)
        level = np.zeros(length)
        if trend:
            level += rng.choice([-1, 1]) * rng.uniform(0.0005, 0.003) * x
        if seasonal:
            level += rng.uniform(0.01, 0.04) * np.sin(2 * np.pi * x / 7 + rng.uniform(0, 2 * np.pi))
        points: list[int] = []
        for _ in range(int(rng.integers(0, 5)) if steps else 0):
            at = int(rng.integers(20, length - 20))
            if all(abs(at - p) >= 20 for p in points):
                points.append(at)
                level[at:] += np.log1p(rng.choice([-1, 1]) * rng.uniform(0.05, 0.30))
        sigma = rng.uniform(0.01, 0.04)
        # Heavy tails: Student t with 3 degrees of freedom, scaled to the same standard deviation.
        noise = rng.standard_t(3, size=length) * sigma / math.sqrt(3.0) if heavy else rng.normal(0.0, sigma, length)
        if ar:  # autocorrelated noise, AR(1) with phi in (0, ar], the same marginal standard deviation
            phi = rng.uniform(0.2, ar)
            for k in range(1, length):
                noise[k] = phi * noise[k - 1] + math.sqrt(1 - phi * phi) * noise[k]
        if cycle:  # a strong cycle: amplitude 1-`cycle` noise sigmas, period 7 to 30 commits
            period = rng.uniform(7, 30)
            level += rng.uniform(1.0, cycle) * sigma * np.sin(2 * np.pi * x / period + rng.uniform(0, 2 * np.pi))
        values = 1e-3 * np.exp(level + noise)
        if outliers:
            hit = rng.random(length) < outliers
            values[hit] *= rng.uniform(1.3, 2.0, size=int(hit.sum()))
        series.append(values)
        truth.append(sorted(points))
    return Dataset(name, series, truth)


# Our detector's variants: its defaults, and Otava's rules (no blip rule, no selection correction).
OURS = {
    "benchwatch default (log)": {"log": True},
    "benchwatch, Otava rules (log)": {"log": True, "min_segment": 1, "correct_for_selection": False},
    "benchwatch, Otava rules (raw)": {"log": False, "min_segment": 1, "correct_for_selection": False},
}


def bimodal(name: str, *, count: int = 200, length: int = 300, seed: int = 2027) -> Dataset:
    rng = np.random.default_rng(seed)
    series = [
        np.where(rng.random(length) < 0.3, 100e-3, 29e-6) * np.exp(rng.normal(0.0, 0.02, length)) for _ in range(count)
    ]
    return Dataset(name, series, [[] for _ in range(count)])


def run_segmentation(dataset: Dataset, *, max_pvalue: float = 0.001) -> tuple[list[list[int]], float]:
    """All series of a data set in one vectorised call (they share a length), at the trend report's defaults."""
    started = time.perf_counter()
    fits = segmentation.segment_series(
        np.vstack(dataset.series), max_pvalue=max_pvalue, min_magnitude=segmentation.REPORT_MIN_MAGNITUDE
    )
    return [[p.index for p in fit.change_points] for fit in fits], time.perf_counter() - started


def cpython_like(name: str) -> Dataset:
    """p50 of every benchmark of benchmarks/pyperf_history.py's 61 pyperf files, imported as benchwatch does."""
    import tempfile

    sys.path.insert(0, str(REPO / "benchmarks"))
    import pyperf_history

    from benchwatch.history import importers
    from benchwatch.history.trend_data import load_trend_data

    with tempfile.TemporaryDirectory() as work:
        files = Path(work) / "pyperf"
        truth = pyperf_history.generate(files)
        importers.import_pyperf_directory(directory=files, history_dir=Path(work) / "h")
        data = load_trend_data(Path(work) / "h", metrics=("p50",))
    matrix = data.values["p50"]
    names = list(data.names)
    return Dataset(name, [matrix[:, k] for k in range(len(names))], [truth.get(n, []) for n in names])


def ruptures_available() -> bool:
    try:
        import ruptures  # noqa: F401
    except ImportError:
        return False
    return True


def run_pelt(dataset: Dataset) -> tuple[list[list[int]], float]:
    """ruptures PELT, l2 cost on log values, penalty 2 sigma^2 log n (BIC-type), sigma from the MAD of differences."""
    import ruptures

    started = time.perf_counter()
    found = []
    for values in dataset.series:
        signal = np.log(values)
        sigma = np.median(np.abs(np.diff(signal) - np.median(np.diff(signal)))) / (0.6745 * math.sqrt(2))
        penalty = 2.0 * max(sigma, 1e-9) ** 2 * math.log(signal.size)
        ends = ruptures.Pelt(model="l2", min_size=3, jump=1).fit(signal).predict(pen=penalty)
        found.append([int(end) for end in ends[:-1]])
    return found, time.perf_counter() - started


def run_ours(
    dataset: Dataset, *, window: int, max_pvalue: float, min_magnitude: float, variant: dict
) -> tuple[list[list[int]], float]:
    started = time.perf_counter()
    found = [
        [
            p.index
            for p in detect_change_points(
                values, window=window, max_pvalue=max_pvalue, min_magnitude=min_magnitude, **variant
            )
        ]
        for values in dataset.series
    ]
    return found, time.perf_counter() - started


def run_otava(
    python: str, dataset: Dataset, *, window: int, max_pvalue: float, min_magnitude: float, log: bool
) -> tuple[list[list[int]], float]:
    series = [(np.log(values) if log else values).tolist() for values in dataset.series]
    job = json.dumps({"series": series, "window": window, "max_pvalue": max_pvalue, "min_magnitude": min_magnitude})
    completed = subprocess.run([python, "-c", OTAVA_SCRIPT], input=job, capture_output=True, text=True, check=True)
    answer = json.loads(completed.stdout)
    return answer["indices"], answer["seconds"]


def otava_available(python: str | None) -> bool:
    if not python:
        return False
    try:
        subprocess.run([python, "-c", "import otava.analysis"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def comparison(datasets: list[Dataset]) -> None:
    """The issue-13 table: segmentation vs E-divisive (window 50, p 0.001) vs ruptures PELT (BIC-type)."""
    detectors: list[tuple[str, object]] = [
        ("segmentation (trend report)", run_segmentation),
        (
            "e-divisive (previous default)",
            lambda d: run_ours(d, window=50, max_pvalue=0.001, min_magnitude=0.0, variant={"log": True}),
        ),
    ]
    if ruptures_available():
        detectors.append(("ruptures PELT l2, pen 2σ²log n", run_pelt))
    print(f"margin +-{MARGIN} commits; P/R/F1 pooled over the series of each data set; FP = false alarms\n")
    print("| data set | series | true CPs | detector | precision | recall | F1 | FP | ms/series |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in datasets:
        true_total = sum(len(t) for t in dataset.truth)
        for label, run in detectors:
            found, seconds = run(dataset)  # type: ignore[operator]
            score = pooled(found, dataset.truth)
            print(
                f"| {dataset.name} | {len(dataset.series)} | {true_total} | {label} | {_fmt(score.precision)} "
                f"| {_fmt(score.recall)} | {_fmt(score.f1)} | {score.fp} | {1000 * seconds / len(dataset.series):.1f} |"
            )
    print()


# Each of issue 28's rules switched off in turn (segmentation module constants), and all of them.
ABLATION = {
    "shipped": {},
    "- dependent noise (long-run variance)": {"DEPENDENCE_ROUNDS": 0},
    "- shift >= 0.5 noise sigma": {"NOISE_SHIFT": 0.0},
    "- stricter price past 200 commits": {"LONG_PRICE": 0.0},
    "- cycles taken out": {"CYCLES": False},
    "- all four (before issue 28)": {"DEPENDENCE_ROUNDS": 0, "NOISE_SHIFT": 0.0, "LONG_PRICE": 0.0, "CYCLES": False},
}
RULES = ("DEPENDENCE_ROUNDS", "NOISE_SHIFT", "LONG_PRICE", "CYCLES")


def ablation(datasets: list[Dataset]) -> None:
    """F1 (precision/recall) of the trend report's segmentation with each rule removed."""
    shipped = {name: getattr(segmentation, name) for name in RULES}
    print("| variant | " + " | ".join(d.name for d in datasets) + " |")
    print("|---" * (len(datasets) + 1) + "|")
    for label, changes in ABLATION.items():
        for name, value in {**shipped, **changes}.items():
            setattr(segmentation, name, value)
        segmentation.beta_for.cache_clear()
        cells = []
        for dataset in datasets:
            score = pooled(run_segmentation(dataset)[0], dataset.truth)
            cells.append(f"{_fmt(score.f1)} ({_fmt(score.precision)}/{_fmt(score.recall)})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for name, value in shipped.items():
        setattr(segmentation, name, value)
    segmentation.beta_for.cache_clear()
    print()


def real_table() -> None:
    """The real annotated CPython history (benchmarks/cpython_annotated.py): each detector and rule."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import cpython_annotated

    if not cpython_annotated.available():
        print(f"{cpython_annotated.SHARED} holds no three pyperf files: no real set", file=sys.stderr)
        return
    history = cpython_annotated.load()
    rows: list[tuple[str, dict[str, list[tuple[int, float]]]]] = []
    shipped = {name: getattr(segmentation, name) for name in RULES}
    for label, changes in ABLATION.items():
        for name, value in {**shipped, **changes}.items():
            setattr(segmentation, name, value)
        segmentation.beta_for.cache_clear()
        rows.append((f"segmentation, {label}", cpython_annotated.detect(history)))
    for name, value in shipped.items():
        setattr(segmentation, name, value)
    segmentation.beta_for.cache_clear()
    edivisive = {
        name: [
            (p.index, p.relative_change)
            for p in detect_change_points(values, window=50, max_pvalue=0.001, min_magnitude=0.02)
        ]
        for name, values in zip(history.names, history.matrix, strict=True)
    }
    rows.append(("e-divisive (previous default), min change 2%", edivisive))
    annotated = sum(len(t) for t in history.truth.values())
    print(
        f"real: {len(history.names)} CPython benchmarks x {history.matrix.shape[1]} worker runs (3 commits), "
        f"{annotated} annotated changes; margin +-{cpython_annotated.MARGIN} runs, same sign\n"
    )
    print(
        "| detector | change points (a series) | TP | FP at a commit | FP within a build | FN | not scored "
        "| precision | recall | F1 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, found in rows:
        r = cpython_annotated.score(history, found)
        print(
            f"| {label} | {r.found} ({r.found / len(history.names):.2f}) | {r.tp} | {r.fp - r.inside} | {r.inside} "
            f"| {r.fn} | {r.ignored} | {_fmt(r.precision)} | {_fmt(r.recall)} | {_fmt(r.f1)} |"
        )
    print()


def all_datasets(count: int) -> list[Dataset]:
    return [
        tigerbeetle(),
        synthetic("steps", count=count),
        synthetic("steps+outliers", count=count, seed=2025, outliers=0.02),
        synthetic("noise", count=count, seed=2026, steps=False),
        synthetic("trends", count=count, seed=2028, trend=True),
        synthetic("trends+seasonal+outliers", count=count, seed=2029, trend=True, seasonal=True, outliers=0.02),
        bimodal("bimodal", count=count),
        synthetic("seasonal", count=count, seed=2030, seasonal=True),
        synthetic("heavy-tailed", count=count, seed=2031, heavy=True),
        synthetic("trends+heavy-tailed", count=count, seed=2032, trend=True, heavy=True),
        synthetic("short (61 commits)", count=count, seed=2033, length=61),
        synthetic("autocorrelated", count=count, seed=2034, ar=0.8),
        synthetic("strong cycle", count=count, seed=2035, cycle=4.0),
        synthetic("trends+autocorrelated+cycle", count=count, seed=2036, trend=True, ar=0.6, cycle=3.0),
        cpython_like("cpython-like pyperf (61 commits)"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--otava-python", default=None, help="a Python that can import otava (apache-otava 0.8)")
    parser.add_argument("--count", type=int, default=200, help="synthetic series per data set")
    parser.add_argument("--quick", action="store_true", help="only the segmentation / e-divisive / PELT table")
    parser.add_argument("--sets", default=None, help="comma-separated data set names (default: all)")
    parser.add_argument("--ablation", action="store_true", help="F1 of the segmentation with each rule removed")
    parser.add_argument("--real", action="store_true", help="only the real annotated CPython history (../shared)")
    args = parser.parse_args(argv)
    if args.real:
        real_table()
        return 0
    with_otava = otava_available(args.otava_python)
    if args.otava_python and not with_otava:
        print(f"note: {args.otava_python} cannot import otava; ours only", file=sys.stderr)

    datasets = all_datasets(args.count)
    if args.sets:
        chosen = set(args.sets.split(","))
        datasets = [dataset for dataset in datasets if dataset.name in chosen]
    if args.ablation:
        ablation(datasets)
        return 0
    comparison(datasets)
    if args.quick:
        return 0
    datasets = datasets[:4]
    configs = [
        {"window": 30, "max_pvalue": 0.001, "min_magnitude": 0.0},
        {"window": 50, "max_pvalue": 0.001, "min_magnitude": 0.0},
        {"window": 50, "max_pvalue": 0.001, "min_magnitude": 0.02},
    ]
    print(f"margin +-{MARGIN} commits; P/R/F1 pooled over the series of each data set; FP = false alarms\n")
    print(
        "| data set | series | true CPs | window | p | min mag | detector | precision | recall | F1 | FP | ms/series |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset in datasets:
        true_total = sum(len(t) for t in dataset.truth)
        for config in configs:
            runs = list(OURS.items())
            if with_otava:
                runs += [("otava 0.8 (raw)", False), ("otava 0.8 (log input)", True)]
            for label, variant in runs:
                if isinstance(variant, bool):
                    if variant and config["min_magnitude"]:
                        continue  # otava's magnitude is relative to the mean: meaningless on logs
                    found, seconds = run_otava(args.otava_python, dataset, log=variant, **config)
                else:
                    found, seconds = run_ours(dataset, variant=variant, **config)
                score = pooled(found, dataset.truth)
                print(
                    f"| {dataset.name} | {len(dataset.series)} | {true_total} | {config['window']} "
                    f"| {config['max_pvalue']} "
                    f"| {config['min_magnitude']:.0%} | {label} | {_fmt(score.precision)} | {_fmt(score.recall)} "
                    f"| {_fmt(score.f1)} | {score.fp} | {1000 * seconds / len(dataset.series):.1f} |"
                )
        if dataset.name == "tigerbeetle":
            for label, variant in OURS.items():
                found, _ = run_ours(dataset, window=30, max_pvalue=0.001, min_magnitude=0.0, variant=variant)
                print(f"<!-- tigerbeetle, {label}, window 30: {found[0]} -->")
            if with_otava:
                found, _ = run_otava(
                    args.otava_python, dataset, window=30, max_pvalue=0.001, min_magnitude=0.0, log=False
                )
                print(f"<!-- tigerbeetle, otava raw, window 30: {found[0]} -->")
            print()
            print(
                "| data set | series | true CPs | window | p | min mag | detector "
                "| precision | recall | F1 | FP | ms/series |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    return 0


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
