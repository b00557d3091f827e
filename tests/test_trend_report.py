"""The HTML trend report: content, escaping, scale, and a real render in headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from benchwatch import cli
from benchwatch.errors import UsageError
from benchwatch.history import store
from benchwatch.render.html_templates import script_json
from benchwatch.report import trend

ARTIFACTS = Path(__file__).parent / "artifacts"
PRESENT_COMMANDS = tuple(name for name in cli.COMMAND_MODULES if importlib.util.find_spec(name) is not None)
NASTY = '</script><script>alert("x")</script><!-- \u2028 & "q"'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _entries(values: dict[str, float], memory: float | None = None) -> dict:
    out = {}
    for name, v in values.items():
        metrics = {
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
    for c in range(commits):
        noise = np.exp(rng.normal(0.0, 0.01, size=4))
        values = {
            "steady": 1e-3 * noise[0],
            "slower at 40": 2e-3 * noise[1] * (1.3 if c >= 40 else 1.0),
            "late jump": 5e-6 * noise[2] * (1.5 if c >= commits - 5 else 1.0),
            NASTY: 0.2 * noise[3],
        }
        tags = {20: ["v1.3"], 60: ["v1.4 <b>"]}.get(c, [])
        store.append_summaries(
            directory,
            _entries(values, memory=1e6 * (1.2 if c >= 50 else 1.0)),
            commit=f"{c:040x}",
            parent=f"{c - 1:040x}" if c else None,
            date="2024-01-01T00:00:00Z" if c == 0 else f"2024-01-{1 + c // 24:02d}T{c % 24:02d}:00:00Z",
            tags=tags,
            branch="main<i>",
            message=f"commit {c} </script><!--",
            compress=False,
        )
    return directory


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory):
    return build_history(tmp_path_factory.mktemp("trend") / "history")


@pytest.fixture(scope="module")
def report(history_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("report") / "trend.html"
    figures = trend.write_trend_report(history_dir, output, commit_url="https://github.com/o/r/commit/{commit}")
    return output, figures


def _section_data(html: str, anchor: str) -> dict:
    match = re.search(rf'<script type="application/json" id="data-{anchor}">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def _anchor(history_dir: Path, name: str) -> str:
    return f"b{store.load_history(history_dir).benchmark_names().index(name)}"


def test_report_is_self_contained_with_plotly_once(report):
    output, figures = report
    html = output.read_text("utf-8")
    assert figures.benchmarks == 4 and figures.commits == 80
    assert html.count('id="bw-plotly"') == 1
    start = html.index('<script type="text/plain" id="bw-plotly">')
    end = html.index("</script>", start)
    assert end - start > 3_000_000  # the library itself
    ours = html[:start] + html[end:]
    assert "<script src" not in ours and "cdn" not in ours and "<link" not in ours and "http://" not in ours


def test_untrusted_text_is_escaped_everywhere(report):
    html = report[0].read_text("utf-8")
    assert 'alert("x")' not in html
    assert "<script>alert" not in html
    for block in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S):
        assert "\u2028" not in block and "<!--" not in block
    assert "<b>" not in html and "<i>" not in html  # tag and branch names
    # every <script> we open is closed by our own </script>: nothing in the data ended a block early
    assert html.count("<script") == html.count("</script>")
    assert "&lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)" in html  # the name, escaped, in the tables
    # and the JSON blocks still carry the exact name
    datas = re.findall(r'<script type="application/json" id="data-b\d+">(.*?)</script>', html, re.S)
    assert NASTY in [json.loads(block)["n"] for block in datas]


def test_script_json_escapes_script_breakers():
    text = str(script_json({"a": NASTY, "b": "\u2029"}))
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == {"a": NASTY, "b": "\u2029"}


def test_change_points_tags_and_links(report, history_dir):
    output, figures = report
    html = output.read_text("utf-8")
    data = _section_data(html, _anchor(history_dir, "slower at 40"))
    (point,) = data["m"]["p50"]["cp"]
    assert abs(point[0] - 40) <= 1 and point[2] == pytest.approx(0.3, abs=0.03)
    assert data["m"]["peak_memory"]["cp"][0][0] == 50
    assert _section_data(html, _anchor(history_dir, "steady"))["m"]["p50"]["cp"] == []
    meta = json.loads(re.search(r'<script type="application/json" id="bw-meta">(.*?)</script>', html, re.S).group(1))
    assert meta["tags"] == [["v1.3", 20], ["v1.4 <b>", 60]]
    assert meta["urls"][3] == "https://github.com/o/r/commit/" + f"{3:040x}"
    assert 'href="https://github.com/o/r/commit/' in html
    assert figures.change_points >= 4


def test_tag_to_tag_table_lists_what_got_slower(report):
    html = report[0].read_text("utf-8")
    section = html[html.index('id="tags"') : html.index('id="benchmarks"')]
    assert "v1.3</strong> &rarr; <strong>v1.4 &lt;b&gt;" in section
    assert "no interval (1 run)" in section and "apart" in section
    rows = re.findall(
        r'<td class="name"><a href="#b\d+">([^<]*)</a></td>\s*<td>(\w+)</td>.*?<td class="num up">([^<]*)</td>',
        section,
        re.S,
    )
    slower = {(name, metric): change for name, metric, change in rows}
    assert slower[("slower at 40", "p50")].startswith("+3")  # ~ +30%
    assert ("peak_memory" in {metric for _, metric in slower}) and ("steady", "p50") not in slower


def test_summary_ranks_the_recent_jump_first(report):
    html = report[0].read_text("utf-8")
    summary = html[html.index('id="summary"') : html.index('id="tags"')]
    names = re.findall(r'<td class="name"><a href="#b\d+">([^<]*)</a></td>', summary)
    assert names[0] == "late jump"
    assert len(names) == 4


def test_downsampling_keeps_change_points(tmp_path):
    directory = build_history(tmp_path / "h", commits=300, seed=1)
    history = store.load_history(directory)
    html, _ = trend.build_trend_html(history, max_points=40)
    data = _section_data(html, "b1")  # "slower at 40"
    block = data["m"]["p50"]
    assert len(block["y"]) <= 40 + 5
    positions = np.cumsum(data["x"])
    assert positions[-1] == 299 and block["cp"][0][0] in set(positions.tolist())


def test_options_are_validated(history_dir, tmp_path):
    with pytest.raises(UsageError, match="commit URL"):
        trend.write_trend_report(history_dir, tmp_path / "r.html", commit_url="javascript:alert(1)//{commit}")
    with pytest.raises(UsageError, match="commit URL"):
        trend.write_trend_report(history_dir, tmp_path / "r.html", commit_url="https://example.org/")
    assert trend.commit_link("https://x.org/c/{commit}", "a/b?c") == "https://x.org/c/a%2Fb%3Fc"


def test_trend_command(history_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMAND_MODULES", PRESENT_COMMANDS)
    output = tmp_path / "out.html"
    code = cli.main(
        ["trend", "--history", str(history_dir), "-o", str(output), "--window", "30", "--max-pvalue", "0.01"]
    )
    assert code == 0 and output.stat().st_size > 1_000_000
    assert "4 benchmarks, 80 commits" in capsys.readouterr().out
    assert cli.main(["trend", "--history", str(tmp_path / "none"), "-o", str(output)]) == 2


def test_scale_smoke_200_benchmarks_by_150_commits(tmp_path):
    rng = np.random.default_rng(2)
    names = [f"bench_{i}" for i in range(200)]
    for c in range(150):
        values = {name: 1e-3 * (i + 1) * math.exp(rng.normal(0, 0.02)) for i, name in enumerate(names)}
        store.append_summaries(
            tmp_path, _entries(values), commit=f"{c:040x}", date=f"2024-02-01T00:{c // 60:02d}:{c % 60:02d}Z"
        )
    started = time.perf_counter()
    figures = trend.write_trend_report(tmp_path, tmp_path / "r.html")
    assert time.perf_counter() - started < 15
    assert figures.benchmarks == 200


# -- in a real browser ----------------------------------------------------------------


def _chromium(url: str, profile: Path, *extra: str, window: str = "1280,1400") -> subprocess.CompletedProcess:
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
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(report, history_dir, tmp_path):
    output, _ = report
    anchor = _anchor(history_dir, "slower at 40")
    url = output.as_uri() + "#" + anchor
    done = _chromium(url, tmp_path / "profile", "--dump-dom")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no errors (nor anything else) on the console
    dom = done.stdout
    assert 'data-ready="1"' in dom
    start = dom.index(f'id="{anchor}"')
    section = dom[start : dom.index("</details>", start)]
    assert 'data-drawn="1"' in section
    # latency chart: p50/p95/p99 x (band high, band low, line) + change points; memory: 3 + change points
    declared = [int(n) for n in re.findall(r'class="chart[^"]*"[^>]*data-traces="(\d+)"', section)]
    assert declared == [10, 4]
    assert section.count('class="trace scatter') == 14  # what plotly actually drew
    assert "v1.3" in section and "v1.4 &lt;b&gt;" in section  # release tags annotated, escaped

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "trend_report.png"
    shot.unlink(missing_ok=True)
    # Without the #anchor: the open top-ranked sections are on screen in a tall window and draw at load.
    _chromium(output.as_uri(), tmp_path / "profile2", f"--screenshot={shot}", window="1280,2400")
    assert shot.is_file() and shot.stat().st_size > 10_000
