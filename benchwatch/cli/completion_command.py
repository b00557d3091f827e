"""``benchwatch completion bash|zsh``: print a shell completion script.

The script is generated from the argument parser itself (commands, their
options and the choices of options such as ``--format``), so it needs no
extra package at completion time and never runs Python while completing:

    eval "$(benchwatch completion bash)"     # in ~/.bashrc
    eval "$(benchwatch completion zsh)"      # in ~/.zshrc
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh)",
        description='Print a completion script for your shell. Use: eval "$(benchwatch completion bash)" in '
        '~/.bashrc, or eval "$(benchwatch completion zsh)" in ~/.zshrc.',
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=handle, completion_root=subparsers)
    return parser


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(
        name
        for name, action in parser._option_string_actions.items()
        if name.startswith("--") and action.help != argparse.SUPPRESS
    )


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    return {
        name: [str(choice) for choice in action.choices]
        for name, action in parser._option_string_actions.items()
        if action.choices
    }


def bash_script(commands: dict[str, argparse.ArgumentParser]) -> str:
    """A bash completion function for ``benchwatch`` over ``commands`` (name -> its parser)."""
    cases, choice_cases = [], []
    for name, parser in commands.items():
        words = _options(parser) + list(_subcommands(parser))
        cases.append(f"        {shlex.quote(name)}) words={shlex.quote(' '.join(words))} ;;")
        for option, choices in _choices(parser).items():
            choice_cases.append(
                f"        {shlex.quote(name + ' ' + option)}) words={shlex.quote(' '.join(choices))} ;;"
            )
    top = " ".join([*commands, "--help", "--version"])
    return "\n".join(
        [
            "# benchwatch completion for bash (from `benchwatch completion bash`)",
            "_benchwatch() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" words="" i',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac',
            "    done",
            '    if [[ -z "$cmd" ]]; then',
            f'        COMPREPLY=($(compgen -W {shlex.quote(top)} -- "$cur")); return',
            "    fi",
            '    case "$cmd $prev" in',
            *choice_cases,
            "    esac",
            '    if [[ -n "$words" ]]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); return; fi',
            '    case "$cmd" in',
            *cases,
            "    esac",
            '    if [[ "$cur" == -* || "$cmd" == history && "$prev" == history ]]; then',
            '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "    else",
            '        COMPREPLY=($(compgen -f -- "$cur"))',
            "    fi",
            "}",
            "complete -o default -o filenames -F _benchwatch benchwatch",
            "",
        ]
    )


def completion_script(shell: str, commands: dict[str, argparse.ArgumentParser]) -> str:
    """The completion script for ``shell`` (zsh runs the bash one through bashcompinit)."""
    if shell not in SHELLS:
        raise ValueError(f"unknown shell {shell!r}")
    script = bash_script(commands)
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


def handle(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell, dict(args.completion_root.choices)))
    return 0
