"""The command line: parses arguments, calls library functions, maps errors to exit codes.

Each sub-command lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed
arguments returning an exit code).  No statistics or I/O policy lives here.

Only the module of the command being run is imported: importing all of them
(numpy, the comparator, jinja2, ...) delayed every ``trend`` or ``record``
(docs/reliability.md).  The other commands appear in the top-level
help from the one-line table :data:`COMMANDS` (a test checks that it agrees
with what each module registers).
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from benchwatch import __version__
from benchwatch.cli.typos import check_arguments
from benchwatch.errors import EXIT_INPUT_ERROR, BenchwatchError

COMMAND_MODULES = (
    "benchwatch.cli.run_command",
    "benchwatch.cli.compare_command",
    "benchwatch.cli.compare_refs_command",
    "benchwatch.cli.import_command",
    "benchwatch.cli.cache_command",
    "benchwatch.cli.github_command",
    "benchwatch.cli.record_command",
    "benchwatch.cli.trend_command",
    "benchwatch.cli.history_command",
    "benchwatch.cli.completion_command",
)

# command -> (module registering it, its one-line help), in the order --help lists them.
COMMANDS = {
    "run": ("benchwatch.cli.run_command", "measure the suites in fresh processes into a result file"),
    "compare": ("benchwatch.cli.compare_command", "verdicts: head results against base results"),
    "compare-refs": ("benchwatch.cli.compare_refs_command", "run two git revisions interleaved, then compare them"),
    "merge-shards": ("benchwatch.cli.compare_refs_command", "combine the results of compare-refs --shard runs"),
    "import": ("benchwatch.cli.import_command", "read pytest-benchmark, pyperf, Go, ... output into one result"),
    "cache": ("benchwatch.cli.cache_command", "show or delete compare-refs' cached checkouts and environments"),
    "github-report": ("benchwatch.cli.github_command", "post the PR comment, check run and job summary to GitHub"),
    "github-gate": ("benchwatch.cli.github_command", "a measuring job's step outputs, job summary and gate"),
    "record": ("benchwatch.cli.record_command", "add a result of main (or a tag) to a history directory"),
    "trend": ("benchwatch.cli.trend_command", "write the trend report of a history (static files)"),
    "history": ("benchwatch.cli.history_command", "import pyperf or asv results, list, show or prune a history"),
    "completion": ("benchwatch.cli.completion_command", "print a shell completion script (bash, zsh)"),
}

DESCRIPTION = """\
Benchmark your pytest-benchmark suite in fresh processes and learn, with
statistics that hold up on noisy machines, whether a change made it slower."""

START_HERE = """\
start here, in a git repository with pytest-benchmark tests:
  benchwatch compare-refs     HEAD against where it branched off main: verdicts
  benchwatch run -o a.json    measure; then: benchwatch compare a.json b.json"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        # Descriptions often come from module docstrings: show them without reST markup.
        description = kwargs.get("description")
        if isinstance(description, str):
            kwargs["description"] = re.sub(r"``([^`]*)``", r"\1", description)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; one line, as every usage error
        self.exit(EXIT_INPUT_ERROR, f"benchwatch: error: {message} (see: {self.prog} --help)\n")


class _TopParser(_Parser):
    def format_help(self) -> str:
        """One screen: what benchwatch is, where to start, the commands in one line each."""
        commands = []
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                commands = [(choice.dest, choice.help or "") for choice in action._choices_actions]
        width = max(len(name) for name, _ in commands) + 2
        lines = [f"usage: {self.prog} [-h] [--version] COMMAND [options]   (then: COMMAND -h)", ""]
        lines += [DESCRIPTION, "", START_HERE, "", "commands:"]
        lines += [f"  {name.ljust(width)}{text}" for name, text in commands]
        lines += ["", "exit codes: 0 fine, 1 gated regression, 2 usage or input error, 3 failed run"]
        return "\n".join(lines) + "\n"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, only that command's module is imported (the rest are one-line stubs)."""
    parser = _TopParser(prog="benchwatch", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"benchwatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    wanted = COMMANDS[command][0] if command in COMMANDS else None
    registered: set[str] = set()
    for name, (module_name, help_text) in COMMANDS.items():
        if module_name not in COMMAND_MODULES:
            continue
        if wanted is None or module_name == wanted:
            if module_name not in registered:
                importlib.import_module(module_name).register(subparsers)
                registered.add(module_name)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def _command_of(arguments: Sequence[str]) -> str | None:
    """The command named on the command line (top-level options take no value), if it is one we know."""
    for token in arguments:
        if not token.startswith("-"):
            # completion describes every command's options, so it needs them all.
            return token if token in COMMANDS and token != "completion" else None
    return None


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
        arguments = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(_command_of(arguments))
        check_arguments(parser, arguments)
        args = parser.parse_args(arguments)
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
