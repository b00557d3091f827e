"""Names with U+202E (right-to-left override) and U+200B (zero width space) in the trend page, clicked in Chromium.

The page shows them escaped (``‹U+202E›``) everywhere: the summary, the commit view, search results, the
chart title, the hover legend.  Links carry the benchmark's row, not the displayed text, so a click opens
the benchmark's own chart, never another's or none.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pytest
from chromium_pipe import Browser

from benchwatch.history import store
from benchwatch.history.trend_data import load_trend_data
from benchwatch.render.trend import site as trend

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
HOSTILE = "tslibs.\u202eoffsets\u200b.Hour"
LOOKALIKE = "tslibs.offsets.Hour"  # what HOSTILE looks like with its invisible characters dropped
SHOWN = "tslibs.‹U+202E›offsets‹U+200B›.Hour"
MESSAGE = "fix \u202edaolnwod\u200b parser"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


def _history(directory: Path) -> Path:
    rng = np.random.default_rng(11)
    batch = []
    for c in range(60):
        values = {HOSTILE: 2e-3 * (1.4 if c >= 40 else 1.0), LOOKALIKE: 1e-3 * (1.2 if c >= 40 else 1.0), "other": 5e-3}
        batch.append(
            store.PendingRecord(
                commit=f"{c:040x}",
                date=f"2024-06-01T{c // 60:02d}:{c % 60:02d}:00Z",
                message=MESSAGE if c == 40 else f"commit {c}",
                author="A\u202eB",
                tags=("v1\u200b",) if c == 10 else ("v2",) if c == 50 else (),
                benchmarks={
                    name: {
                        "unit": "seconds",
                        "metrics": {"p50": [v * float(np.exp(rng.normal(0, 0.005))), None, None, 3]},
                    }
                    for name, v in values.items()
                },
            )
        )
    store.append_batch(directory, batch)
    return directory


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    report = trend.write_trend_report(load_trend_data(_history(base / "h")), base / "site")
    return report.path


@pytest.fixture()
def browser(page, tmp_path):
    opened = Browser(CHROMIUM, tmp_path / "profile")
    try:
        opened.open(page.as_uri())
        opened.wait_for("document.body && document.body.getAttribute('data-ready') === '1'")
        yield opened
    finally:
        opened.close()


def _click_link(browser: Browser, selector: str, text: str) -> None:
    """Click, with the mouse, the link under ``selector`` that shows ``text``."""
    box = browser.wait_for(
        "(function () { var links = Array.prototype.slice.call(document.querySelectorAll("
        + json.dumps(selector)
        + "));"
        " var a = links.filter(function (l) { return l.textContent === " + json.dumps(text) + "; })[0];"
        " if (!a) { return null; } a.scrollIntoView({block: 'center'});"
        " var r = a.getBoundingClientRect(); return [r.left + 4, r.top + r.height / 2]; })()"
    )
    browser.click(box[0], box[1])


def _drawn(browser: Browser, name: str) -> None:
    expression = "document.getElementById('chart-panel').getAttribute('data-drawn') === " + json.dumps(name)
    browser.wait_for(expression + " && document.querySelectorAll('#charts canvas').length > 0")


def test_clicking_a_hostile_name_opens_its_own_chart(browser):
    # The look-alike first: its chart is up when the hostile name is clicked, and must be replaced.
    _click_link(browser, "#ranking a.open", LOOKALIKE)
    _drawn(browser, LOOKALIKE)
    _click_link(browser, "#ranking a.open", SHOWN)
    _drawn(browser, HOSTILE)
    assert browser.evaluate("document.getElementById('chart-title').textContent") == SHOWN
    assert unquote(browser.evaluate("location.hash")) == "#b=" + HOSTILE
    assert browser.problems() == []


def test_the_commit_view_search_and_legend_show_escaped_text(browser):
    # Changes by commit: the commit of the step lists both series; its message and author are escaped.
    summary = browser.evaluate(
        "(function () { var d = document.querySelector('details.commit'); d.open = true;"
        " return d.querySelector('summary').textContent; })()"
    )
    assert "fix ‹U+202E›daolnwod‹U+200B› parser" in summary and "A‹U+202E›B" in summary
    _click_link(browser, "details.commit a.open", SHOWN)
    _drawn(browser, HOSTILE)

    browser.evaluate(
        "document.getElementById('bw-query').value = 'offsets'; document.getElementById('bw-query')"
        ".dispatchEvent(new Event('input')); 1"
    )
    browser.wait_for("document.getElementById('search').getAttribute('data-results') === '2'")
    shown = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('#bw-results a'), a => a.textContent)")
    assert sorted(shown) == sorted([SHOWN, LOOKALIKE])
    _click_link(browser, "#bw-results a.open", LOOKALIKE)
    _drawn(browser, LOOKALIKE)
    _click_link(browser, "#bw-results a.open", SHOWN)
    _drawn(browser, HOSTILE)

    # Hover the step's commit: the legend shows the commit message escaped.
    box = browser.evaluate(
        "(function () { var o = document.querySelector('#charts .u-over'); o.scrollIntoView({block: 'center'});"
        " var r = o.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()"
    )
    for k in range(60):  # sweep until the cursor sits on record 40
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=box[0] + box[2] * k / 60, y=box[1] + box[3] / 2)
        legend = browser.evaluate("document.querySelector('#charts .u-legend').textContent")
        if "daolnwod" in legend:
            break
    assert "fix ‹U+202E›daolnwod‹U+200B› parser" in legend and "A‹U+202E›B" in legend
    assert "\u202e" not in legend and "\u200b" not in legend
    assert browser.problems() == []


def test_an_address_with_the_raw_name_opens_the_chart(page, tmp_path):
    opened = Browser(CHROMIUM, tmp_path / "profile")
    try:
        opened.open(page.as_uri() + "#b=" + quote(HOSTILE))
        _drawn(opened, HOSTILE)
        assert opened.evaluate("document.getElementById('chart-title').textContent") == SHOWN
        assert opened.problems() == []
    finally:
        opened.close()
