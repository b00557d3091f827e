"""Time a trend report in headless Chromium over the DevTools protocol: summary usable, chart after a click.

    .venv/bin/python benchmarks/trend_browser_timing.py SITE/index.html [--clicks 5] [--loads 7]

Figures (milliseconds, from the page's own ``performance.now()``):

* ``summary usable`` -- the report script has run (``data-ready-ms``): the
  ranking table is parsed and a click on a name is handled;
* ``commit view: open`` -- a click on the first commit of "Changes by commit"
  to its benchmarks laid out; ``commit view: chart`` -- a click on its first
  benchmark to its charts painted;
* ``chart N`` -- a real mouse click (``Input.dispatchMouseEvent``) on the
  N-th name of the ranking, to the last chart painted for it
  (``data-drawn-ms`` on the panel), cold: its data chunk is loaded and
  inflated on that click.  The first click also loads the search index.

Chromium runs as in the tests (tests/chromium_pipe.py: the DevTools protocol on a pipe, a fresh
profile).  Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from chromium_pipe import Browser


def _chromium() -> str:
    import shutil

    found = next(
        (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
    )
    if found is None:
        raise SystemExit("chromium is not installed")
    return found


def measure(page_path: Path, clicks: int) -> dict[str, float]:
    # Chromium may still write to its profile for a moment after it closes.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        page = Browser(_chromium(), Path(profile))
        try:
            page.open(page_path.resolve().as_uri())
            ready = float(page.wait_for("document.body && document.body.getAttribute('data-ready-ms')"))
            figures = {"summary usable": ready}
            page.evaluate(
                "document.addEventListener('click', function () { window.__clickAt = performance.now(); }, true); 1"
            )
            figures["commit view: open"] = _open_commit(page)
            if page.evaluate("document.querySelectorAll('details.commit[open] a.open').length"):
                figures["commit view: chart"] = _click(page, "details.commit[open] a.open", 0)
            rows = int(page.evaluate("document.querySelectorAll('#ranking a.open').length") or 0)
            for k in range(min(clicks, rows)):
                figures[f"chart {k + 1}"] = _click(page, "#ranking a.open", k)
            return figures
        finally:
            page.close()


def _point(page: Browser, selector: str, k: int) -> dict[str, Any]:
    box: dict[str, Any] = page.evaluate(
        f"(function () {{ var a = document.querySelectorAll({json.dumps(selector)})[{k}];"
        " a.scrollIntoView({block: 'center'});"
        " var r = a.getClientRects()[0];"
        " return {x: r.left + 3, y: r.top + r.height / 2, id: a.getAttribute('data-id')}; })()"
    )
    return box


def _open_commit(page: Browser) -> float:
    """A click on the first commit of "Changes by commit" to its benchmarks laid out."""
    if not page.evaluate("document.querySelectorAll('details.commit > summary').length"):
        return float("nan")
    box = _point(page, "details.commit > summary", 0)
    # The next frame after the toggle: the benchmarks' rows are laid out and painted by then.
    page.evaluate(
        "document.querySelector('details.commit').addEventListener('toggle', function () {"
        " requestAnimationFrame(function () { window.__openedAt = performance.now(); }); }); 1"
    )
    page.click(box["x"], box["y"])
    opened = float(page.wait_for("window.__openedAt"))
    return opened - float(page.evaluate("window.__clickAt"))


def _click(page: Browser, selector: str, k: int) -> float:
    box = _point(page, selector, k)
    page.click(box["x"], box["y"])
    name = f"BW.name({box['id']})"
    page.wait_for(f"document.getElementById('chart-panel').getAttribute('data-drawn') === {name}")
    panel = "Number(document.getElementById('chart-panel').getAttribute('data-drawn-ms'))"
    page.wait_for(f"{panel} > window.__clickAt")
    time.sleep(0.05)  # let every chart of the panel paint before reading the last paint time
    drawn = float(page.evaluate("document.getElementById('chart-panel').getAttribute('data-drawn-ms')"))
    return drawn - float(page.evaluate("window.__clickAt"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the report's index.html")
    parser.add_argument("--clicks", type=int, default=5, help="ranking rows to click, one after the other")
    parser.add_argument(
        "--loads", type=int, default=1, help="fresh browser loads; prints the median and the range of each figure"
    )
    args = parser.parse_args(argv)
    runs = [measure(args.page, args.clicks) for _ in range(max(args.loads, 1))]
    for label in runs[0]:
        values = sorted(run[label] for run in runs if label in run)
        median = values[len(values) // 2] if len(values) % 2 else sum(values[len(values) // 2 - 1 :][:2]) / 2
        spread = f"   (median of {len(values)}: {values[0]:.1f}-{values[-1]:.1f})" if len(values) > 1 else ""
        print(f"{label:<16} {median:8.1f} ms{spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
