"""The history store, its importers and the record/history commands."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchwatch import cli
from benchwatch.errors import InputError, UsageError
from benchwatch.history import importers, pruning, store
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.resultfile import save_result

# Three pyperf files tagged with commit metadata by pyperf convert (tests/fixtures/README.md).
PYPERF_DIR = Path(__file__).parent / "fixtures" / "python" / "pyperf-history"
ASV_RESULTS = Path(__file__).parent / "fixtures" / "ecosystems" / "asv-results"
PRESENT_COMMANDS = tuple(name for name in cli.COMMAND_MODULES if importlib.util.find_spec(name) is not None)


def _result(scale: float = 1.0, runs: int = 5, commit: str | None = "c" * 40, seed: int = 0) -> ResultSet:
    rng = np.random.default_rng(seed)
    benchmarks = tuple(
        BenchmarkResult(
            name=name,
            runs=tuple(
                Run(
                    samples=scale * base * rng.lognormal(0.0, 0.05, size=50),
                    memory=MemoryProfile(peak_bytes=1000 + 10 * i, allocations=7),
                )
                for i in range(runs)
            ),
        )
        for name, base in (("test_a", 1e-3), ("test_b", 2e-2))
    )
    environment = Environment(
        git_commit=commit, git_branch="main", collected_at="2024-05-01T12:00:00+02:00", cpu_count=2, hostname="ci"
    )
    return ResultSet(benchmarks=benchmarks, environment=environment)


@pytest.fixture
def main(monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", PRESENT_COMMANDS)
    return cli.main


# -- summaries ----------------------------------------------------------------------


def test_record_summarises_each_metric_with_median_and_log_t_interval(tmp_path):
    result = _result()
    record = store.append_record(tmp_path, result)
    benchmark = result.by_name()["test_a"]
    per_run = np.array([run.statistic("p95") for run in benchmark.runs])
    value, low, high, n_runs = record.benchmarks["test_a"]["metrics"]["p95"]
    assert value == pytest.approx(float(np.median(per_run)), rel=1e-5)
    logs = np.log(per_run)
    half = scipy_stats.t.ppf(0.975, 4) * logs.std(ddof=1) / math.sqrt(5)
    assert low == pytest.approx(math.exp(logs.mean() - half), rel=1e-5)
    assert high == pytest.approx(math.exp(logs.mean() + half), rel=1e-5)
    assert n_runs == 5
    assert set(record.benchmarks["test_a"]["metrics"]) == {"p50", "p95", "p99", "mean", "peak_memory", "allocations"}
    # allocations are identical in every run: a zero-width interval, not a failure
    assert record.benchmarks["test_a"]["metrics"]["allocations"] == [7.0, 7.0, 7.0, 5]


def test_runs_summarised_at_once_equal_one_run_at_a_time():
    """The pyperf import's fast path (equal-length runs in one numpy call) gives Run.statistic's figures."""
    from benchwatch.history.summary import _latency_per_run, summarize_benchmark

    rng = np.random.default_rng(9)
    equal = BenchmarkResult(name="eq", runs=tuple(Run(samples=rng.lognormal(-7, 0.2, 3)) for _ in range(20)))
    ragged = BenchmarkResult(name="rag", runs=tuple(Run(samples=rng.lognormal(-7, 0.2, 3 + k)) for k in range(5)))
    fast = _latency_per_run(equal)
    for metric in ("p50", "p95", "p99", "mean"):
        assert fast[metric] == pytest.approx(equal.per_run_statistics(metric), rel=1e-12)
    assert _latency_per_run(ragged) == {}  # different sample counts: one run at a time
    entry = summarize_benchmark(equal)
    assert entry["metrics"]["p95"][0] == pytest.approx(float(np.median(equal.per_run_statistics("p95"))))


def test_single_run_has_no_interval_and_samples_are_optional(tmp_path):
    record = store.append_record(tmp_path / "h1", _result(runs=1))
    assert record.benchmarks["test_a"]["metrics"]["p50"][1:] == [None, None, 1]
    assert "samples" not in record.benchmarks["test_a"]
    kept = store.append_record(tmp_path / "h2", _result(runs=2), keep_samples=True)
    assert len(kept.benchmarks["test_a"]["samples"]) == 2
    assert len(kept.benchmarks["test_a"]["samples"][0]) == 50


def test_layout_defaults_from_environment_and_atomic_files(tmp_path):
    record = store.append_record(tmp_path, _result(), tags=["v1.0"], parent="p" * 40)
    assert record.commit == "c" * 40 and record.branch == "main"
    assert record.date == "2024-05-01T10:00:00Z"  # converted to UTC
    assert record.file.startswith("20240501T100000Z-cccccccccccc-") and record.file.endswith(".parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", ".lock", "HISTORY.json", "records"]
    assert [p.name for p in (tmp_path / "records").iterdir()] == [record.file]  # no temporary files left
    marker = json.loads((tmp_path / "HISTORY.json").read_text())
    assert marker["schema_version"] == store.SCHEMA_VERSION == 2
    loaded = store.load_history(tmp_path).records[0]
    assert loaded.environment["hostname"] == "ci"
    assert loaded.tags == ("v1.0",) and loaded.parent == "p" * 40
    assert loaded.benchmarks == record.benchmarks


def test_record_files_are_plain_parquet_for_other_readers(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    store.append_record(tmp_path, _result(), tags=["v1.0"])
    store.append_record(tmp_path, _result(scale=2.0), commit="d" * 40, date="2024-05-02T00:00:00Z")
    rows = duckdb.sql(
        f"SELECT commit, tags, benchmark, unit, p50, p50_low < p50 AND p50 < p50_high, p50_runs, "
        f"strftime(date AT TIME ZONE 'UTC', '%Y-%m-%d') "
        f"FROM read_parquet('{tmp_path}/records/*.parquet') ORDER BY date, benchmark"
    ).fetchall()
    assert [row[:4] for row in rows] == [
        ("c" * 40, ["v1.0"], "test_a", "seconds"),
        ("c" * 40, ["v1.0"], "test_b", "seconds"),
        ("d" * 40, [], "test_a", "seconds"),
        ("d" * 40, [], "test_b", "seconds"),
    ]
    assert all(row[5] and row[6] == 5 for row in rows)
    assert rows[0][7] == "2024-05-01" and rows[2][4] == pytest.approx(2 * rows[0][4], rel=0.2)


def test_commit_is_required_and_duplicates_need_replace(tmp_path):
    with pytest.raises(UsageError, match="no commit"):
        store.append_record(tmp_path, _result(commit=None))
    store.append_record(tmp_path, _result())
    with pytest.raises(UsageError, match="already in the history"):
        store.append_record(tmp_path, _result())
    store.append_record(tmp_path, _result(scale=2.0), replace=True, date="2024-06-01T00:00:00Z")
    history = store.load_history(tmp_path)
    assert len(history.records) == 1 and history.records[0].date == "2024-06-01T00:00:00Z"
    assert len(list((tmp_path / "records").glob("*.parquet"))) == 1  # the replaced record's file is gone


def test_replace_inside_a_batch_file_keeps_the_other_commits(tmp_path):
    entries = {"bench": {"unit": "seconds", "metrics": {"p50": [1.0, None, None, 1]}}}
    batch = [
        store.PendingRecord(commit=f"{i:040x}", date=f"2024-05-0{i + 1}T00:00:00Z", benchmarks=entries)
        for i in range(3)
    ]
    store.append_batch(tmp_path, batch)
    with pytest.raises(UsageError, match="twice"):
        store.append_batch(tmp_path, [batch[0], batch[0]], replace=True)
    changed = {"bench": {"unit": "seconds", "metrics": {"p50": [2.0, None, None, 1]}}}
    store.append_summaries(tmp_path, changed, commit=f"{1:040x}", date="2024-05-02T00:00:00Z", replace=True)
    history = store.load_history(tmp_path)
    assert [r.benchmarks["bench"]["metrics"]["p50"][0] for r in history.records] == [1.0, 2.0, 1.0]
    assert len(list((tmp_path / "records").glob("*.parquet"))) == 2


def test_load_history_orders_by_date_and_series_returns_arrays(tmp_path):
    for day, scale in ((3, 1.2), (1, 1.0), (2, 1.1)):
        store.append_record(
            tmp_path, _result(scale=scale, seed=day), commit=f"{day:040x}", date=f"2024-05-0{day}T00:00:00Z"
        )
    history = store.load_history(tmp_path)
    assert [r.commit for r in history.records] == [f"{d:040x}" for d in (1, 2, 3)]
    s = store.series(history, "test_a", "p50")
    assert len(s) == 3 and s.values.dtype == np.float64
    assert np.all(np.diff(s.values) > 0)
    assert np.all(s.low < s.values) and np.all(s.values < s.high)
    assert list(s.n_runs) == [5, 5, 5]
    assert len(store.series(history, "missing", "p50")) == 0
    values, _low, _high = store.metric_table(history, "p50", ["test_b", "test_a", "missing"])
    assert values.shape == (3, 3) and np.isnan(values[:, 2]).all()
    np.testing.assert_allclose(values[:, 1], s.values)


def test_unknown_schema_version_is_one_line_input_error(tmp_path):
    store.append_record(tmp_path, _result())
    marker = tmp_path / "HISTORY.json"
    document = json.loads(marker.read_text())
    document["schema_version"] = 99
    marker.write_text(json.dumps(document))
    with pytest.raises(InputError, match="unknown history schema_version 99") as caught:
        store.load_history(tmp_path)
    assert "\n" not in str(caught.value)


def test_missing_history_and_corrupt_record_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        store.load_history(tmp_path / "nope")
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(InputError, match=r"no HISTORY\.json"):
        store.load_history(tmp_path / "empty")
    tmp_path.joinpath("file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        store.append_record(tmp_path / "file", _result())
    record = store.append_record(tmp_path / "h", _result())
    (tmp_path / "h" / "records" / record.file).write_bytes(b"PAR1 broken")
    with pytest.raises(InputError, match="unreadable record file") as caught:
        store.load_history(tmp_path / "h")
    assert "\n" not in str(caught.value)


def test_stray_files_and_symlinks_in_records_are_ignored(tmp_path):
    store.append_record(tmp_path / "h", _result())
    records = tmp_path / "h" / "records"
    (records / ".half-written.parquet.part").write_bytes(b"junk")
    (records / "notes.txt").write_text("hello")
    other = store.append_record(tmp_path / "other", _result(), commit="e" * 40)
    (records / other.file).symlink_to(tmp_path / "other" / "records" / other.file)
    assert [r.commit for r in store.load_history(tmp_path / "h").records] == ["c" * 40]


# -- pruning ------------------------------------------------------------------------


def _daily_history(directory: Path, days: int = 10, per_day: int = 3) -> None:
    entries = {"bench": {"unit": "seconds", "metrics": {"p50": [1.0, None, None, 1]}}}
    for day in range(days):
        for k in range(per_day):
            store.append_summaries(
                directory,
                entries,
                commit=f"{day:02d}{k:038x}",
                date=f"2024-05-{day + 1:02d}T{8 + k:02d}:00:00Z",
                tags=["v1.0"] if (day, k) == (0, 0) else [],
            )


def test_prune_keep_last_keeps_tags(tmp_path):
    _daily_history(tmp_path)
    result = pruning.prune(tmp_path, keep_last=5)
    history = store.load_history(tmp_path)
    assert result.kept == 6 and len(result.removed) == 24
    assert history.records[0].tags == ("v1.0",)
    assert len(list((tmp_path / "records").glob("*.parquet"))) == 6
    pruning.prune(tmp_path, keep_last=5, keep_tags=False)
    assert len(store.load_history(tmp_path).records) == 5


def test_prune_thins_old_records_to_one_per_day(tmp_path):
    _daily_history(tmp_path)
    pruning.prune(tmp_path, thin_older_than_days=3, keep_last=2)
    history = store.load_history(tmp_path)
    dates = [r.date for r in history.records]
    # Records before the cutoff (3 days before the newest, day 10 10:00) keep one per day -- the last
    # one before the cutoff -- plus the tagged first record; records after it all stay.
    old = [d for d in dates if d < "2024-05-07T10:00:00Z"]
    assert old == (
        ["2024-05-01T08:00:00Z", "2024-05-01T10:00:00Z"]
        + [f"2024-05-0{d}T10:00:00Z" for d in range(2, 7)]
        + ["2024-05-07T09:00:00Z"]
    )
    assert len(dates) - len(old) == 1 + 3 * 3  # day 7 10:00, days 8-10 whole
    with pytest.raises(UsageError):
        pruning.prune(tmp_path)


# -- importers ----------------------------------------------------------------------


def test_import_pyperf_directory_uses_commit_metadata(tmp_path):
    summary = importers.import_pyperf_directory(PYPERF_DIR, tmp_path / "h")
    history = store.load_history(tmp_path / "h")
    assert len(summary.added) == 3
    assert [r.commit[:12] for r in history.records] == ["2fa311995f96", "ea4b653beabd", "f6b3ae7ddb52"]
    # commit_date, not the run date (2026-12-01) nor the file name's 2026-11-25_18-10
    assert history.records[1].date == "2026-11-25T17:55:01Z"
    assert history.records[1].parent == history.records[0].commit
    assert history.records[2].branch == "main"
    again = importers.import_pyperf_directory(PYPERF_DIR, tmp_path / "h")
    assert again.added == () and len(again.skipped) == 3


def test_import_pyperf_falls_back_to_file_name(tmp_path):
    folder = tmp_path / "pyperf"
    folder.mkdir()
    for stamp, commit, scale in (
        ("2020-01-02_10-30", "abcdef1234567", 1.0),
        ("2020-01-01_09-00", "1234567abcdef", 1.1),
    ):
        document = {
            "version": "1.0",
            "metadata": {"hostname": "bench"},
            "benchmarks": [{"metadata": {"name": "spam"}, "runs": [{"values": [scale * 0.1, scale * 0.11]}]}],
        }
        (folder / f"{stamp}-main-{commit}.json").write_text(json.dumps(document))
    importers.import_pyperf_directory(folder, tmp_path / "h")
    history = store.load_history(tmp_path / "h")
    assert [(r.commit, r.date, r.branch) for r in history.records] == [
        ("1234567abcdef", "2020-01-01T09:00:00Z", "main"),
        ("abcdef1234567", "2020-01-02T10:30:00Z", "main"),
    ]
    (folder / "bad.json").write_text("{nope")
    with pytest.raises(InputError, match=r"bad\.json"):
        importers.import_pyperf_directory(folder, tmp_path / "h2")


@pytest.mark.skipif(
    importlib.util.find_spec("benchwatch.adapters.asv") is None
    or not hasattr(importlib.import_module("benchwatch.adapters.asv"), "load_asv_results"),
    reason="benchwatch.adapters.asv.load_asv_results not available",
)
def test_import_asv_directory(tmp_path):
    summary = importers.import_asv_directory(ASV_RESULTS, tmp_path / "h", branch="main")
    history = store.load_history(tmp_path / "h")
    assert len(summary.added) == len(history.records) == 2
    assert history.records[0].date <= history.records[1].date
    assert all(r.branch == "main" for r in history.records)
    names = history.benchmark_names()
    assert any(name.startswith("bench_demo.") for name in names)


# -- commands -----------------------------------------------------------------------


def test_record_and_history_commands(tmp_path, main, capsys):
    result_path = tmp_path / "result.json"
    save_result(_result(), result_path)
    history = tmp_path / "history"
    assert main(["record", str(result_path), "--history", str(history), "--tag", "v1.4", "--commit", "f" * 40]) == 0
    assert "recorded ffffffff [v1.4]" in capsys.readouterr().out
    assert main(["record", str(result_path), "--history", str(history), "--date", "2024-05-02T00:00:00Z"]) == 0
    assert main(["record", str(result_path), "--history", str(history)]) == 2  # commit c*40 already there
    assert "already in the history" in (err := capsys.readouterr().err) and "--replace" in err
    assert main(["history", "prune", "--history", str(history), "--keep-last", "1", "--drop-tags"]) == 0
    assert "removed 1 records" in capsys.readouterr().out
    assert main(["history", "prune", "--history", str(tmp_path / "missing"), "--keep-last", "1"]) == 2
    assert "history directory not found" in capsys.readouterr().err
    assert main(["record", str(result_path), "--history", str(result_path)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert [r.commit for r in store.load_history(history).records] == ["c" * 40]
    assert (
        main(["record", str(result_path), "--history", str(history), "--date", "yesterday", "--commit", "1" * 40]) == 2
    )


def test_history_import_pyperf_command(tmp_path, main, capsys):
    folder = tmp_path / "in"
    shutil.copytree(PYPERF_DIR, folder)
    assert main(["history", "import-pyperf", str(folder), "--history", str(tmp_path / "h")]) == 0
    assert "imported 3 commits" in capsys.readouterr().out


# -- migration from the JSON history (schema 1) ----------------------------------------


def _legacy_history(directory: Path, commits: int = 3) -> list[str]:
    directory.mkdir(parents=True)
    entries, names = [], []
    for i in range(commits):
        commit = f"{i + 1:040x}"
        name = f"2024050{i + 1}T000000Z-{commit[:12]}.json.gz"
        document = {
            "schema_version": 1,
            "commit": commit,
            "parent": None,
            "date": f"2024-05-0{i + 1}T00:00:00Z",
            "tags": ["v1"] if i == 0 else [],
            "branch": "main",
            "message": "msg <b>",
            "source": None,
            "environment": {"hostname": "ci"},
            "benchmarks": {"bench": {"unit": "seconds", "metrics": {"p50": [1.0 + i, 0.9, 1.1, 3]}}},
        }
        (directory / name).write_bytes(gzip.compress(json.dumps(document).encode()))
        entries.append({"commit": commit, "file": name, "date": document["date"]})
        names.append(name)
    (directory / "index.json").write_text(json.dumps({"schema_version": 1, "records": entries}))
    return names


def test_json_history_is_refused_with_a_hint_and_migrates_with_one_command(tmp_path, main, capsys):
    names = _legacy_history(tmp_path / "h")
    with pytest.raises(InputError, match="history migrate"):
        store.load_history(tmp_path / "h")
    assert main(["history", "migrate", "--history", str(tmp_path / "h")]) == 0
    assert "migrated 3 records" in capsys.readouterr().out
    history = store.load_history(tmp_path / "h")
    assert [r.benchmarks["bench"]["metrics"]["p50"] for r in history.records] == [
        [1.0, 0.9, 1.1, 3],
        [2.0, 0.9, 1.1, 3],
        [3.0, 0.9, 1.1, 3],
    ]
    assert history.records[0].tags == ("v1",) and history.records[2].message == "msg <b>"
    assert sorted(p.name for p in (tmp_path / "h" / "json-v1").iterdir()) == sorted([*names, "index.json"])
    assert main(["history", "migrate", "--history", str(tmp_path / "h")]) == 2
    assert "already a Parquet history" in capsys.readouterr().err


@pytest.mark.parametrize("hostile", ["../victim.txt", "ABSOLUTE", "sub/20240501T000000Z-x.json.gz"])
def test_migration_never_follows_an_index_path_outside_the_history(tmp_path, main, capsys, hostile):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    _legacy_history(tmp_path / "h")
    index = json.loads((tmp_path / "h" / "index.json").read_text())
    index["records"][1]["file"] = str(victim) if hostile == "ABSOLUTE" else hostile
    (tmp_path / "h" / "index.json").write_text(json.dumps(index))
    assert main(["history", "migrate", "--history", str(tmp_path / "h")]) == 2
    error = capsys.readouterr().err
    assert "refusing" in error and error.count("\n") == 1
    assert victim.read_text() == "precious"
    assert (tmp_path / "h" / "index.json").exists()  # the JSON history is left as it was


def test_prune_and_replace_touch_only_listed_record_files(tmp_path, main, capsys):
    """The probe of issue 11 item 8: nothing stored in the history can point a delete elsewhere."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    history = tmp_path / "h"
    _daily_history(history, days=3, per_day=1)
    # What a hostile history could hold: a symlink named like a record, and a record whose rows name other files.
    (history / "records" / "20240101T000000Z-aaaaaaaaaaaa-0123456789abcdef.parquet").symlink_to(victim)
    result_path = tmp_path / "result.json"
    save_result(_result(commit="0" * 40), result_path)
    assert main(["record", str(result_path), "--history", str(history), "--replace", "--commit", "00" + "0" * 38]) == 0
    assert main(["history", "prune", "--history", str(history), "--keep-last", "1", "--drop-tags"]) == 0
    capsys.readouterr()
    assert victim.read_text() == "precious"
    assert len(store.load_history(history).records) == 1
    with pytest.raises(InputError, match="refusing"):
        from benchwatch.history import columnar

        columnar.rewrite_without(history, victim, ["x"])


def test_missing_duckdb_gives_one_line_with_the_extra(tmp_path, main, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_duckdb(name, *args, **kwargs):
        if name == "duckdb":
            raise ImportError("No module named 'duckdb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_duckdb)
    result_path = tmp_path / "result.json"
    save_result(_result(), result_path)
    assert main(["record", str(result_path), "--history", str(tmp_path / "h")]) == 2
    error = capsys.readouterr().err
    assert error == (
        "benchwatch: error: benchwatch record/trend need the history extra: pip install 'benchwatch[history]'\n"
    )


def test_a_replaced_record_left_behind_by_a_crash_is_shadowed_by_the_newer_one(tmp_path, monkeypatch):
    from benchwatch.history import columnar

    store.append_record(tmp_path, _result(), tags=["old"])
    store.append_record(tmp_path, _result(), commit="d" * 40, date="2024-05-02T00:00:00Z")
    # A crash after the new file was written but before the old one was rewritten: both hold the commit.
    monkeypatch.setattr(columnar, "rewrite_without", lambda *args, **kwargs: None)
    store.append_record(tmp_path, _result(scale=3.0), replace=True, tags=["new"])
    assert len(list((tmp_path / "records").glob("*.parquet"))) == 3
    history = store.load_history(tmp_path)
    # The replacing record keeps the old one's tags beside its own (record --replace drops no tag).
    assert [(r.commit[0], r.tags) for r in history.records] == [("c", ("new", "old")), ("d", ())]
    newest = store.read_metric(tmp_path, "p50", [r.commit for r in history.records], ["test_a"]).values[:, 0]
    assert newest[0] == pytest.approx(3 * newest[1], rel=0.2)


def test_record_replace_keeps_the_commits_other_tags(tmp_path, main, capsys):
    result_path = tmp_path / "result.json"
    save_result(_result(), result_path)
    history = tmp_path / "history"
    commit = ["--commit", "f" * 40]
    assert main(["record", str(result_path), "--history", str(history), *commit, "--tag", "v1.4", "--tag", "lts"]) == 0
    assert main(["record", str(result_path), "--history", str(history), *commit, "--tag", "v1.4.1", "--replace"]) == 0
    assert main(["record", str(result_path), "--history", str(history), *commit, "--replace"]) == 0
    capsys.readouterr()
    (record,) = store.load_history(history).records
    assert record.tags == ("v1.4.1", "v1.4", "lts")
    assert len(list((history / "records").glob("*.parquet"))) == 1


def test_a_full_disk_while_writing_history_is_one_line_naming_the_file(tmp_path, main, capsys, monkeypatch):
    import errno

    from benchwatch.history import columnar

    result_path = tmp_path / "result.json"
    save_result(_result(), result_path)
    history = tmp_path / "history"
    assert main(["record", str(result_path), "--history", str(history), "--commit", "a" * 40]) == 0
    capsys.readouterr()

    def full(temporary, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(columnar, "publish_written", full)
    assert main(["record", str(result_path), "--history", str(history), "--commit", "b" * 40]) == 2
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1, error
    assert error.startswith(f"benchwatch: error: {history / 'records'}/") and ".parquet: " in error
    assert error.endswith(": cannot write: no space left on device\n")
    assert [row.commit for row in store.read_commits(history)] == ["a" * 40]
    assert [p.name for p in (history / "records").iterdir() if not p.name.endswith(".parquet")] == []


def test_a_record_damaged_in_the_middle_is_named_with_the_command_that_moves_it_aside(tmp_path):
    """`unreadable record file: don't know what type:` named no file, and `record` refused to add anything."""
    history = tmp_path / "h"
    store.append_record(history, _result(commit="a" * 40))
    damaged = store.append_record(history, _result(commit="b" * 40, seed=1))
    path = history / "records" / damaged.file
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 200 : middle + 200] = bytes(range(256))[:200] * 2  # the PAR1 magic at both ends stays
    path.write_bytes(bytes(data))
    for action in (lambda: store.load_history(history), lambda: store.append_record(history, _result(commit="d" * 40))):
        with pytest.raises(InputError) as caught:
            action()
        message = str(caught.value)
        assert message.startswith(f"{path}: unreadable record file: ") and "\n" not in message
        assert message.endswith(f"move it aside to go on: mv {path} {path}.unreadable")
    path.rename(f"{path}.unreadable")  # the command the message gives
    store.append_record(history, _result(commit="d" * 40, seed=2))
    assert {record.commit[0] for record in store.load_history(history).records} == {"a", "d"}
