"""A guard process between ``benchwatch run`` and each worker.

    python -m benchwatch.runner.shim RUNNER_PID SCRATCH_DIR -- WORKER_ARGV...

The runner cleans up after itself when it is stopped by SIGTERM, SIGINT or
SIGHUP, but nothing runs in a process killed with SIGKILL (or by the OOM
killer).  This small process (standard library only, always responsive to
signals, unlike a worker busy in C code) makes that case safe too:

* it asks the kernel for SIGTERM when the runner dies
  (``prctl(PR_SET_PDEATHSIG)``, Linux);
* it is a child subreaper, so whatever the worker's benchmarks start -
  even in a new session - stays its descendant;
* when the worker ends, or when it is told to stop (the runner died or sent
  a signal), it kills the worker's process group and every remaining
  descendant; if the runner is gone it also removes the runner's scratch
  directory (events, logs, memray captures).

It exits with the worker's status (dying by the same signal if the worker
did), so the runner reads the worker's outcome unchanged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence

from benchwatch.runner import reaper

_POLL_SECONDS = 0.05


def _finish(worker: subprocess.Popen | None, runner: int, scratch: str) -> None:
    if worker is not None:
        reaper.kill_group(worker.pid)
        with contextlib.suppress(ChildProcessError):
            worker.wait()
    reaper.reap_strays(set())
    if os.getppid() != runner:
        # The runner died without cleaning up (SIGKILL, OOM killer): its scratch files are ours to remove.
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m benchwatch.runner.shim RUNNER_PID SCRATCH_DIR -- WORKER_ARGV...", file=sys.stderr)
        return 2
    runner, scratch, command = int(argv[0]), argv[1], list(argv[3:])
    stop: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: stop.append(number))
    with reaper.subreaper():
        reaper.die_with_parent(signal.SIGTERM)
        worker = None
        if os.getppid() == runner:  # the runner may have died before the line above
            worker = subprocess.Popen(command, process_group=0)
        while worker is not None and not stop and os.getppid() == runner:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=_POLL_SECONDS)
                break
        status = worker.returncode if worker is not None else None
        _finish(worker, runner, scratch)
    if stop or status is None:
        return 128 + (stop[0] if stop else signal.SIGTERM)
    if status < 0:
        # Die the way the worker died, so the runner can say "killed by signal X".
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP cannot be given a handler
            signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
