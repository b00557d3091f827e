"""Changes grouped by commit in the trend report, commit links from a recorded or given repository URL."""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from benchwatch import cli
from benchwatch.errors import UsageError
from benchwatch.history import layout, store
from benchwatch.history.trend_data import load_trend_data
from benchwatch.render.trend import commits as by_commit
from benchwatch.render.trend import model as trend_model
from benchwatch.render.trend import site as trend

BROAD, NARROW, FASTER = 30, 45, 55  # commits where changes land


def _value(name: str, c: int) -> float:
    if name.startswith("broad"):
        return 1e-3 * (1.2 if c >= BROAD else 1.0)
    if name.startswith("narrow"):
        return 2e-3 * (1.5 if c >= NARROW else 1.0)
    if name == "faster":
        return 3e-3 * (0.7 if c >= FASTER else 1.0)
    if name == "sparse":
        return 4e-3 * (1.3 if c >= BROAD else 1.0)
    return 5e-3


def _history(directory: Path, *, repo_url: str | None = "https://example.org/o/r") -> Path:
    """24 'broad' series +20% at 30, 2 'narrow' +50% at 45, 'faster' -30% at 55; 'sparse' +30% at 30, odd commits."""
    rng = np.random.default_rng(3)
    names = [f"broad{k:02d}" for k in range(24)] + ["narrow0", "narrow1", "faster", "sparse", "flat"]
    batch = []
    for c in range(70):
        benchmarks = {
            name: {
                "unit": "seconds",
                "metrics": {"p50": [_value(name, c) * float(np.exp(rng.normal(0, 0.004))), None, None, 3]},
            }
            for name in names
            if name != "sparse" or c % 2 == 1
        }
        batch.append(
            store.PendingRecord(
                commit=f"{c:02d}" + "cd" * 19,
                date=f"2024-07-{1 + c // 24:02d}T{c % 24:02d}:00:00Z",
                message=f"subject {c}\nsecond line",
                author=f"Dev {c % 3}",
                repo_url=repo_url,
                tags=("v1",) if c == 10 else ("v2",) if c == 40 else ("v3",) if c == 60 else (),
                benchmarks=benchmarks,
            )
        )
    store.append_batch(directory, batch)
    return directory


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    return _history(tmp_path_factory.mktemp("commits") / "h")


@pytest.fixture(scope="module")
def model(history) -> trend_model.TrendModel:
    return trend_model.build_model(
        load_trend_data(history), max_pvalue=0.001, min_magnitude=0.02, recent=30, noisy=0.05
    )


def test_change_points_are_grouped_by_commit_and_ranked_by_moved_times_median(model):
    groups = by_commit.group_by_commit(model)
    assert [group.position for group in groups][:3] == [BROAD, NARROW, FASTER]
    broad = groups[0]
    assert broad.commit.commit.startswith("30") and broad.moved == 25 and broad.slower == 25 and broad.faster == 0
    assert broad.median == pytest.approx(0.2, abs=0.01) and broad.worst == pytest.approx(0.3, abs=0.02)  # sparse's +30%
    assert broad.score == pytest.approx(25 * math.log(1.2), rel=0.05)
    assert {change.benchmark for change in broad.changes} == {f"broad{k:02d}" for k in range(24)} | {"sparse"}
    narrow = groups[1]
    assert narrow.moved == 2 and narrow.median == pytest.approx(0.5, abs=0.02)
    faster = groups[2]
    assert (faster.slower, faster.faster, faster.worst) == (0, 1, None)
    assert faster.median == pytest.approx(-0.3, abs=0.02)


def test_a_sparse_series_joins_the_commit_before_when_that_is_where_the_others_moved(model):
    # Measured at odd commits only: the step at 30 is first seen at 31.
    (point,) = model.series["sparse"]["p50"].fit.change_points
    assert point.index == BROAD + 1
    groups = {group.position: group for group in by_commit.group_by_commit(model)}
    assert "sparse" in {change.benchmark for change in groups[BROAD].changes}
    assert BROAD + 1 not in groups
    assert groups[BROAD].moved == 25


def test_between_two_tags_only_their_commits(model):
    start, stop = by_commit.tag_positions(model, model.commits[40].commit, model.commits[60].commit)
    assert (start, stop) == (41, 61)
    between = by_commit.group_by_commit(model, start=start, stop=stop)
    assert [group.position for group in between] == [NARROW, FASTER]


def _unpack(path: Path) -> object:
    found = re.search(r'"([A-Za-z0-9+/=]+)"\);\s*$', path.read_text())
    assert found is not None, path
    packed = found.group(1)
    return json.loads(zlib.decompress(base64.b64decode(packed), wbits=-15))


def test_the_page_opens_on_changes_by_commit_with_message_author_and_link(history, tmp_path):
    report = trend.write_trend_report(load_trend_data(history), tmp_path / "site")
    html = report.path.read_text()
    assert html.index('id="commits"') < html.index('id="summary"') < html.index('id="tags"')
    section = html[html.index('id="commits"') : html.index('id="summary"')]
    blocks = section.split('<details class="commit"')[1:]
    first = blocks[0]
    assert 'href="https://example.org/o/r/commit/30' in first and "subject 30" in first and "second line" not in first
    assert "Dev 0" in first and "25 slower" in first and "0 faster" in first and "median +20" in first
    # 20 benchmarks in the page, the rest behind a button that reads the index.
    assert first.count('class="open"') == by_commit_listed() and "show all 25 series" in first
    index = _unpack(report.path.parent / "trend-data" / "index.js")
    position, rows = index["groups"][0]
    assert position == BROAD and len(rows) == 25
    assert {index["benchmarks"][row][0] for row, _, _ in rows} == {f"broad{k:02d}" for k in range(24)} | {"sparse"}
    assert index["authors"][BROAD] == "Dev 0"
    # Release to release: the commits between v2 and v3 in the same form.
    tags = html[html.index('id="tags"') :]
    latest = tags[tags.rindex('<details class="tagpair"') :]
    assert latest.count('<details class="commit"') == 2 and "subject 45" in latest and "subject 55" in latest


def by_commit_listed() -> int:
    return trend.COMMIT_BENCHMARKS


def test_commit_links_come_from_the_options_or_the_record_and_never_from_a_script_url(tmp_path):
    rows = [store.CommitRow("a" * 40, None, 0.0, (), None, None, None, None, 0, 1, "f", None, "https://x.org/r/")]
    assert trend.link_template(None, None, rows) == "https://x.org/r/commit/{commit}"
    assert trend.link_template(None, "https://y.org/q", rows) == "https://y.org/q/commit/{commit}"
    assert trend.link_template("https://z.org/{commit}", "https://y.org/q", rows) == "https://z.org/{commit}"
    hostile = [store.CommitRow("a" * 40, None, 0.0, (), None, None, None, None, 0, 1, "f", None, "javascript:alert(1)")]
    assert trend.link_template(None, None, hostile) is None
    with pytest.raises(UsageError, match="repository URL"):
        trend.link_template(None, "javascript:alert(1)", rows)
    history = _history(tmp_path / "h", repo_url="javascript:alert(1)//")
    html = trend.write_trend_report(load_trend_data(history), tmp_path / "site").path.read_text()
    assert "javascript:" not in html and "/commit/" not in html


def test_record_keeps_author_and_repo_url_and_trend_links_with_repo_url(tmp_path, capsys):
    result = Path(__file__).parent / "fixtures" / "results"
    source = result / "v1_result.json"
    code = cli.main(
        [
            "record", str(source), "--history", str(tmp_path / "h"), "--commit", "f" * 40,
            "--date", "2024-01-01T00:00:00Z", "--author", "Ann Lee", "--repo-url", "https://example.org/a/b",
        ]
    )  # fmt: skip
    assert code == 0
    (row,) = store.read_commits(tmp_path / "h")
    assert (row.author, row.repo_url) == ("Ann Lee", "https://example.org/a/b")
    capsys.readouterr()
    code = cli.main(["record", str(source), "--history", str(tmp_path / "h2"), "--commit", "e" * 40,
                     "--repo-url", "ftp://example.org/a"])  # fmt: skip
    assert code == 2 and "--repo-url" in capsys.readouterr().err


def test_record_files_written_before_author_and_repo_url_still_read(tmp_path):
    history = _history(tmp_path / "h")
    duckdb = layout.duckdb_module()
    for path in layout.record_files(history):
        old = path.with_name("old-" + path.name)
        duckdb.execute(
            f"COPY (SELECT * EXCLUDE (author, repo_url) FROM read_parquet('{path}')) TO '{old}' (FORMAT parquet)"
        )
        old.replace(path)
    rows = store.read_commits(history)
    assert len(rows) == 70 and all(row.author is None and row.repo_url is None for row in rows)
    # Old files beside a new one: the new record's fields, NULL for the old ones.
    store.append_summaries(
        history,
        {"flat": {"unit": "seconds", "metrics": {"p50": [5e-3, None, None, 1]}}},
        commit="ff" * 20,
        date="2024-08-01T00:00:00Z",
        author="New",
        repo_url="https://example.org/n",
    )
    rows = store.read_commits(history)
    assert rows[-1].author == "New" and rows[0].author is None
    assert store.load_history(history).records[-1].repo_url == "https://example.org/n"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_show_all_fills_a_commits_table_from_the_index_in_chromium(history, tmp_path):
    from chromium_pipe import Browser

    page = trend.write_trend_report(load_trend_data(history), tmp_path / "site").path
    browser = Browser(CHROMIUM, tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        browser.wait_for("document.body && document.body.getAttribute('data-ready') === '1'")
        count = "document.querySelector('details.commit').querySelectorAll('tbody tr').length"
        assert browser.evaluate(count) == trend.COMMIT_BENCHMARKS
        browser.evaluate("var d = document.querySelector('details.commit'); d.open = true;"
                         " d.querySelector('button.all-series').click(); 1")  # fmt: skip
        browser.wait_for(count + " === 25")
        names = browser.evaluate(
            "Array.prototype.map.call(document.querySelector('details.commit').querySelectorAll('a.open'),"
            " a => a.textContent)"
        )
        assert sorted(names) == sorted([f"broad{k:02d}" for k in range(24)] + ["sparse"])
        # The commits between the last two tags list no rows until asked.
        hidden = "document.querySelector('#tags details.tagpair:last-of-type details.commit table').hidden"
        assert browser.evaluate(hidden) is True
        assert browser.problems() == []
    finally:
        browser.close()
