"""Base against head, function by function: what changed, ranked by the change in own cost.

Functions are matched by (qualified name, file) for Python and (symbol,
shared object) for native code, so a renamed function shows as one removed
and one added.  Call counts are exact on both sides: a different count is
always reported.  Own costs are not all exact: cProfile's own times move
between processes (timer resolution, the machine's load), so a function whose
call count did not change is reported only when its own cost moved by more
than :data:`NOISE_SHARE` of the benchmark's profiled total (Callgrind's
instruction counts: :data:`NATIVE_NOISE_SHARE`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from benchwatch.explain.records import (
    Change,
    Explanation,
    FunctionChange,
    FunctionCost,
    Profile,
    ProfileDiff,
    SideProfiles,
    Tool,
)

#: A timed function whose calls did not change must move by this share of the total to be reported.
NOISE_SHARE = 0.03
#: The same for instruction counts (nearly deterministic, see docs/instructions.md).
NATIVE_NOISE_SHARE = 0.005


def diff_profiles(base: Profile, head: Profile) -> ProfileDiff:
    """Every function of either side whose calls or own cost differ, largest absolute change first."""
    base_rows = _by_key(base.functions)
    head_rows = _by_key(head.functions)
    changes = []
    for key in dict.fromkeys([*base_rows, *head_rows]):
        before, after = base_rows.get(key), head_rows.get(key)
        shown = after or before
        assert shown is not None  # a key comes from one side at least
        change = Change.CHANGED if before and after else (Change.ADDED if after else Change.REMOVED)
        row = FunctionChange(
            name=shown.name,
            file=shown.file,
            line=shown.line,
            change=change,
            base_calls=before.calls if before else 0.0,
            head_calls=after.calls if after else 0.0,
            base_own=before.own if before else 0.0,
            head_own=after.own if after else 0.0,
        )
        if row.delta != 0 or row.calls_changed:
            changes.append(row)
    floor = (NOISE_SHARE if base.tool == Tool.CPROFILE else NATIVE_NOISE_SHARE) * max(base.total, head.total)
    significant = [row for row in changes if _significant(row, floor)]
    rest = [row for row in changes if not _significant(row, floor)]
    significant.sort(key=lambda row: -abs(row.delta))
    rest.sort(key=lambda row: -abs(row.delta))
    libraries = tuple(
        (library, base.libraries.get(library, 0.0), head.libraries.get(library, 0.0))
        for library in dict.fromkeys([*base.libraries, *head.libraries])
    )
    return ProfileDiff(
        tool=base.tool,
        base_total=base.total,
        head_total=head.total,
        changes=tuple(significant + rest),
        significant=len(significant),
        libraries=tuple(sorted(libraries, key=lambda item: -abs(item[2] - item[1]))),
        base_overhead=base.overhead,
        head_overhead=head.overhead,
        base_profile=base,
        head_profile=head,
    )


def _by_key(functions: Iterable[FunctionCost]) -> dict[tuple[str, str], FunctionCost]:
    return {function.key: function for function in functions}


def _significant(row: FunctionChange, floor: float) -> bool:
    # A new or vanished function that costs something is news even when cheap; so is any change in calls.
    if row.change != Change.CHANGED:
        return max(row.base_own, row.head_own) > floor / 10 or row.calls_changed
    return row.calls_changed or abs(row.delta) > floor


def explain_benchmark(name: str, reason: str, base: SideProfiles | None, head: SideProfiles | None) -> Explanation:
    """The explanation of one benchmark from its profiles on each side (a note for what is missing)."""
    notes: list[str] = []
    for label, side in (("base", base), ("head", head)):
        if side is None:
            notes.append(f"not profiled on {label}")
        else:
            notes.extend(f"{label}: {error}" for error in side.errors)
    diffs: dict[str, ProfileDiff | None] = {"python": None, "native": None}
    if base is not None and head is not None:
        for kind in diffs:
            before, after = getattr(base, kind), getattr(head, kind)
            if before is not None and after is not None:
                diffs[kind] = diff_profiles(before, after)
    return Explanation(
        benchmark=name, reason=reason, python=diffs["python"], native=diffs["native"], notes=tuple(notes)
    )


def explain_all(
    targets: Mapping[str, str], base: Mapping[str, SideProfiles], head: Mapping[str, SideProfiles]
) -> tuple[Explanation, ...]:
    """One explanation per ``targets`` entry (benchmark name -> reason), in that order."""
    return tuple(explain_benchmark(name, reason, base.get(name), head.get(name)) for name, reason in targets.items())


def explain_from_results(
    comparison: Any,
    base_settings: Mapping[str, Any],
    head_settings: Mapping[str, Any],
    settings: Any,
    where: tuple[str, str] = ("base results", "head results"),
) -> Any:
    """``comparison`` with the explanations its result files' profiles support (``benchwatch compare``).

    Only benchmarks profiled on both sides are explained; the profiles were
    taken by ``compare-refs`` for what it judged, so a re-rendered comparison
    explains the same benchmarks.
    """
    from benchwatch.explain.passes import explain_targets, profiles_from_settings

    base, head = profiles_from_settings(base_settings, where[0]), profiles_from_settings(head_settings, where[1])
    targets = {
        name: why for name, why in explain_targets(comparison, settings).items() if name in base and name in head
    }
    if not targets:
        return comparison
    return replace(comparison, explanations=explain_all(targets, base, head))
