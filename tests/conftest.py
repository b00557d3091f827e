"""Suite-wide test set-up.

* compare-refs' cache goes to a temporary folder, never the user's ~/.cache.
* No PYTEST_XDIST_* variable reaches the processes a test starts (pytest-benchmark turns itself off there);
  under xdist each test process has a temporary directory of its own.
* Under CI (the environment variable CI=true, as GitHub Actions sets it) a skipped test is a
  failure, unless its file is in ALLOWED_SKIPS: a test that skips where CI runs never runs at
  all, so a missing tool or data file must fail loudly (scripts/system-deps.sh and the test
  extra install everything the tests need).
* ``--cpu-durations=N`` lists the N tests that used the most CPU seconds, their own and their
  (finished) child processes': a figure the machine's load inflates much less than --durations'
  wall time, so suite costs measured on a busy machine compare (docs/cost.md, "The test suite").
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    cache = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        # Under pytest-xdist (scripts/test.sh) the benchwatch workers a test starts would inherit
        # PYTEST_XDIST_WORKER, and pytest-benchmark disables itself in any process that has it.
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
            patch.delenv(name)
        if worker is None:
            yield cache
            return
        # A temporary directory per test process: counted workers take fixed paths in it and wait for
        # one another's (runner/scratch.py), which would serialise the two processes' instruction passes.
        private = Path(tempfile.gettempdir()) / f"benchwatch-tests-{worker}"
        shutil.rmtree(private, ignore_errors=True)
        private.mkdir()
        patch.setenv("TMPDIR", str(private))
        patch.setattr(tempfile, "tempdir", None)
        try:
            yield cache
        finally:
            shutil.rmtree(private, ignore_errors=True)


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="show the N tests that used the most CPU seconds, with their child processes (0: all)",
    )


_CPU_START = pytest.StashKey[float]()
_CPU_PROPERTY = "cpu_seconds"
_cpu_by_test: dict[str, float] = {}


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended and been waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_CPU_START] = _cpu_seconds()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under pytest-xdist this runs in the controlling process too: user_properties travel with the report.
    for name, value in report.user_properties:
        if name == _CPU_PROPERTY and isinstance(value, int | float):
            _cpu_by_test[report.nodeid] = float(value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.when == "teardown" and _CPU_START in item.stash:
        report.user_properties.append((_CPU_PROPERTY, round(_cpu_seconds() - item.stash[_CPU_START], 3)))
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


def _report_cpu(terminalreporter: pytest.TerminalReporter) -> None:
    count = terminalreporter.config.getoption("cpu_durations")
    if count is None or not _cpu_by_test:
        return
    ranked = sorted(_cpu_by_test.items(), key=lambda item: item[1], reverse=True)
    terminalreporter.section("CPU seconds per test (set-up, call, tear-down; with child processes)")
    for nodeid, seconds in ranked[:count] if count > 0 else ranked:
        terminalreporter.line(f"{seconds:8.2f}s {nodeid}")
    terminalreporter.line(f"{sum(_cpu_by_test.values()):8.2f}s in all ({len(_cpu_by_test)} tests)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _report_cpu(terminalreporter)
    if _collect_skips:
        terminalreporter.section("modules skipped under CI=true (a failure)", red=True)
        for line in _collect_skips:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _collect_skips and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
