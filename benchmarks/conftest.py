"""Fixtures for the playback-analytics workload benchmarks.

Options:
  --workload-scale N   events in the analytics dataset (default 1,000,000)
  --workload-cache DIR parquet cache dir (default <repo>/.benchwatch-cache/workload)
  --sync-events N      events served by the sync server (default 20,000)

pytest puts this directory (``benchmarks/``, which has no ``__init__.py``) on
``sys.path`` (rootdir-relative "rootdir/conftest" insertion), so ``import
playback`` works in the test modules.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from playback import generator, queries

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKLOAD_SEED = 42
SYNC_SEED = 7
SYNC_OVERLAP = 25
SYNC_FAIL_EVERY = 4


def pytest_addoption(parser):
    group = parser.getgroup("workload", "playback-analytics workload")
    group.addoption(
        "--workload-scale", type=int, default=1_000_000, help="number of generated playback events (default 1000000)"
    )
    group.addoption(
        "--workload-cache",
        default=str(REPO_ROOT / ".benchwatch-cache" / "workload"),
        help="directory for the cached parquet dataset",
    )
    group.addoption(
        "--sync-events", type=int, default=5_000, help="number of events served by the sync server (default 5000)"
    )


@pytest.fixture(scope="session")
def workload_scale(pytestconfig) -> int:
    return pytestconfig.getoption("--workload-scale")


@pytest.fixture(scope="session")
def sync_events(pytestconfig) -> int:
    return pytestconfig.getoption("--sync-events")


@pytest.fixture(scope="session")
def events_parquet(pytestconfig, workload_scale) -> Path:
    """Path of the cached parquet dataset (generated on first use)."""
    return generator.ensure_events_parquet(pytestconfig.getoption("--workload-cache"), workload_scale, WORKLOAD_SEED)


@pytest.fixture(scope="session")
def events_db(pytestconfig, workload_scale):
    """DuckDB connection (threads=1) to the workload's database file, attached read-only, table ``events`` warm.

    The file is built once (the first process to need it) and shared by every
    later process; each process only attaches it (``generator.ensure_events_database``).
    """
    path = generator.ensure_events_database(pytestconfig.getoption("--workload-cache"), workload_scale, WORKLOAD_SEED)
    con = queries.connect(str(path), read_only=True)
    generator.warm_events(con)
    yield con
    con.close()


#: Ports below Linux's ephemeral range (32768-60999), so a preferred port is
#: free unless another service took it.
PREFERRED_PORTS = range(10_000, 30_000, 2)


def preferred_port(nodeid: str, fail_every: int) -> int:
    """A port chosen from the benchmark that starts the server, the same in every process.

    With an ephemeral port, each process's server URL has other digits, and
    the objects built from it (the URL strings, requests' pool keys) leave
    a different heap behind: ``test_dedup_overlapping_pages`` counted 1.1%
    apart between processes, and exactly the same instructions in 4 of 4
    with one fixed port.  Hashing the benchmark's name keeps two benchmarks
    counted side by side on different ports.
    """
    digest = int.from_bytes(hashlib.sha256(nodeid.encode("utf-8")).digest()[:4], "big")
    return PREFERRED_PORTS[digest % len(PREFERRED_PORTS)] + (1 if fail_every else 0)


def _start_server_process(n_events: int, fail_every: int):
    """Start ``python -m playback.sync_server`` and return (proc, base_url).

    Tries the benchmark's preferred port first, then any free port.
    """
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    try:
        return _server_on_port(n_events, fail_every, preferred_port(nodeid, fail_every))
    except RuntimeError:
        return _server_on_port(n_events, fail_every, 0)


def _server_on_port(n_events: int, fail_every: int, port: int):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [
        sys.executable,
        "-m",
        "playback.sync_server",
        "--port",
        str(port),
        "--events",
        str(n_events),
        "--seed",
        str(SYNC_SEED),
        "--overlap",
        str(SYNC_OVERLAP),
        "--fail-every",
        str(fail_every),
    ]
    proc = subprocess.Popen(cmd, cwd=str(BENCH_DIR), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # first line = bound port
    if not line.isdigit():
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"sync server failed to start: {line!r}\n{err}")
    return proc, f"http://127.0.0.1:{int(line)}"


def _stop_server_process(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


@pytest.fixture(scope="session")
def sync_server(sync_events):
    """Base URL of a healthy sync server subprocess on 127.0.0.1 (no failures)."""
    proc, url = _start_server_process(sync_events, fail_every=0)
    yield url
    _stop_server_process(proc)


@pytest.fixture(scope="session")
def flaky_sync_server(sync_events):
    """Base URL of a sync server subprocess where every 4th request fails (429/503).

    POST ``<url>/api/reset`` before each round so the failure pattern repeats.
    """
    proc, url = _start_server_process(sync_events, fail_every=SYNC_FAIL_EVERY)
    yield url
    _stop_server_process(proc)


@pytest.fixture(scope="session")
def http_session():
    with requests.Session() as s:
        yield s
