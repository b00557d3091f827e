"""Per-function costs from one Callgrind dump: own instructions and calls of each native function.

A dump (format: valgrind.org/docs/manual/cl-format.html) lists, per function
(``fn=``) in a shared object (``ob=``), cost lines ``position cost...``; a
``calls=N ...`` line is followed by one cost line that is the *inclusive*
cost of those calls, which belongs to the callee, not to the caller's own
cost.  Names are compressed: ``fn=(12) name`` defines id 12, ``fn=(12)``
reuses it.  Functions without a symbol (stripped libraries) show as
``0x...`` addresses; they are pooled per library as ``(no symbol)``.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchwatch.explain.records import FunctionCost, Profile, Tool

#: How many functions a native profile keeps (the most expensive); the rest still count in totals.
MAX_FUNCTIONS = 400
NO_SYMBOL = "(no symbol)"
_COMPRESSED = re.compile(r"\((\d+)\)(?:\s+(.*))?$")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+$")


@dataclass
class _Names:
    """One of the dump's name tables (objects, files, functions share ids within their kind)."""

    table: dict[str, str]

    def resolve(self, value: str) -> str:
        match = _COMPRESSED.match(value.strip())
        if match is None:
            return value.strip()
        ident, name = match.groups()
        if name is not None:
            self.table[ident] = name
            return name
        return self.table.get(ident, f"({ident})")


@dataclass
class _Totals:
    own: dict[tuple[str, str], int]
    calls: dict[tuple[str, str], int]


def _library(ob: str) -> str:
    return os.path.basename(ob) if ob else "???"


def _symbol(fn: str) -> str:
    return NO_SYMBOL if _ADDRESS.match(fn) else fn


def read_function_costs(path: Path) -> _Totals:
    """Own ``Ir`` and calls per (function, library) of the dump at ``path``."""
    objects, functions = _Names({}), _Names({})
    own: dict[tuple[str, str], int] = defaultdict(int)
    calls: dict[tuple[str, str], int] = defaultdict(int)
    ob = fn = ""
    call_ob: str | None = None
    call_fn: str | None = None
    in_call = False
    ir_index = 0
    positions = 1
    with open(path, encoding="utf-8", errors="replace") as stream:
        for raw in stream:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            first = line[0]
            if first.isdigit() or first in "+-*":
                if in_call:
                    in_call = False  # the inclusive cost of the calls above: the callee's, not ours
                    continue
                fields = line.split()
                index = positions + ir_index
                if index < len(fields):
                    own[(_symbol(fn), _library(ob))] += int(fields[index])
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = objects.resolve(value)
            elif key == "fn":
                fn = functions.resolve(value)
                call_ob = call_fn = None
            elif key == "cob":
                call_ob = objects.resolve(value)
            elif key == "cfn":
                call_fn = functions.resolve(value)
            elif key == "calls":
                count = int(value.split()[0])
                calls[(_symbol(call_fn or fn), _library(call_ob or ob))] += count
                in_call = True
                call_ob = None
            elif line.startswith("positions:"):
                positions = len(line.split(":", 1)[1].split())
            elif line.startswith("events:"):
                ir_index = line.split(":", 1)[1].split().index("Ir")
    return _Totals(own=dict(own), calls=dict(calls))


def native_profile(dumps: list[Path]) -> Profile:
    """The native profile of the counted calls whose dumps are ``dumps`` (costs per call)."""
    own: dict[tuple[str, str], float] = defaultdict(float)
    calls: dict[tuple[str, str], float] = defaultdict(float)
    for dump in dumps:
        totals = read_function_costs(dump)
        for key, instructions in totals.own.items():
            own[key] += instructions
        for key, count in totals.calls.items():
            calls[key] += count
    per_call = max(1, len(dumps))
    libraries: dict[str, float] = defaultdict(float)
    for (_, library), cost in own.items():
        libraries[library] += cost / per_call
    ranked = sorted(own, key=lambda key: -own[key])[:MAX_FUNCTIONS]
    functions = tuple(
        FunctionCost(name=key[0], file=key[1], line=None, calls=calls.get(key, 0.0) / per_call, own=own[key] / per_call)
        for key in ranked
    )
    return Profile(
        tool=Tool.CALLGRIND,
        benchmark_calls=len(dumps),
        total=sum(own.values()) / per_call,
        functions=functions,
        libraries=dict(sorted(libraries.items(), key=lambda item: -item[1])),
    )
