"""hyperfine JSON (``hyperfine --export-json FILE``): whole-command timings.

The file is ``{"results": [{"command", "times", "exit_codes", ...}, ...]}``,
one entry per benchmarked command.

How it maps onto the results model:

* Each command is one benchmark named by its ``command`` field (which is
  the ``--command-name`` when one was given).  With a parameter scan
  (``--parameter-scan``/``--parameter-list``) the parameters are appended,
  ``"sleep 0.01 [delay=0.01]"``, and also kept in ``params``.  A name that
  repeats in one file gets ``" #2"``, ``" #3"`` ... appended.
* hyperfine measures every command in **one** invocation, so each command
  has **one run** whose samples are ``times`` (seconds per execution,
  ``iterations`` 1).  Runs are benchwatch's unit of replication: export
  several times (``--export-json run1.json`` ... ``run5.json``) and give
  them all to ``benchwatch import``, which merges them into one result with
  one run per file.
* ``memory_usage_byte`` (hyperfine 1.19 and later: the peak resident memory
  of each execution) becomes ``Run.memory`` with ``peak_bytes`` = its
  maximum; hyperfine does not count allocations, so ``allocations`` is 0.
* A command with a non-zero (or missing, i.e. killed by a signal) exit code
  in any execution -- only possible with ``hyperfine -i`` -- gets status
  ``error`` with the exit codes in the message; its times are kept.
"""

from __future__ import annotations

from benchwatch.adapters.json_values import is_finite_number
from benchwatch.adapters.registry import Format, Probe
from benchwatch.errors import InputError
from benchwatch.model import RUN_ERROR, BenchmarkResult, MemoryProfile, ResultSet, Run, frozen_samples

EXPECTED = "hyperfine --export-json entries with 'command' and 'times' (seconds)"


def _sniff(probe: Probe) -> bool:
    document = probe.document
    if not isinstance(document, dict) or "schema_version" in document:
        return False
    results = document.get("results")
    return isinstance(results, list) and bool(results) and isinstance(results[0], dict) and "command" in results[0]


def _load(probe: Probe) -> ResultSet:
    path = probe.path
    document = probe.document
    if document is None and not path.is_dir():
        from benchwatch.resultfile import read_json_document

        document = read_json_document(path)  # not JSON: its parse error is the clearest message
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list) or not results:
        raise InputError(path, f"no results in hyperfine JSON (expected {EXPECTED})")
    benchmarks = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(results):
        if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
            raise InputError(path, f"results[{index}] has no 'command' (expected {EXPECTED})")
        command = entry["command"]
        where = f"results[{index}] ({command!r})"
        times = entry.get("times")
        if (
            not isinstance(times, list)
            or not times
            or not all(is_finite_number(value) and value >= 0 for value in times)
        ):
            raise InputError(
                path,
                f"{where}: 'times' is missing or not a list of non-negative seconds "
                f"(expected {EXPECTED}; hyperfine before 1.6 did not export times)",
            )
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise InputError(path, f"{where}: 'parameters' is not an object")
        name = command
        if parameters:
            name = f"{command} [{', '.join(f'{key}={value}' for key, value in parameters.items())}]"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} #{seen[name]}"

        memory = None
        memory_usage = entry.get("memory_usage_byte")
        if memory_usage is not None:
            if not isinstance(memory_usage, list) or not all(
                is_finite_number(value) and value >= 0 for value in memory_usage
            ):
                raise InputError(path, f"{where}: 'memory_usage_byte' is not a list of byte counts")
            if memory_usage:
                memory = MemoryProfile(peak_bytes=int(max(memory_usage)), allocations=0)

        exit_codes = entry.get("exit_codes")
        status, error = "ok", None
        if isinstance(exit_codes, list):
            bad = [code for code in exit_codes if code != 0]
            if bad:
                status = RUN_ERROR
                shown = ", ".join("signal" if code is None else str(code) for code in exit_codes)
                error = (
                    f"command failed in {len(bad)} of {len(exit_codes)} executions "
                    f"(exit codes: {shown}; measured with hyperfine -i)"
                )
        summary = {key: float(entry[key]) for key in ("mean", "median", "stddev") if is_finite_number(entry.get(key))}
        run = Run(samples=frozen_samples(times), status=status, error=error, memory=memory, summary=summary)
        benchmarks.append(BenchmarkResult(name=name, runs=(run,), params=dict(parameters)))
    return ResultSet(benchmarks=tuple(benchmarks), source="hyperfine")


FORMAT = Format(
    name="hyperfine",
    description="hyperfine JSON (--export-json)",
    sniff=_sniff,
    load=_load,
)
