"""Time a trend report in headless Chromium over the DevTools protocol: summary usable, chart after a click.

    .venv/bin/pip install websocket-client        # the driver's only extra (not a benchwatch dependency)
    .venv/bin/python benchmarks/trend_browser_timing.py SITE/index.html [--clicks 5] [--loads 7]

Figures (milliseconds, from the page's own ``performance.now()``):

* ``summary usable`` -- the report script has run (``data-ready-ms``): the
  ranking table is parsed and a click on a name is handled;
* ``chart N`` -- a real mouse click (``Input.dispatchMouseEvent``) on the
  N-th name of the ranking, to the last chart painted for it
  (``data-drawn-ms`` on the panel), cold: its data chunk is loaded and
  inflated on that click.  The first click also loads the search index.

Chromium runs with the flags of the tests (--headless --no-sandbox
--disable-gpu ... and a fresh profile).  Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


class Page:
    """A minimal DevTools protocol session on one page target."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=60)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return answer.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.01)
        raise TimeoutError(expression)


def launch(profile: Path) -> tuple[subprocess.Popen[bytes], int]:
    chromium = next((name for name in ("chromium", "chromium-browser", "google-chrome") if _which(name)), None)
    if chromium is None:
        raise SystemExit("chromium is not installed")
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit("chromium did not open its DevTools port")
        time.sleep(0.05)
    return process, int(port_file.read_text().split()[0])


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def measure(page_path: Path, clicks: int) -> dict[str, float]:
    # Chromium may still write to its profile for a moment after the kill.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process, port = launch(Path(profile))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
                targets = json.load(response)
            target = next(t for t in targets if t.get("type") == "page")
            page = Page(target["webSocketDebuggerUrl"])
            page.call("Page.enable")
            page.call("Page.navigate", url=page_path.resolve().as_uri())
            ready = float(page.wait_for("document.body && document.body.getAttribute('data-ready-ms')"))
            figures = {"summary usable": ready}
            page.evaluate(
                "document.addEventListener('click', function () { window.__clickAt = performance.now(); }, true); 1"
            )
            rows = int(page.evaluate("document.querySelectorAll('#ranking a.open').length") or 0)
            for k in range(min(clicks, rows)):
                figures[f"chart {k + 1}"] = _click(page, k)
            page.socket.close()
            return figures
        finally:
            process.kill()
            process.wait()


def _click(page: Page, k: int) -> float:
    box = page.evaluate(
        f"(function () {{ var a = document.querySelectorAll('#ranking a.open')[{k}];"
        " a.scrollIntoView({block: 'center'});"
        " var r = a.getClientRects()[0];"
        " return {x: r.left + 3, y: r.top + r.height / 2, name: a.getAttribute('data-name')}; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)
    name = json.dumps(box["name"])
    page.wait_for(f"document.getElementById('chart-panel').getAttribute('data-drawn') === {name}")
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
