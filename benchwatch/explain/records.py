"""The records of an explanation: per-side profiles of one benchmark, and their difference.

A :class:`Profile` is what one profiling process saw of one benchmark on one
side: per function its calls and own cost per call of the benchmark.  An
:class:`Explanation` is the ranked difference of the base and head profiles
of one benchmark.  Both convert to and from plain JSON values, so that result
files carry profiles and ``benchwatch compare`` can explain from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Tool(StrEnum):
    """Which profiler a profile comes from, and so what its costs mean."""

    #: cProfile: exact Python call counts, own time (seconds) per function.
    CPROFILE = "cprofile"
    #: Callgrind: exact instructions per native function (``fn`` in ``ob``).
    CALLGRIND = "callgrind"


UNITS = {Tool.CPROFILE: "seconds", Tool.CALLGRIND: "instructions"}


class Change(StrEnum):
    """How a function differs between the sides."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class FunctionCost:
    """One function in one profile, per call of the benchmark.

    ``name`` is the qualified name (Python) or symbol (native); ``file`` the
    source file relative to the project or site-packages (Python) or the
    shared object's file name (native); ``line`` its first line, when known.
    ``calls`` and ``own`` are per benchmark call: own cost excludes callees.
    ``callees`` holds (index in the profile's functions, calls, inclusive
    cost) per function it called, per benchmark call (cProfile only).
    """

    name: str
    file: str
    line: int | None
    calls: float
    own: float
    callees: tuple[tuple[int, float, float], ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.file

    def to_dict(self) -> list[Any]:
        return [self.name, self.file, self.line, self.calls, self.own, [list(edge) for edge in self.callees]]

    @classmethod
    def from_dict(cls, data: list[Any]) -> FunctionCost:
        name, file, line, calls, own, *rest = data
        callees = tuple((int(i), float(c), float(t)) for i, c, t in (rest[0] if rest else ()))
        return cls(str(name), str(file), int(line) if line is not None else None, float(calls), float(own), callees)


@dataclass(frozen=True)
class Profile:
    """One profiling process's view of one benchmark.

    ``benchmark_calls`` calls were profiled (costs are divided by it);
    ``total`` is the own cost of every function per call, including those
    left out of ``functions`` (the cheapest, past a cap); ``libraries`` the
    native cost per shared object (Callgrind); ``overhead`` the profiled
    call's time over an unprofiled one (cProfile), when measured.
    """

    tool: Tool
    benchmark_calls: int
    total: float
    functions: tuple[FunctionCost, ...]
    libraries: Mapping[str, float] = field(default_factory=dict)
    overhead: float | None = None

    @property
    def unit(self) -> str:
        return UNITS[self.tool]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": str(self.tool),
            "benchmark_calls": self.benchmark_calls,
            "total": self.total,
            "functions": [function.to_dict() for function in self.functions],
            "libraries": dict(self.libraries),
            "overhead": self.overhead,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        functions = tuple(FunctionCost.from_dict(row) for row in data.get("functions", ()))
        if any(not 0 <= index < len(functions) for function in functions for index, _, _ in function.callees):
            raise ValueError("a callee index is outside the profile's functions")
        return cls(
            tool=Tool(data["tool"]),
            benchmark_calls=int(data["benchmark_calls"]),
            total=float(data["total"]),
            functions=functions,
            libraries={str(k): float(v) for k, v in (data.get("libraries") or {}).items()},
            overhead=float(data["overhead"]) if data.get("overhead") is not None else None,
        )


@dataclass(frozen=True)
class FunctionChange:
    """One function's cost on both sides, per call of the benchmark (zero on a side that lacks it)."""

    name: str
    file: str
    line: int | None
    change: Change
    base_calls: float
    head_calls: float
    base_own: float
    head_own: float

    @property
    def delta(self) -> float:
        return self.head_own - self.base_own

    @property
    def ratio(self) -> float:
        """head/base own cost (infinite for an added function, 0 for a removed one)."""
        if self.base_own > 0:
            return self.head_own / self.base_own
        return math.inf if self.head_own > 0 else 1.0

    @property
    def calls_changed(self) -> bool:
        return not math.isclose(self.base_calls, self.head_calls, rel_tol=1e-9, abs_tol=1e-9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "change": str(self.change),
            "base_calls": self.base_calls,
            "head_calls": self.head_calls,
            "base_own": self.base_own,
            "head_own": self.head_own,
            "delta": self.delta,
        }


@dataclass(frozen=True)
class ProfileDiff:
    """Base against head for one profiler: every function that differs, largest change in own cost first.

    ``significant`` is how many of the leading ``changes`` are past the
    noise floor (call counts that differ always are); the rest are kept for
    the JSON report.  ``libraries`` holds (shared object, base, head) native
    cost; ``base_profile``/``head_profile`` the profiles (call trees for the
    HTML chart).
    """

    tool: Tool
    base_total: float
    head_total: float
    changes: tuple[FunctionChange, ...]
    significant: int
    libraries: tuple[tuple[str, float, float], ...] = ()
    base_overhead: float | None = None
    head_overhead: float | None = None
    base_profile: Profile | None = field(default=None, repr=False, compare=False)
    head_profile: Profile | None = field(default=None, repr=False, compare=False)

    @property
    def unit(self) -> str:
        return UNITS[self.tool]

    @property
    def top(self) -> tuple[FunctionChange, ...]:
        return self.changes[: self.significant]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": str(self.tool),
            "unit": self.unit,
            "base_total": self.base_total,
            "head_total": self.head_total,
            "significant": self.significant,
            "overhead": {"base": self.base_overhead, "head": self.head_overhead},
            "libraries": [{"library": lib, "base": base, "head": head} for lib, base, head in self.libraries],
            "functions": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class Explanation:
    """Why one benchmark changed: the Python and native profile differences, and notes.

    ``reason`` is why it was explained (``regression``, ``improvement`` or
    ``requested``); ``notes`` say what could not be profiled and why.
    """

    benchmark: str
    reason: str
    python: ProfileDiff | None = None
    native: ProfileDiff | None = None
    notes: tuple[str, ...] = ()

    def diffs(self) -> tuple[ProfileDiff, ...]:
        return tuple(diff for diff in (self.python, self.native) if diff is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "reason": self.reason,
            "python": self.python.to_dict() if self.python is not None else None,
            "native": self.native.to_dict() if self.native is not None else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class SideProfiles:
    """The profiles of one benchmark on one side (None where that profiler did not run), or why none."""

    python: Profile | None = None
    native: Profile | None = None
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python.to_dict() if self.python is not None else None,
            "native": self.native.to_dict() if self.native is not None else None,
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SideProfiles:
        return cls(
            python=Profile.from_dict(data["python"]) if data.get("python") else None,
            native=Profile.from_dict(data["native"]) if data.get("native") else None,
            errors=tuple(str(error) for error in data.get("errors") or ()),
        )
