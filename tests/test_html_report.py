"""The HTML comparison report: self-contained, bounded in size, escaped, and drawn by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.compare import compare
from benchwatch.flamegraphs import write_flamegraphs
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.render.html_report import ecdf_points, render_html_report
from benchwatch.render.html_templates import script_json
from benchwatch.resultfile import save_result

ARTIFACTS = Path(__file__).parent / "artifacts"
MALICIOUS = (
    "@octocat",
    "x|y",
    "<img src=x onerror=alert(1)>",
    "[link](http://evil)",
    "`code`",
    "</script><script>alert(2)</script>",
    "<!--",
    "a\u2028b\nc",
)
MAX_BYTES = 5 * 1024 * 1024


def make_sides(names, *, runs=5, samples=500, seed=0, memory_regressed=()):
    rng = np.random.default_rng(seed)

    def side(factor_of, peak_of):
        return tuple(
            BenchmarkResult(
                name=name,
                runs=tuple(
                    Run(
                        samples=1e-3 * factor_of(i) * np.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.05, samples),
                        memory=MemoryProfile(peak_of(name), 1000),
                    )
                    for _ in range(runs)
                ),
            )
            for i, name in enumerate(names)
        )

    base = ResultSet(
        benchmarks=side(lambda i: 1.0, lambda n: 2**20),
        environment=Environment(cpu_count=4, python_version="3.11.9", hostname="<b>ci</b>"),
    )
    head = ResultSet(
        benchmarks=side(
            lambda i: 1.3 if i % 10 == 0 else 0.7 if i % 10 == 1 else 1.0,
            lambda n: 4 * 2**20 if n in memory_regressed else 2**20,
        ),
        environment=Environment(cpu_count=4, python_version="3.11.10"),
    )
    return base, head


@pytest.fixture(scope="module")
def hundred():
    names = [f"benchmarks/test_module.py::test_case_{i:03d}" for i in range(100)]
    base, head = make_sides(names)
    started = time.perf_counter()
    comparison = compare(base, head)
    html = render_html_report(comparison, base, head, generated_at="2024-01-01 00:00 UTC")
    return comparison, html, time.perf_counter() - started


def test_size_of_100_benchmarks(hundred):
    comparison, html, seconds = hundred
    size = len(html.encode("utf-8"))
    print(
        f"HTML report: 100 benchmarks x 5 runs x 500 samples: {size:,} bytes ({size / 2**20:.2f} MiB), {seconds:.2f} s"
    )
    assert size <= MAX_BYTES
    assert comparison.verdict == "regression"


def test_self_contained(hundred):
    _, html, _ = hundred
    for match in re.finditer(r"""<(script|link|img|iframe|object|embed|source)\b[^>]*>""", html, re.I):
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", match.group(0), re.I), match.group(0)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html


def test_one_chart_per_benchmark_and_side(hundred):
    comparison, html, _ = hundred
    assert html.count('<figure class="dist-chart"') == 2 * len(comparison.benchmarks)
    assert html.count('<svg class="dist base"') == html.count('<svg class="dist head"') == 100
    assert html.count('<svg class="ci-chart"') == 100


def test_ecdf_downsampling_keeps_extremes():
    samples = np.random.default_rng(1).lognormal(0, 1, 10_000)
    x, p = ecdf_points(samples, 200)
    assert len(x) == 200 and x[0] == samples.min() and x[-1] == samples.max() and p[-1] == 1.0
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(p) >= 0)
    x, p = ecdf_points(samples[:50], 200)
    assert len(x) == 50


def test_escaping_of_hostile_names():
    base, head = make_sides(MALICIOUS, runs=3, samples=50)
    html = render_html_report(compare(base, head), base, head)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("</script>") == 2  # only our own JSON and script blocks end
    assert "<script>alert(2)" not in html and "<!--" not in html
    assert "<b>ci</b>" not in html and "&lt;b&gt;ci&lt;/b&gt;" in html
    data = html[html.index('id="benchwatch-data">') :]
    data = data[: data.index("</script>")]
    assert "\u2028" not in data and "\\u003c/script\\u003e" in data


def test_script_json_escapes():
    text = str(script_json({"a": "</script><!--\u2028\u2029&"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text and "\u2029" not in text


def test_cli_html_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base, head = make_sides(["a", "b"], runs=3, samples=100)
    save_result(base, tmp_path / "base.json")
    save_result(head, tmp_path / "head.json")
    assert main(["compare", "base.json", "head.json", "--format", "html", "--output", "report.html"]) == 1
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count('<figure class="dist-chart"') == 4


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="memray captures on Linux")
def test_memory_regression_links_flamegraphs(tmp_path):
    pytest.importorskip("memray")
    captures = {}
    for side, size in (("base", 1000), ("head", 8000)):
        script = tmp_path / f"{side}.py"
        script.write_text(f"x = [bytearray({size}) for _ in range(500)]\n")
        captures[side] = tmp_path / f"{side}.bin"
        subprocess.run(
            [sys.executable, "-m", "memray", "run", "-q", "-o", str(captures[side]), str(script)],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def side(peak, capture):
        runs = tuple(
            Run(samples=np.full(20, 1e-3) * (1 + 0.01 * i), memory=MemoryProfile(peak, 10, str(capture)))
            for i in range(4)  # a memory change needs 4 runs per side to reach alpha (rules version 5)
        )
        return ResultSet(benchmarks=(BenchmarkResult("mem <hog>", runs),))

    base, head = side(2**20, captures["base"]), side(8 * 2**20, captures["head"])
    comparison = compare(base, head)
    assert any(m.metric == "peak_memory" and m.verdict == "regression" for m in comparison.metric_comparisons())
    links = write_flamegraphs(
        comparison, base, head, tmp_path / "report-flamegraphs", href_prefix="report-flamegraphs/"
    )
    assert set(links["mem <hog>"]) == {"base", "head"}
    for href in links["mem <hog>"].values():
        assert (tmp_path / href).is_file()
    html = render_html_report(comparison, base, head, flamegraphs=links)
    assert 'href="report-flamegraphs/' in html and "needs network access" in html
    # without generated flamegraphs the report names the capture files instead
    assert "memray flamegraph" in render_html_report(comparison, base, head)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_headless_chromium_draws_every_chart(hundred, tmp_path):
    comparison, html, _ = hundred
    page = tmp_path / "comparison.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--user-data-dir=" + str(tmp_path / "profile"),
        "--window-size=1280,2000",
        "--enable-logging=stderr",
        "--v=0",
    ]
    shot = subprocess.run(
        [*common, f"--screenshot={ARTIFACTS / 'comparison.png'}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )
    assert (ARTIFACTS / "comparison.png").is_file(), shot.stderr[-2000:]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=40, check=False
    )
    assert 'data-ready="1"' in dom.stdout, dom.stderr[-2000:]
    assert 'data-benchmarks="100"' in dom.stdout
    assert dom.stdout.count('data-drawn="1"') == 2 * len(comparison.benchmarks)
    assert re.search(r'<div id="js-errors" hidden=""></div>', dom.stdout)
    assert "Uncaught" not in dom.stderr and "Uncaught" not in shot.stderr


# -- the finding first, and every section reachable by its anchor (issue 26) ----------------------------------


def _index_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(name, verdict, change, interval) of each index row, in page order."""
    body = html[html.index('<table class="index">') :]
    body = body[: body.index("</table>")]
    pattern = (
        r'<tr data-verdict="[^"]*"><td>\d+</td><td><a href="#b\d+">([^<]*)</a></td>\s*'
        r'<td class="[^"]*">([^<]*)</td><td class="change">([^<]*)</td><td class="interval">([^<]*)</td></tr>'
    )
    return re.findall(pattern, body)


def test_decided_changes_come_first_with_their_change_and_interval(hundred):
    comparison, html, _ = hundred
    rows = _index_rows(html)
    assert len(rows) == len(comparison.benchmarks)
    verdicts = [verdict for _, verdict, _, _ in rows]
    decided = verdicts.count("regression") + verdicts.count("improvement")
    assert decided >= 20  # every tenth 30% slower, every tenth 30% faster
    assert set(verdicts[:decided]) == {"regression", "improvement"}
    assert verdicts[: verdicts.count("regression")] == ["regression"] * verdicts.count("regression")
    for _, verdict, change, interval in rows:
        assert change and "…" in interval, (verdict, change, interval)  # no empty change column
    faster = [row for row in rows if row[1] == "improvement"]
    assert all(re.search(r"\bp(50|95) -[23]\d\.\d%", row[2]) for row in faster), [r for r in faster if "-3" not in r[2]]


def test_an_improvement_with_an_open_tail_is_listed_as_an_improvement():
    """The issue's case: the p50 improvement was found, a tail metric was not decided; list it as found."""
    from benchwatch.compare import BenchmarkComparison, CompareSettings, Comparison, MetricComparison
    from benchwatch.compare.verdict import Verdict
    from benchwatch.render.html_report import _benchmark_verdict, _index_change

    def metric(name: str, verdict: str, ratio: float, low: float, high: float) -> MetricComparison:
        return MetricComparison(
            benchmark="b", metric=name, verdict=Verdict(verdict), ratio=ratio, ci_low=low, ci_high=high, p_value=0.01,
            q_value=0.01, threshold=0.1, gated=True, reason="", base_value=1.0, head_value=ratio,
            n_runs_base=5, n_runs_head=5,
        )  # fmt: skip

    found = BenchmarkComparison(
        name="b",
        metrics=(metric("p50", "improvement", 0.51, 0.48, 0.54), metric("p95", "inconclusive", 0.8, 0.5, 1.3)),
        status="compared",
    )
    assert _benchmark_verdict(found) == "improvement"
    assert _index_change(found) == ("p50 -49.0%", "-52.0% … -46.0%")
    del Comparison, CompareSettings


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--user-data-dir=" + str(profile),
        "--window-size=1280,900",
    ]
    return subprocess.run([*common, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_every_anchor_shows_its_section_in_headless_chromium(tmp_path):
    """``report.html#b14`` rendered a blank page: a deep section must be laid out in the window."""
    names = [f"benchmarks/test_module.py::test_case_{i:03d}" for i in range(20)]
    base, head = make_sides(names)
    html = render_html_report(compare(base, head), base, head, generated_at="2024-01-01 00:00 UTC")
    page = tmp_path / "comparison.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    for index in (0, 14, 19):
        url = f"{page.as_uri()}#b{index}"
        dom = _chromium("--dump-dom", url, profile=tmp_path / "profile")
        assert f'data-target-visible="b{index}"' in dom.stdout, dom.stderr[-2000:]
        shot = ARTIFACTS / f"comparison-b{index}.png"
        _chromium(f"--screenshot={shot}", url, profile=tmp_path / "profile")
        # A blank 1280x900 PNG is ~5 KB; a drawn section (table, charts) is many times that.
        assert shot.stat().st_size > 30_000, shot.stat().st_size
    blank_anchor = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert re.search(r"<body[^>]*>", blank_anchor.stdout) and "data-target-visible" not in re.search(
        r"<body[^>]*>", blank_anchor.stdout
    ).group(0)
