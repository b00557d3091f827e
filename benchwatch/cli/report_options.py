"""Report options shared by ``compare`` and ``compare-refs``: how wide names may be, and ``--write FORMAT:FILE``."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from benchwatch.errors import UsageError
from benchwatch.render.formats import FORMATS


def add_wide_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wide",
        action="store_true",
        help="terminal: benchmark names whole, however wide the terminal (piped output always has them whole)",
    )


def terminal_width(args: argparse.Namespace, output: Path | None = None) -> int | None:
    """Columns the terminal report may use; None (names whole) for --wide, a file or a pipe."""
    if getattr(args, "wide", False) or output is not None or not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def parse_write(item: str) -> tuple[str, Path]:
    """``FORMAT:FILE`` of ``--write``, checked."""
    report_format, _, path = item.partition(":")
    if report_format not in FORMATS or not path:
        raise UsageError(f"--write takes FORMAT:FILE with FORMAT one of {', '.join(FORMATS)}, got {item!r}")
    return report_format, Path(path)
