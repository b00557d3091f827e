"""Suite-wide test set-up.

* compare-refs' cache goes to a temporary folder, never the user's ~/.cache.
* Under CI (the environment variable CI=true, as GitHub Actions sets it) a skipped test is a
  failure, unless its file is in ALLOWED_SKIPS: a test that skips where CI runs never runs at
  all, so a missing tool or data file must fail loudly (scripts/system-deps.sh and the test
  extra install everything the tests need).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    cache = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


#: Test files that may skip under CI, and why.
ALLOWED_SKIPS = {
    "tests/test_adapters_shared_data.py": (
        "reads ../shared/data, an optional extra source beside the clone; test_adapters.py covers the same "
        "behaviour on committed fixtures"
    ),
    "tests/test_changepoints_real.py": (
        "scores the change points on the real pyperf runs in ../shared/data/pyperf, an optional extra source; "
        "test_segmentation.py and test_pyperf_history_changes.py check the same rules on generated and committed data"
    ),
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _allowed(nodeid: str) -> bool:
    return nodeid.split("::", 1)[0] in ALLOWED_SKIPS


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail") and not _allowed(report.nodeid):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI=true, which is a failure: {_reason(report)}\n"
            "(install what the test needs - scripts/system-deps.sh, the test extra - or, if the skip is "
            "legitimate, add the file to ALLOWED_SKIPS in tests/conftest.py with the reason)"
        )


_collect_skips: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A module that skips at import (pytest.importorskip) skips all of its tests at once.
    if _in_ci() and report.skipped and not _allowed(report.nodeid):
        _collect_skips.append(f"{report.nodeid}: {_reason(report)}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _collect_skips:
        terminalreporter.section("modules skipped under CI=true (a failure)", red=True)
        for line in _collect_skips:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _collect_skips and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
