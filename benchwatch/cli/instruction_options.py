"""``--instructions/--no-instructions`` and friends, shared by ``run`` and ``compare-refs``."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Mapping

from benchwatch.compare.instructions import EXACT_SPREAD_SHARE
from benchwatch.compare.settings import DEFAULT_METRIC_THRESHOLDS, CompareSettings
from benchwatch.config import ProjectConfig
from benchwatch.runner.instructions import InstructionSettings

DEFAULT_THRESHOLD = DEFAULT_METRIC_THRESHOLDS["instructions"]

MISSING_NOTE = (
    "instruction pass skipped: valgrind not found on PATH "
    "(install the Debian package valgrind, or run bash scripts/system-deps.sh as root)"
)


def add_instruction_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instructions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="count each benchmark's instructions per call under Valgrind's Callgrind "
        "(default: on when valgrind is on PATH)",
    )
    parser.add_argument(
        "--instruction-runs", type=int, metavar="N", help="Callgrind processes per benchmark (default 2)"
    )
    parser.add_argument(
        "--warm-instructions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fork each counted process from a warm parent that started under Callgrind once "
        "(default); --no-warm-instructions: a fresh worker per benchmark and run, for fixtures that "
        "do not survive a fork",
    )
    parser.add_argument(
        "--max-instruction-runs",
        type=int,
        metavar="N",
        help="up to N processes for a benchmark whose counts differ between processes (default 6)",
    )
    parser.add_argument(
        "--counted-calls", type=int, metavar="N", help="calls counted per benchmark and process (default 1)"
    )
    parser.add_argument(
        "--cycles",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="simulate caches for an estimated-cycles figure (about 2x slower pass; default off)",
    )


def instruction_settings(
    args: argparse.Namespace,
    config: ProjectConfig,
    *,
    timeout: float,
    threshold: float = DEFAULT_THRESHOLD,
    benchmark_thresholds: Mapping[str, float] | None = None,
) -> tuple[InstructionSettings | None, str | None]:
    """(settings of the pass or None when it is off, a note to print when it was skipped).

    ``threshold`` is the comparison's instructions threshold and
    ``benchmark_thresholds`` its per-benchmark overrides: a benchmark gets
    more runs when its runs spread wider than the exact rule allows at its
    threshold, i.e. exactly when it would need the run-level test.
    """
    wanted = args.instructions if args.instructions is not None else config.get("instructions", None)
    valgrind = shutil.which("valgrind")
    if wanted is False:
        return None, None
    if valgrind is None and wanted is None:
        return None, MISSING_NOTE
    defaults = InstructionSettings(valgrind=None)
    runs = args.instruction_runs if args.instruction_runs is not None else config.get("instruction_runs", defaults.runs)
    most = args.max_instruction_runs
    settings = InstructionSettings(
        valgrind=valgrind,
        runs=runs,
        max_runs=most if most is not None else config.get("max_instruction_runs", max(runs, defaults.max_runs)),
        counted_calls=args.counted_calls
        if args.counted_calls is not None
        else config.get("counted_calls", defaults.counted_calls),
        cache_sim=args.cycles if args.cycles is not None else config.get("cycles", False),
        timeout=timeout,
        setarch=shutil.which("setarch"),
        agree=EXACT_SPREAD_SHARE * threshold,
        agree_per_benchmark={name: EXACT_SPREAD_SHARE * value for name, value in (benchmark_thresholds or {}).items()},
        keep_env=tuple(config.get("instruction_env", ())),
        warm_parent=_warm(args, config, defaults.warm_parent),
    )
    return settings, None


def _warm(args: argparse.Namespace, config: ProjectConfig, default: bool) -> bool:
    wanted = getattr(args, "warm_instructions", None)  # absent from commands that predate the option
    return bool(config.get("warm_instructions", default) if wanted is None else wanted)


def instruction_thresholds(settings: CompareSettings) -> tuple[float, dict[str, float]]:
    """The instructions threshold the comparison will use: (the default, per-benchmark overrides)."""
    overrides = {
        name: float(table["instructions"])
        for name, table in settings.benchmark_thresholds.items()
        if "instructions" in table
    }
    return settings.threshold_for("", "instructions"), overrides
