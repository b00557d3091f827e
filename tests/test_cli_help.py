"""The command line for users: one-screen help, help on every option, one meaning per flag, typos, completion."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from benchwatch.cli import build_parser, main
from benchwatch.cli.completion_command import completion_script
from benchwatch.cli.typos import check_arguments


def all_parsers(
    parser: argparse.ArgumentParser, path: str = "benchwatch"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from all_parsers(child, f"{path} {name}")


def commands() -> dict[str, argparse.ArgumentParser]:
    return dict(all_parsers(build_parser()))


def test_top_level_help_fits_one_screen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80, text
    for name in ("run", "compare", "compare-refs", "import", "completion"):
        assert any(line.startswith(f"  {name} ") for line in lines), name
    assert "benchwatch compare-refs" in text and "``" not in text


def test_every_option_and_argument_has_help_and_no_rest_markup() -> None:
    for path, parser in commands().items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction | argparse._VersionAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, f"{path} {name} has no help text"
        text = parser.format_help()
        for markup in ("``", ":func:", ":class:", ":mod:"):
            assert markup not in text, f"{path} --help shows {markup}"


def test_o_is_always_a_file_and_terminal_reports_take_no_color_and_all() -> None:
    for path, parser in commands().items():
        options = parser._option_string_actions
        if "-o" in options:
            assert options["-o"].dest == "output" and options["-o"].metavar in ("FILE", "OUT"), path
        if "--output-dir" in options:
            assert "-o" not in options or options["-o"].dest != "output_dir", path
        if "--format" in options and "terminal" in (options["--format"].choices or ()):
            assert "--no-color" in options and "--all" in options, path


def test_one_option_chooses_memory_runs() -> None:
    parsers = commands()
    for path in ("benchwatch run", "benchwatch compare-refs"):
        assert "--memory-runs" in parsers[path]._option_string_actions, path
    legacy = parsers["benchwatch run"]._option_string_actions["--no-memory"]
    assert legacy.help == argparse.SUPPRESS  # kept working, no longer advertised


def test_a_mistyped_option_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--treshold", "0.1", "a", "b"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown option --treshold; did you mean --threshold?" in err
    with pytest.raises(SystemExit):
        main(["comapre", "a", "b"])
    assert "unknown command 'comapre'; did you mean compare?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["history", "prnue", "--history", "h"])
    assert "did you mean prune?" in capsys.readouterr().err


def test_values_that_look_like_options_are_not_typos() -> None:
    parser = build_parser()
    check_arguments(parser, ["run", "--pytest-arg", "-x", "-k", "-slow", "--runs=3"])
    check_arguments(parser, ["compare", "--thresh", "0.2", "--threshold", "-0.5", "a", "b"])
    check_arguments(parser, ["compare", "a", "--", "--not-an-option"])
    check_arguments(parser, ["run", "-qk", "parse"])


def test_bash_completion_completes_commands_options_and_choices() -> None:
    script = completion_script("bash", {name.split()[-1]: p for name, p in commands().items() if name.count(" ") == 1})
    bash = shutil.which("bash")
    assert bash is not None

    def complete(*words: str) -> list[str]:
        line = " ".join(repr(word) if word else "''" for word in words)
        program = f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _benchwatch; echo "${{COMPREPLY[@]}}"'
        done = subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True, timeout=30)
        return done.stdout.split()

    assert complete("benchwatch", "comp") == ["compare", "compare-refs", "completion"]
    assert complete("benchwatch", "compare", "--thr") == ["--threshold"]
    assert complete("benchwatch", "compare", "--format", "p") == ["pr-comment"]
    assert "--no-memory" not in complete("benchwatch", "run", "--")
    assert completion_script("zsh", {}).startswith("autoload -U +X bashcompinit && bashcompinit\n")


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert "complete -o default -o filenames -F _benchwatch benchwatch" in out and "compare-refs" in out


@pytest.mark.parametrize(
    ("command", "modules"),
    [
        ("trend", ["trend_command"]),
        ("record", ["record_command"]),
        ("history", ["history_command"]),
        ("compare", ["compare_command"]),
        # compare-refs shares cache's option definitions; it renders through render.formats, not compare's module
        ("merge-shards", ["cache_command", "compare_refs_command"]),
    ],
)
def test_a_command_imports_only_its_own_module_and_help_still_lists_every_command(
    command: str, modules: list[str]
) -> None:
    # In a fresh interpreter: this test process has imported every command module already.
    code = (
        "import sys; from benchwatch import cli\n"
        f"parser = cli.build_parser({command!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('benchwatch.cli.') and m.endswith('_command')))\n"
        "print(parser.format_help())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, help_text = done.stdout.split("\n", 1)
    assert loaded == repr([f"benchwatch.cli.{name}" for name in modules])
    assert help_text.strip() == build_parser().format_help().strip()


def test_the_command_table_agrees_with_what_each_module_registers() -> None:
    from benchwatch.cli import COMMAND_MODULES, COMMANDS

    registered = {
        name: choice.help
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, choice in zip(action.choices, action._choices_actions, strict=True)
    }
    assert registered == {name: help_text for name, (_, help_text) in COMMANDS.items()}
    assert {module for module, _ in COMMANDS.values()} == set(COMMAND_MODULES)


def test_the_trend_command_does_not_import_the_comparator() -> None:
    code = (
        "import sys; from benchwatch import cli; cli.build_parser('trend')\n"
        "import benchwatch.render.trend.site, benchwatch.render\n"
        "print(sorted(m for m in sys.modules if m.startswith(('benchwatch.compar', 'scipy'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the verdict vocabulary the renderers share (an enum, through the package's lazy __init__), nothing more
    assert done.stdout.strip() == "['benchwatch.compare', 'benchwatch.compare.verdict']"
