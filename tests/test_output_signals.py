"""A signal during an atomic write is delivered after its temporary is renamed or removed.

Each check runs in a fresh interpreter: signal handlers and masks belong to the main thread,
and under pytest-xdist a test may run in another one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PRELUDE = """
import os, signal
class Stopped(Exception):
    pass
def stop(signum, frame):
    raise Stopped
signal.signal(signal.SIGTERM, stop)
"""


def _run(body: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_sigterm_inside_the_held_window_arrives_after_it() -> None:
    body = """
    from benchwatch.output import _signals_held
    reached = False
    try:
        with _signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            reached = True
    except Stopped:
        print("stopped after", reached)
    """
    assert _run(body) == "stopped after True"


def test_a_sigterm_just_after_the_temporary_is_named_leaves_none_behind(tmp_path: Path) -> None:
    """Where a SIGTERM to ``benchwatch trend`` on a busy machine once left ``.<name>.<pid>-….tmp``."""
    body = f"""
    import benchwatch.output as output
    from pathlib import Path
    real_link = os.link
    def link_then_signal(*args, **kwargs):
        real_link(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # the temporary has its name now
    output.os.link = link_then_signal
    try:
        output.write_output(Path({str(tmp_path)!r}) / "page.html", b"<html></html>")
    except Stopped:
        print("stopped")
    """
    assert _run(body) == "stopped"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["page.html"]
