"""'Did you mean' for mistyped commands and options, checked before argparse parses.

argparse alone turns ``compare --treshold 0.1 a b`` into "unrecognized
arguments: --treshold b" (it took 0.1 and a as the two files).  Walking the
arguments with each parser's own option table finds the unknown option
itself, and difflib offers the nearest known one.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _looks_like_option(token: str) -> bool:
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False  # a negative number is a value


def _values_taken(action: argparse.Action, token: str) -> int:
    """How many of the following arguments the option ``token`` consumes (0 when given as --opt=value)."""
    if "=" in token or action.nargs == 0:
        return 0
    if action.nargs in (None, "?") or action.nargs == argparse.OPTIONAL:
        return 1
    if isinstance(action.nargs, int):
        return action.nargs
    return 1


def _suggestion(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _known_option(parser: argparse.ArgumentParser, token: str) -> argparse.Action | None:
    options = parser._option_string_actions
    key = token.split("=", 1)[0]
    if key in options:
        return options[key]
    if not key.startswith("--") and key[:2] in options:
        return options[key[:2]]  # -kEXPR or -qv style
    if key.startswith("--"):
        prefixed = {options[name] for name in options if name.startswith(key)}
        if len(prefixed) == 1:  # argparse accepts unambiguous abbreviations
            return prefixed.pop()
    return None


def check_arguments(parser: argparse.ArgumentParser, arguments: Sequence[str]) -> None:
    """Call ``parser.error`` (exit 2, one line) at the first unknown command or option, with a suggestion."""
    commands = _subcommands(parser)
    index = 0
    while index < len(arguments):
        token = arguments[index]
        if token == "--":
            return
        if _looks_like_option(token):
            action = _known_option(parser, token)
            if action is None:
                key = token.split("=", 1)[0]
                long_options = [name for name in parser._option_string_actions if name.startswith("--")]
                parser.error(f"unknown option {key}{_suggestion(key, long_options)}")
                return
            index += 1 + _values_taken(action, token)
            continue
        if commands:
            if token not in commands:
                parser.error(f"unknown command {token!r}{_suggestion(token, list(commands))}")
                return
            check_arguments(commands[token], arguments[index + 1 :])
            return
        index += 1
