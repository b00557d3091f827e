"""Instructions counted around an empty call and a dict loop, through each way of issuing client requests.

    python benchmarks/client_request_overhead.py

Runs itself under ``valgrind --tool=callgrind --instr-atstart=no`` once per
way (the ``valgrind`` module where it is installed, the ctypes machine code
on x86-64) and prints the counts of three calls of each workload after two
warm-up calls; docs/instructions.md quotes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _work() -> int:
    table: dict[int, int] = {}
    for i in range(20_000):
        table[i % 97] = table.get(i % 97, 0) + i
    return len(table)


def _inside(way: str, out_prefix: Path) -> None:
    from benchwatch.runner import callgrind, client_requests

    if way == client_requests.MACHINE_CODE:
        callgrind.load_requests = lambda: (way, client_requests.MachineCodeRequests())  # type: ignore[assignment]
    counter = callgrind.CallCounter(out_file=str(out_prefix), counted_calls=3, warmup_calls=2)
    empty = counter.count(lambda: None)[1]
    loop = counter.count(_work)[1]
    print(f"{counter.backend:16} empty call {empty}  dict loop {loop}")


def main() -> int:
    if len(sys.argv) == 3:
        _inside(sys.argv[1], Path(sys.argv[2]))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not on PATH", file=sys.stderr)
        return 1
    from benchwatch.runner.client_requests import MACHINE_CODE, MODULE, machine_code_supported

    ways = [MODULE] + ([MACHINE_CODE] if machine_code_supported() else [])
    for way in ways:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "callgrind.out"
            command = [valgrind, "--tool=callgrind", "--instr-atstart=no", "-q", f"--callgrind-out-file={out}"]
            command += [sys.executable, __file__, way, str(out)]
            done = subprocess.run(command, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False)
            if done.returncode != 0:
                print(f"{way}: failed (is the valgrind module installed?)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
