"""The command line: parses arguments, calls library functions, maps errors to exit codes.

Each sub-command lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed
arguments returning an exit code).  No statistics or I/O policy lives here.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

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


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C so workers and temporary files are cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated(signum)


def _install_signal_handlers() -> dict[int, Any]:
    # Python's default for SIGTERM is to die on the spot: no finally blocks, so
    # a `run` would leave its worker process and temporary directory behind.
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, _raise_terminated)
    return previous


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None) -> int:
    # Handlers first: a signal while the command modules load is reported like any other.
    previous = _install_signal_handlers()
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except BenchwatchError as error:
        print(f"benchwatch: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("benchwatch: interrupted", file=sys.stderr)
        return 130
    except Terminated as stop:
        print(f"benchwatch: terminated by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    except RecursionError:
        # A library deeper than our own readers met a pathologically nested input.
        print("benchwatch: error: input nested too deeply to process", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except OSError as error:
        # A file-system failure the command did not anticipate: an input/environment problem, never "regression".
        where = f"{error.filename}: " if error.filename else ""
        print(f"benchwatch: error: {where}{error.strerror or _one_line(error)}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
