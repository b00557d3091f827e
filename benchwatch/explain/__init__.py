"""Explain a change: the functions behind each gated regression and improvement (docs/explain.md).

Steps, in the order data flows: ``collect`` (inside a worker: cProfile or
Callgrind around the benchmarked call) -> ``passes`` (the profiling processes
of each side, within the time budget) -> ``diff`` (base against head per
function, ranked) -> ``records`` (the frozen results the comparison carries).
"""
