"""The columnar asv import writes the same history rows as the adapter's object path.

Run on the committed asv fixtures (asv 0.6 output with --record-samples) and on
variants of them made here: without samples (asv's default), with a second
machine (two runs per series, so intervals), with failed and non-numeric values.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from benchwatch.errors import InputError
from benchwatch.history import importers, store

ASV_RESULTS = Path(__file__).parent / "fixtures" / "ecosystems" / "asv-results"


def _rows(history_dir: Path) -> list[tuple[Any, ...]]:
    history = store.load_history(history_dir)
    return [
        (
            record.commit,
            record.parent,
            record.date,
            record.tags,
            record.branch,
            dict(record.environment),
            record.source,
            record.message,
            json.dumps(record.benchmarks, sort_keys=True),
        )
        for record in history.records
    ]


def _both(source: Path, tmp_path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    columnar = importers.import_asv_directory(source, tmp_path / "columnar", branch="main")
    objects = importers.import_asv_results(source, tmp_path / "objects", branch="main")
    assert columnar == objects
    return _rows(tmp_path / "columnar"), _rows(tmp_path / "objects")


def _edit(directory: Path, change: Any) -> None:
    for path in directory.rglob("*.json"):
        if path.name not in ("machine.json", "benchmarks.json"):
            document = json.loads(path.read_text())
            change(document)
            path.write_text(json.dumps(document))


def _drop_samples(document: dict[str, Any]) -> None:
    columns = document["result_columns"]
    if "samples" in columns:
        index = columns.index("samples")
        for values in document["results"].values():
            if len(values) > index:
                values[index] = None


def test_same_rows_as_the_object_path_on_the_committed_fixtures(tmp_path: Path) -> None:
    columnar, objects = _both(ASV_RESULTS, tmp_path)
    assert len(columnar) == 2
    assert columnar == objects
    entries = json.loads(columnar[-1][-1])
    # Recorded samples give the tail percentiles; memory benchmarks give bytes; a failure is counted.
    assert set(entries["bench_demo.TimeSuite.time_join(10, 'a')"]["metrics"]) == {"p50", "p95", "p99", "mean"}
    assert set(entries["bench_demo.peakmem_list"]["metrics"]) == {"peak_memory", "allocations"}
    assert entries["bench_demo.track_answer"]["unit"] == "answers"


def test_same_rows_without_samples_and_with_two_machines_and_failures(tmp_path: Path) -> None:
    source = tmp_path / "results"
    shutil.copytree(ASV_RESULTS, source)
    _edit(source, _drop_samples)
    second = source / "other-box"
    shutil.copytree(source / "ci-box", second)
    machine = json.loads((second / "machine.json").read_text())
    (second / "machine.json").write_text(json.dumps({**machine, "machine": "other-box", "cpu": "Other CPU"}))

    def slower_and_failing(document: dict[str, Any]) -> None:
        for name, values in document["results"].items():
            result = values[0]
            if isinstance(result, list) and result:
                values[0] = [None if k == 0 else (v * 1.1 if v is not None else v) for k, v in enumerate(result)]
            if name.endswith("track_answer"):
                values[0] = [float("nan")]

    _edit(second, slower_and_failing)
    columnar, objects = _both(source, tmp_path)
    assert columnar == objects
    entries = json.loads(columnar[-1][-1])
    two_runs = entries["bench_demo.TimeSuite.time_join(10, 'b')"]["metrics"]["p50"]
    assert two_runs[3] == 2 and two_runs[1] is not None and two_runs[1] < two_runs[0] < two_runs[2]
    assert entries["bench_demo.TimeSuite.time_join(10, 'a')"]["failed_runs"] == 1
    assert entries["bench_demo.track_answer"]["failed_runs"] == 1
    assert columnar[-1][5]["cpu_model"] == "AMD EPYC"  # the first machine's environment, as merge_results keeps


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda document: document["results"].update({"bench_demo.time_sum": [["x"]]}), "is not a number"),
        (lambda document: document["results"].update({"bench_demo.time_sum": {"a": 1}}), "is not a list of columns"),
        (lambda document: document.update({"version": 1}), "version 1 is not supported"),
    ],
)
def test_malformed_files_give_the_adapters_errors(tmp_path: Path, change: Any, message: str) -> None:
    source = tmp_path / "results"
    shutil.copytree(ASV_RESULTS, source)
    _edit(source, change)
    for importer, target in ((importers.import_asv_directory, "a"), (importers.import_asv_results, "b")):
        with pytest.raises(InputError, match=message):
            importer(source, tmp_path / target)
