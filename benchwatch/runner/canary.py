"""A machine-speed canary timed right before and right after every benchmark.

Why: on shared 2-vCPU virtual machines the CPU itself changes speed for
seconds at a time (a busy neighbour on the host's sibling hyperthread,
frequency changes).  The A/B harness showed phases in which every pure-Python
benchmark ran 1.4-1.9x slower with no run-queue wait at all, so neither
schedstat nor CPU/wall time can see them.  A run measured in such a phase is
evidence about the neighbour, not about the code.

The canary is the same fixed pure-Python workload in every process of both
sides of a comparison (it belongs to benchwatch, not to the suite under
test), so its timings cannot carry a code change: comparing a run's canary
with the canary of all runs tells whether that run was measured at normal
machine speed.  :func:`benchwatch.stats.speed.drop_off_speed_runs` uses it.

The reported time is the fastest of several short calls: the minimum is
what the machine can do at that moment, and it shrugs off a single
interrupt.
"""

from __future__ import annotations

import time

#: Bumped whenever the workload below changes: canaries of different versions
#: are not comparable (compare() then ignores them).
CANARY_VERSION = 1
CANARY_CALLS = 5
_WORK_SIZE = 1500


def _workload(size: int) -> int:
    # Interpreter-bound on purpose (integer arithmetic, calls, dict and list
    # traffic): the kind of code the machine-speed phases slow down most.
    table: dict[int, int] = {}
    items: list[int] = []
    total = 0
    for value in range(size):
        key = (value * 2654435761) % 1021
        table[key] = table.get(key, 0) + value
        items.append(key ^ value)
        total = (total + len(items) + table[key]) % 1_000_003
    return total + sum(items[-16:])


def measure_canary(calls: int = CANARY_CALLS) -> float:
    """Seconds of the fastest of ``calls`` canary calls (about 0.3 ms each on a 2020s x86 core)."""
    best = float("inf")
    for _ in range(calls):
        started = time.perf_counter()
        _workload(_WORK_SIZE)
        best = min(best, time.perf_counter() - started)
    return best
