"""The trend report folder: content, ranking, escaping, options, and behaviour in headless Chromium."""

from __future__ import annotations

import base64
import importlib.util
import json
import math
import re
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from benchwatch import cli
from benchwatch.errors import UsageError
from benchwatch.history import store
from benchwatch.history.trend_data import load_trend_data
from benchwatch.render.html_templates import script_json
from benchwatch.render.trend import site as trend

ARTIFACTS = Path(__file__).parent / "artifacts"
PRESENT_COMMANDS = tuple(name for name in cli.COMMAND_MODULES if importlib.util.find_spec(name) is not None)
NASTY = '</script><script>alert("x")</script><!-- \u2028 & "q"'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _entries(values: dict[str, float], memory: float | None = None) -> dict:
    out = {}
    for name, v in values.items():
        metrics: dict[str, list[float | None]] = {
            "p50": [v, v * 0.98, v * 1.02, 5],
            "p95": [v * 1.3, v * 1.3 * 0.97, v * 1.3 * 1.03, 5],
            "p99": [v * 1.8, v * 1.8 * 0.95, v * 1.8 * 1.05, 5],
            "mean": [v * 1.05, v * 1.03, v * 1.07, 5],
        }
        if memory is not None:
            metrics["peak_memory"] = [memory, None, None, 1]
        out[name] = {"unit": "seconds", "metrics": metrics}
    return out


def build_history(directory: Path, commits: int = 80, seed: int = 0) -> Path:
    """Four benchmarks: 'steady', 'slower at 40' (+30%), 'late jump' (+50% at commits-5), and a nasty name."""
    rng = np.random.default_rng(seed)
    batch = []
    for c in range(commits):
        noise = np.exp(rng.normal(0.0, 0.01, size=4))
        values = {
            "steady": 1e-3 * noise[0],
            "slower at 40": 2e-3 * noise[1] * (1.3 if c >= 40 else 1.0),
            "late jump": 5e-6 * noise[2] * (1.5 if c >= commits - 5 else 1.0),
            NASTY: 0.2 * noise[3],
        }
        batch.append(
            store.PendingRecord(
                benchmarks=_entries(values, memory=1e6 * (1.2 if c >= 50 else 1.0)),
                commit=f"{c:040x}",
                parent=f"{c - 1:040x}" if c else None,
                date="2024-01-01T00:00:00Z" if c == 0 else f"2024-01-{1 + c // 24:02d}T{c % 24:02d}:00:00Z",
                tags=tuple({20: ["v1.3"], 60: ["v1.4 <b>"]}.get(c, [])),
                branch="main<i>",
                message=f"commit {c} </script><!--",
            )
        )
    store.append_batch(directory, batch)
    return directory


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory):
    return build_history(tmp_path_factory.mktemp("trend") / "history")


@pytest.fixture(scope="module")
def report(history_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("report") / "site"
    figures = trend.write_trend_report(
        load_trend_data(history_dir), output, commit_url="https://github.com/o/r/commit/{commit}"
    )
    return output, figures


def _unpack(path: Path) -> Any:
    """Decode a data file the way the page does: BW.x(..., "<base64 raw deflate>")."""
    text = path.read_text()
    found = re.search(r'"([A-Za-z0-9+/=]+)"\);\s*$', text)
    assert found is not None, path
    packed = found.group(1)
    return json.loads(zlib.decompress(base64.b64decode(packed), wbits=-15))


def _chunks(site: Path) -> dict:
    found = {}
    for path in sorted((site / "trend-data").glob("c*.js")):
        found.update(dict(_unpack(path)))
    return found


def test_report_is_a_small_page_plus_lazy_data_and_no_plotly(report):
    site, figures = report
    html = (site / "index.html").read_text()
    assert figures.page_bytes == len(html.encode()) < 60_000
    names = sorted(p.name for p in (site / "trend-data").iterdir())
    assert {"uplot.iife.min.js", "uplot.min.css", "uplot.LICENSE", "trend.js", "trend.css", "index.js"} <= set(names)
    assert "MIT License" in (site / "trend-data" / "uplot.LICENSE").read_text()
    assert "plotly" not in html.lower()
    # Offline: every script and stylesheet is a relative file of the folder.
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(not source.startswith(("http:", "https:", "//")) for source in sources)
    assert all((site / source).is_file() for source in sources)
    assert figures.total_bytes == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


def test_untrusted_text_is_escaped_in_the_page_and_exact_in_the_data(report):
    site, _ = report
    html = (site / "index.html").read_text()
    assert "<script>alert" not in html and "</script><!--" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(" in html
    assert "v1.4 &lt;b&gt;" in html  # tags in the release table
    index = _unpack(site / "trend-data" / "index.js")
    assert NASTY in [row[0] for row in index["benchmarks"]]
    assert index["messages"][3] == "commit 3 </script><!--"  # data, never markup: the script uses textContent
    assert NASTY in _chunks(site)


def test_each_metric_has_its_own_unit_and_only_measured_metrics_are_charted(report):
    site, _ = report
    blocks = _chunks(site)["late jump"]
    assert sorted(blocks) == ["p50", "p95", "p99", "peak_memory"]
    assert blocks["p50"]["u"] == "µs" and blocks["peak_memory"]["u"] in ("KiB", "MiB")
    p50 = [v * 10.0 ** blocks["p50"]["e"] for v in blocks["p50"]["y"]]
    assert 4.5 < p50[0] < 5.5 and 7 < p50[-1] < 8  # 5 µs, then +50% at the end
    assert [point[0] for point in blocks["p50"]["c"]] == [75]
    assert "x" not in blocks["p50"]  # measured at every commit: positions are implicit


def test_script_json_escapes_script_breakers():
    text = str(script_json({"a": "</script><!-- \u2028 &"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- \u2028 &"}


def test_change_points_tags_and_links(report):
    site, _ = report
    html = (site / "index.html").read_text()
    index = _unpack(site / "trend-data" / "index.js")
    assert index["tags"] == [["v1.3", 20], ["v1.4 <b>", 60]]
    assert index["dates"][0] == "2024-01-01" and len(index["commits"]) == 80
    slower = _chunks(site)["slower at 40"]["p50"]
    assert [point[0] for point in slower["c"]] == [40]
    assert abs(slower["c"][0][1] - 0.3) < 0.03
    assert 'href="https://github.com/o/r/commit/' in html


def test_tag_to_tag_table_lists_what_got_slower(report):
    site, _ = report
    html = (site / "index.html").read_text()
    section = html[html.index('id="tags"') :]
    assert "v1.3</strong> &rarr; <strong>v1.4 &lt;b&gt;</strong>" in section
    assert "slower at 40" in section and "peak_memory" in section


def _ranking_history(directory: Path, commits: int = 120) -> Path:
    """A release manager's mix: a recent regression, a recent improvement, a bimodal noise series, a trend."""
    rng = np.random.default_rng(7)
    batch = []
    for c in range(commits):
        noise = np.exp(rng.normal(0.0, 0.01, size=5))
        values = {
            "regressed": 1e-3 * noise[0] * (1.25 if c >= commits - 10 else 1.0),
            "improved": 2e-3 * noise[1] * (0.7 if c >= commits - 12 else 1.0),
            "bimodal": (100e-3 if rng.random() < 0.3 else 29e-6) * noise[2],
            "drifting": 1e-3 * noise[3] * math.exp(0.003 * c),
            "steady": 5e-3 * noise[4],
        }
        entries = {name: {"unit": "seconds", "metrics": {"p50": [v, None, None, 5]}} for name, v in values.items()}
        batch.append(
            store.PendingRecord(
                commit=f"{c:040x}", date=f"2024-03-01T00:{c // 60:02d}:{c % 60:02d}Z", benchmarks=entries
            )
        )
    store.append_batch(directory, batch)
    return directory


def test_ranking_regressions_then_improvements_then_noisy_never_a_bimodal_ratio(tmp_path):
    history = _ranking_history(tmp_path / "h")
    figures = trend.write_trend_report(load_trend_data(history), tmp_path / "site", recent=30)
    index = _unpack(tmp_path / "site" / "trend-data" / "index.js")
    statuses = {row[0]: row[2] for row in index["benchmarks"]}
    assert [row[0] for row in index["benchmarks"]][:2] == ["regressed", "improved"]
    assert statuses == {
        "regressed": "regression",
        "improved": "improvement",
        "bimodal": "noisy",
        "drifting": "stable",  # a steady trend is one sloped segment, not a staircase of change points
        "steady": "stable",
    }
    noise = {row[0]: row[5] for row in index["benchmarks"]}
    assert noise["bimodal"] > 1.0
    assert noise["steady"] < 0.02
    html = (tmp_path / "site" / "index.html").read_text()
    summary = html[html.index('<section id="summary">') :]
    listed = [index["benchmarks"][int(k)][0] for k in re.findall(r'<tr data-id="(\d+)"', summary)]
    assert listed == ["regressed", "improved", "bimodal"]
    assert figures.benchmarks == 5


def test_rebuild_removes_stale_chunks_and_page_name_can_be_chosen(tmp_path):
    history = _ranking_history(tmp_path / "h")
    site = tmp_path / "site"
    (site / "trend-data").mkdir(parents=True)
    (site / "trend-data" / "c0099.js").write_text("old")
    (site / "trend-data" / "mine.txt").write_text("keep")
    report = trend.write_trend_report(load_trend_data(history), site / "perf.html")
    assert report.path == site / "perf.html" and report.path.is_file()
    assert not (site / "trend-data" / "c0099.js").exists() and (site / "trend-data" / "mine.txt").exists()
    assert not [p for p in site.rglob("*") if p.name.endswith(".tmp")]


def test_options_are_validated(history_dir, tmp_path):
    data = load_trend_data(history_dir)
    with pytest.raises(UsageError, match="commit URL"):
        trend.write_trend_report(
            load_trend_data(history_dir), tmp_path / "r", commit_url="javascript:alert(1)//{commit}"
        )
    with pytest.raises(UsageError, match="commit URL"):
        trend.write_trend_report(data, tmp_path / "r", commit_url="https://example.org/")
    with pytest.raises(UsageError, match="--recent"):
        trend.write_trend_report(data, tmp_path / "r", recent=0)
    assert trend.commit_link("https://x.org/c/{commit}", "a/b?c") == "https://x.org/c/a%2Fb%3Fc"
    assert not (tmp_path / "r").exists()


def test_trend_command(history_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMAND_MODULES", PRESENT_COMMANDS)
    output = tmp_path / "out"
    code = cli.main(["trend", "--history", str(history_dir), "--output-dir", str(output), "--max-pvalue", "0.01"])
    assert code == 0 and (output / "index.html").is_file()
    assert "4 benchmarks, 80 commits" in capsys.readouterr().out
    assert cli.main(["trend", "--history", str(tmp_path / "none"), "--output-dir", str(output)]) == 2
    # -o is a file in every command: the page (its data beside it); a folder after -o is a usage error.
    page = tmp_path / "site" / "trend.html"
    assert cli.main(["trend", "--history", str(history_dir), "-o", str(page)]) == 0 and page.is_file()
    capsys.readouterr()
    assert cli.main(["trend", "--history", str(history_dir), "-o", str(tmp_path / "folder")]) == 2
    assert "for a folder use --output-dir" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--window", "0", "--window must be at least 4"),
        ("--max-pvalue", "2", "--max-pvalue must be between 0 and 1"),
        ("--max-pvalue", "nan", "--max-pvalue must be between 0 and 1"),
        ("--min-change", "-1", "--min-change must be a relative change >= 0"),
    ],
)
def test_invalid_change_point_options_are_one_line_usage_errors(
    history_dir, tmp_path, monkeypatch, capsys, option, value, message
):
    """Issue 11 item 9: these used to exit 0 with "0 change points"."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", PRESENT_COMMANDS)
    output = tmp_path / "out"
    assert cli.main(["trend", "--history", str(history_dir), "--output-dir", str(output), option, value]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("benchwatch: error: " + message) and captured.err.count("\n") == 1
    assert not output.exists()


def test_the_report_is_rendered_from_loaded_data_alone(history_dir, report, tmp_path):
    """The renderer never reads the store: the history may be gone once its data is loaded."""
    copy = shutil.copytree(history_dir, tmp_path / "h")
    data = load_trend_data(copy)
    shutil.rmtree(copy)
    figures = trend.write_trend_report(data, tmp_path / "site", commit_url="https://github.com/o/r/commit/{commit}")
    assert figures.benchmarks == report[1].benchmarks and figures.change_points == report[1].change_points
    assert _chunks(tmp_path / "site") == _chunks(report[0])


def test_asv_shaped_history_charts_only_p50(tmp_path):
    batch = [
        store.PendingRecord(
            commit=f"{c:040x}",
            date=f"2024-02-01T00:{c // 60:02d}:{c % 60:02d}Z",
            benchmarks={
                f"b{i}": {"unit": "seconds", "metrics": {"p50": [1e-3 * (i + 1), None, None, 1]}} for i in range(3)
            },
        )
        for c in range(40)
    ]
    store.append_batch(tmp_path / "h", batch)
    trend.write_trend_report(load_trend_data(tmp_path / "h"), tmp_path / "site")
    assert all(sorted(blocks) == ["p50"] for blocks in _chunks(tmp_path / "site").values())


def test_instruction_counts_are_charted_in_their_own_unit_with_change_points(tmp_path):
    rng = np.random.default_rng(5)
    batch = []
    for c in range(60):
        latency = 2e-3 * float(np.exp(rng.normal(0.0, 0.02)))
        # Counts repeat to ~0.01%; +4% at commit 45, a step latency noise of 2% could not show at once.
        counts = 2.5e7 * (1.04 if c >= 45 else 1.0) * float(np.exp(rng.normal(0.0, 1e-4)))
        metrics = {"p50": [latency, latency * 0.98, latency * 1.02, 5], "instructions": [counts, counts, counts, 2]}
        batch.append(
            store.PendingRecord(
                commit=f"{c:040x}",
                date=f"2024-03-01T00:{c // 60:02d}:{c % 60:02d}Z",
                tags=("v2.0",) if c == 50 else ("v1.9",) if c == 10 else (),
                benchmarks={"counted": {"unit": "seconds", "metrics": metrics}},
            )
        )
    store.append_batch(tmp_path / "h", batch)
    trend.write_trend_report(load_trend_data(tmp_path / "h"), tmp_path / "site")
    blocks = _chunks(tmp_path / "site")["counted"]
    assert sorted(blocks) == ["instructions", "p50"]
    assert blocks["instructions"]["u"] == "M instructions" and blocks["p50"]["u"] == "ms"
    counts = [v * 10.0 ** blocks["instructions"]["e"] for v in blocks["instructions"]["y"]]
    assert 24.9 < counts[0] < 25.1 and 25.9 < counts[-1] < 26.1  # in millions of instructions
    assert [point[0] for point in blocks["instructions"]["c"]] == [45]
    assert blocks["instructions"]["c"][0][1] == pytest.approx(0.04, abs=0.005)
    html = (tmp_path / "site" / "index.html").read_text()
    # The ranking and the release table read the counts in their own unit.
    assert re.search(r"<td>instructions</td>", html)
    assert re.search(r"2[45],\d{3},\d{3} instructions", html)
    assert '"instructions"' in (tmp_path / "site" / "trend-data" / "trend.js").read_text()


# -- in a real browser ----------------------------------------------------------------


def _chromium(url: str, profile: Path, *extra: str, window: str = "1280,1400") -> subprocess.CompletedProcess:
    assert CHROMIUM is not None  # its tests are skipped without it
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={window}",
            "--virtual-time-budget=8000",
            *extra,
            url,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_charts_draw_and_search_filters_in_headless_chromium(report, tmp_path):
    site, _ = report
    page = (site / "index.html").as_uri()
    done = _chromium(page + "#b=" + quote("slower at 40"), tmp_path / "profile", "--dump-dom")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no errors (nor anything else) on the console
    dom = done.stdout
    assert 'data-ready="1"' in dom
    panel = dom[dom.index('id="chart-panel"') :]
    assert 'data-drawn="slower at 40"' in panel and 'data-charts="4"' in panel
    assert panel.count("<canvas") == 4  # uPlot drew one canvas per metric
    assert "p50 (ms)" in panel and "peak memory (" in panel

    searched = _chromium(page + "#q=" + quote("at 4"), tmp_path / "profile2", "--dump-dom").stdout
    results = searched[searched.index('id="bw-results"') :]
    results = results[: results.index("</tbody>")]
    assert 'data-results="1"' in searched and "slower at 40" in results and "steady" not in results

    hostile = _chromium(page + "#b=" + quote(NASTY), tmp_path / "profile3", "--dump-dom").stdout
    assert 'data-charts="4"' in hostile and "<script>alert" not in hostile

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "trend_report.png"
    shot.unlink(missing_ok=True)
    _chromium(page + "#b=" + quote("late jump"), tmp_path / "profile4", f"--screenshot={shot}", window="1280,2400")
    assert shot.is_file() and shot.stat().st_size > 10_000
