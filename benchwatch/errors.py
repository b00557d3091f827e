"""Errors that the CLI maps to documented exit codes.

Every error carries a one-line message that names the file (or option) and
the problem; the CLI prints it without a traceback.

Exit codes (documented in the README):
    0  success, no gated regression
    1  a gated regression was found (``compare``)
    2  usage or input error: bad option, unreadable/corrupt/unknown file
    3  ``run`` finished but one or more benchmarks failed (raised, crashed or
       timed out); the result file was still written with their errors
    4  nothing could be judged: ``run``: every benchmark failed;
       ``compare``/``compare-refs``: every benchmark of a side failed, or no
       gated metric had the data for a verdict
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_INPUT_ERROR = 2
EXIT_BENCHMARK_FAILED = 3
EXIT_NOTHING_JUDGED = 4


class BenchwatchError(Exception):
    """Base class: a problem the user can act on, with a one-line message."""

    exit_code = EXIT_INPUT_ERROR


class UsageError(BenchwatchError):
    """A bad command-line option or configuration value."""


class InputError(BenchwatchError):
    """A file that cannot be read as what it was given as."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(BenchwatchError):
    """A bad ``[tool.benchwatch]`` section."""
