"""A CPython-shaped pyperf history: 61 pyperformance files, one per commit, with annotated changes.

    .venv/bin/python benchmarks/pyperf_history.py DIR            # writes DIR/*.json.gz and DIR-truth.json

Built from real speed.python.org pyperformance files (``../shared/data/pyperf``, 61 benchmarks of
20 runs x 3 values; the committed ``tests/fixtures/python/pyperf.json.gz`` when ../shared is absent):
every commit's file is a real file's structure and metadata, with each benchmark's runs scaled to
that commit's level.  What a commit-to-commit history adds to one file's spread is modelled on what
speed.python.org's history shows: run-to-run noise of the machine between commits (Student t, 3
degrees of freedom: rare large excursions), a slow drift on some benchmarks, a weekly-like cycle on
a few, two benchmarks that flip between two modes, and the annotated changes (``DIR-truth.json``):

* commit 12: +12% on 6 benchmarks (a slower code path);
* commit 24: -9% on 14 benchmarks (an optimisation);
* commit 36: +30% on 2 benchmarks (a large regression);
* commit 48: -15% on 4 benchmarks and +6% on 3 others.

The real 61-commit history of the issue is not at hand offline; this one has its shape (61 files of
~100 KB, 6 MB) for the import's speed, and known changes for the change points' quality.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "pyperf"
FIXTURE = REPO / "tests" / "fixtures" / "python" / "pyperf.json.gz"
COMMITS = 61
EVENTS = ((12, +0.12, 6), (24, -0.09, 14), (36, +0.30, 2), (48, -0.15, 4), (48, +0.06, 3))


def templates(paths: list[Path] | None = None) -> list[dict]:
    if paths is None:
        paths = (sorted(SHARED.glob("*.json.gz")) if SHARED.is_dir() else []) or [FIXTURE]
    return [json.load(gzip.open(path)) for path in paths]


def generate(
    directory: Path, *, commits: int = COMMITS, seed: int = 28, sources: list[Path] | None = None
) -> dict[str, list[int]]:
    """Write ``commits`` pyperf files into ``directory``; return {benchmark: annotated change commits}.

    ``sources``: the pyperf files to build from (default: ../shared's, else the committed fixture).
    """
    rng = np.random.default_rng(seed)
    sources = templates(sources)
    names = [entry["metadata"]["name"] for entry in sources[0]["benchmarks"]]
    count = len(names)
    level = np.zeros((commits, count))
    truth: dict[str, list[int]] = {name: [] for name in names}
    taken: set[int] = set()
    for at, change, size in EVENTS:
        free = [b for b in range(count) if b not in taken]
        if not free:
            break
        chosen = rng.choice(free, size=min(size, len(free)), replace=False)
        for b in chosen.tolist():
            taken.add(b)
            level[at:, b] += np.log1p(change)
            truth[names[b]].append(at)
    sigma = rng.uniform(0.004, 0.025, count)
    noise = rng.standard_t(3, size=(commits, count)) * sigma / np.sqrt(3.0)
    drift = np.where(rng.random(count) < 0.2, rng.uniform(-0.001, 0.001, count), 0.0)
    cycle = np.where(rng.random(count) < 0.1, rng.uniform(0.01, 0.03, count), 0.0)
    x = np.arange(commits)[:, None]
    level += noise + drift * x + cycle * np.sin(2 * np.pi * x / 7 + rng.uniform(0, 2 * np.pi, count))
    for b in rng.choice(count, size=2, replace=False).tolist():
        level[:, b] += np.where(rng.random(commits) < 0.3, np.log(1.15), 0.0)
    directory.mkdir(parents=True, exist_ok=True)
    for c in range(commits):
        document = copy.deepcopy(sources[c % len(sources)])
        sha = f"{rng.integers(0, 2**63):016x}{c:024x}"
        day = f"2020-{1 + c // 28:02d}-{1 + c % 28:02d}"
        document["metadata"].update(commit_id=sha, commit_date=f"{day}T00:15:00+00:00", commit_branch="master")
        by_name = {entry["metadata"]["name"]: entry for entry in document["benchmarks"]}
        reference = {entry["metadata"]["name"]: entry for entry in sources[0]["benchmarks"]}
        for b, name in enumerate(names):
            entry = by_name.get(name) or copy.deepcopy(reference[name])
            by_name[name] = entry
            # The template's runs relative to its own median, around this commit's level.
            base = _median(reference[name])
            own = _median(entry)
            factor = base / own * float(np.exp(level[c, b]))
            for run in entry["runs"]:
                if run.get("values"):
                    run["values"] = [float(f"{value * factor:.9g}") for value in run["values"]]
        document["benchmarks"] = [by_name[name] for name in names]
        with gzip.open(directory / f"{day}_00-15-master-{sha[:12]}.json.gz", "wt") as handle:
            json.dump(document, handle)
    truth_file(directory).write_text(json.dumps(truth, indent=1))
    return truth


def truth_file(directory: Path) -> Path:
    """Beside the folder, not in it: the importer reads every *.json inside."""
    return directory.with_name(directory.name + "-truth.json")


def _median(entry: dict) -> float:
    values = [value for run in entry["runs"] for value in run.get("values") or []]
    return float(np.median(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--commits", type=int, default=COMMITS)
    args = parser.parse_args(argv)
    truth = generate(args.directory, commits=args.commits)
    files = list(args.directory.glob("*.json.gz"))
    size = sum(path.stat().st_size for path in files) / 1e6
    print(
        f"{len(files)} pyperf files ({size:.1f} MB), {len(truth)} benchmarks, "
        f"{sum(len(v) for v in truth.values())} annotated changes -> {args.directory}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
