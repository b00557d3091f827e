"""The explanation in the HTML report: a differential icicle chart of the Python calls, and tables.

The chart is our own SVG (no library): the benchmarked call at the top,
each function below its caller, as wide as its inclusive cost per call of
the benchmark (cProfile's caller-callee times).  Both sides share one scale,
so head's chart is wider when head does more.  A function's colour says how
its *own* cost changed: red more, blue less, dark red new, dark blue gone,
grey unchanged within the noise floor.  Radio buttons switch between the
head and base charts without scripts.  Every name and path is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import markupsafe

from benchwatch.explain.records import Change, Explanation, FunctionChange, Profile, ProfileDiff
from benchwatch.render.explain_report import calls_text, compact_cost, where

WIDTH = 900.0
ROW = 17.0
MAX_DEPTH = 14
#: Frames narrower than this share of the chart are not drawn (nor their callees).
MIN_SHARE = 0.004
CHAR_WIDTH = 6.6
TABLE_ROWS = 12


@dataclass(frozen=True)
class _Frame:
    x: float
    depth: int
    width: float
    index: int


def _roots(profile: Profile) -> list[tuple[int, float]]:
    """(function, inclusive cost) of the functions no profiled function calls: the benchmarked call's top."""
    called = {callee for function in profile.functions for callee, _, _ in function.callees}
    roots = []
    for index, function in enumerate(profile.functions):
        if index not in called:
            roots.append((index, function.own + sum(cost for _, _, cost in function.callees)))
    return sorted(roots, key=lambda item: -item[1])


def layout(profile: Profile, scale: float) -> list[_Frame]:
    """The frames of the icicle: depth-first, children left to right by cost, recursion cut at a repeat."""
    frames: list[_Frame] = []
    if scale <= 0:
        return frames

    def place(index: int, cost: float, x: float, depth: int, path: frozenset[int]) -> None:
        width = cost / scale * WIDTH
        if width < MIN_SHARE * WIDTH or depth >= MAX_DEPTH:
            return
        frames.append(_Frame(x=x, depth=depth, width=width, index=index))
        child_x, room = x, cost
        for callee, _, inclusive in sorted(profile.functions[index].callees, key=lambda edge: -edge[2]):
            if callee in path:
                continue  # recursion: the callee's time is already inside this frame
            share = min(inclusive, room)  # timer rounding must not push children past their caller
            place(callee, share, child_x, depth + 1, path | {callee})
            child_x += share / scale * WIDTH
            room -= share

    x = 0.0
    for index, cost in _roots(profile):
        place(index, cost, x, 0, frozenset({index}))
        x += cost / scale * WIDTH
    return frames


def _colour(change: FunctionChange | None, floor: float) -> str:
    if change is None or (abs(change.delta) <= floor and not change.calls_changed):
        return "#c9c9c9"
    if change.change == Change.ADDED:
        return "#a50f15"
    if change.change == Change.REMOVED:
        return "#08519c"
    strength = min(1.0, abs(math.log(max(change.ratio, 1e-9))) / math.log(3.0))
    if change.delta > 0:
        return f"rgb(255,{int(200 - 140 * strength)},{int(190 - 140 * strength)})"
    return f"rgb({int(190 - 140 * strength)},{int(200 - 110 * strength)},255)"


def _svg(profile: Profile, scale: float, changes: Mapping[tuple[str, str], FunctionChange], floor: float) -> str:
    frames = layout(profile, scale)
    height = (max((frame.depth for frame in frames), default=0) + 1) * ROW
    parts = [
        f'<svg class="icicle" viewBox="0 0 {WIDTH:.0f} {height:.0f}" width="100%" role="img" '
        f'aria-label="icicle chart of Python calls">'
    ]
    for frame in frames:
        function = profile.functions[frame.index]
        change = changes.get(function.key)
        own, calls = compact_cost(function.own, profile.unit), calls_text(function.calls)
        tip = f"{function.name} · {where(function.file, function.line)} · own {own} · calls/call {calls}"
        if change is not None:
            tip += f" · own change {compact_cost(change.delta, profile.unit, signed=True)}"
        label = function.name
        fits = int((frame.width - 4) / CHAR_WIDTH)
        label = label if len(label) <= fits else (label[: max(0, fits - 1)] + "…" if fits > 2 else "")
        y = frame.depth * ROW
        parts.append(
            f'<g><title>{markupsafe.escape(tip)}</title><rect x="{frame.x:.1f}" y="{y:.0f}" '
            f'width="{max(frame.width - 0.5, 0.5):.1f}" height="{ROW - 1:.0f}" fill="{_colour(change, floor)}"/>'
            f'<text x="{frame.x + 2:.1f}" y="{y + ROW - 5:.0f}">{markupsafe.escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(diff: ProfileDiff, caption: str) -> str:
    rows = diff.changes[:TABLE_ROWS]
    if not rows:
        return f'<p class="note">{markupsafe.escape(caption)}: no function changed.</p>'
    body = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            markupsafe.escape(change.name),
            markupsafe.escape(where(change.file, change.line)),
            markupsafe.escape(compact_cost(change.base_own, diff.unit)),
            markupsafe.escape(compact_cost(change.head_own, diff.unit)),
            markupsafe.escape(compact_cost(change.delta, diff.unit, signed=True)),
            markupsafe.escape(f"{calls_text(change.base_calls)} → {calls_text(change.head_calls)}"),
        )
        for change in rows
    )
    return (
        f'<table class="explain"><caption>{markupsafe.escape(caption)}</caption><thead><tr><th>function</th>'
        "<th>where</th><th>own, base</th><th>own, head</th><th>change</th><th>calls per call</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def explanation_html(explanation: Explanation, anchor: str) -> markupsafe.Markup:
    """One benchmark's explanation: the differential icicle (head/base toggle), the top changes, notes."""
    parts = ['<div class="explain"><h4>Why: the functions behind the change</h4>']
    python = explanation.python
    if python is not None and python.base_profile is not None and python.head_profile is not None:
        changes = {(change.name, change.file): change for change in python.changes}
        floor = 0.03 * max(python.base_total, python.head_total)
        scale = max(_width_of(python.base_profile), _width_of(python.head_profile))
        group = f"icicle-{anchor}"
        parts.append(
            f'<div class="icicles"><input type="radio" name="{group}" id="{group}-head" checked>'
            f'<label for="{group}-head">head</label><input type="radio" name="{group}" id="{group}-base">'
            f'<label for="{group}-base">base</label>'
            f'<div class="icicle-head">{_svg(python.head_profile, scale, changes, floor)}</div>'
            f'<div class="icicle-base">{_svg(python.base_profile, scale, changes, floor)}</div></div>'
            '<p class="note">Width: inclusive time per call of the benchmark under cProfile (one scale for both '
            "sides). Colour: change in the function's own time (red more, blue less, dark red new, dark blue "
            "gone, grey within the noise).</p>"
        )
    captions = ("Python functions (cProfile, own time)", "native functions (Callgrind, own instructions)")
    for diff, caption in zip((python, explanation.native), captions, strict=True):
        if diff is not None:
            parts.append(_table(diff, caption))
    parts.extend(f'<p class="note">{markupsafe.escape(note)}</p>' for note in explanation.notes)
    parts.append("</div>")
    return markupsafe.Markup("".join(parts))


def _width_of(profile: Profile) -> float:
    return sum(cost for _, cost in _roots(profile))
