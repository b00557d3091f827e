"""The command line: parses arguments, calls library functions, maps errors to exit codes.

Each sub-command lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed
arguments returning an exit code).  No statistics or I/O policy lives here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from benchwatch import __version__
from benchwatch.errors import EXIT_INPUT_ERROR, BenchwatchError

COMMAND_MODULES = (
    "benchwatch.cli.run_command",
    "benchwatch.cli.import_command",
    "benchwatch.cli.compare_command",
    "benchwatch.cli.compare_refs_command",
    "benchwatch.cli.cache_command",
    "benchwatch.cli.github_command",
    "benchwatch.cli.record_command",
    "benchwatch.cli.trend_command",
    "benchwatch.cli.history_command",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its one-line style
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT_ERROR, f"benchwatch: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="benchwatch", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"benchwatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BenchwatchError as error:
        print(f"benchwatch: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("benchwatch: interrupted", file=sys.stderr)
        return 130
