"""compare-refs on a realistic project, as a user runs it: no flags, defaults, and failure modes.

The project has a src/ layout, unit tests beside its benchmarks, and a root
conftest.py importing a test-only dependency (PyYAML, which benchwatch's
test extra installs; hypothesis plays that role in the project that
prompted this).  compare-refs runs from inside the repository with no
arguments: base is the merge base with main, head is HEAD.  The project's
config turns the instruction pass off (the gate is p50): the literal defaults,
counts included, are tests/test_readme_quickstart.py's, and counting here
cost a minute of the suite.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from test_codspeed_forms import machine_was_busy

from benchwatch.cli import main
from benchwatch.errors import EXIT_INPUT_ERROR, EXIT_NOTHING_JUDGED, EXIT_OK, EXIT_REGRESSION

pytestmark = pytest.mark.slow  # compare-refs on a real git project

LIBRARY = textwrap.dedent(
    """
    def checksum(n):
        total = 0
        for value in range(n):
            total = (total * 31 + value) % 1_000_003
        return total

    def tokenize():
        return checksum({size})

    def render():
        return checksum(4_000)
    """
)
PYPROJECT = textwrap.dedent(
    """
    [project]
    name = "tinyparse"
    version = "0.1"
    [project.optional-dependencies]
    test = ["pyyaml"]
    [tool.pytest.ini_options]
    testpaths = ["tests"]
    [tool.benchwatch]
    suites = ["benchmarks"]
    timeout = 120
    instructions = false
    sample_budget = 3
    pytest_args = ["--benchmark-min-rounds=30", "--benchmark-max-time=0.05"]
    [tool.benchwatch.compare]
    gate = ["p50"]
    """
)
CONFTEST = (
    "import yaml  # a test-only dependency, as hypothesis is for many projects\n\n"
    "SETTINGS = yaml.safe_load('profile: ci')\n"
)
BENCHMARKS = textwrap.dedent(
    """
    from tinyparse import core

    def test_tokenize(benchmark):
        assert benchmark(core.tokenize) >= 0

    def test_render(benchmark):
        assert benchmark(core.render) >= 0
    """
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("tinyparse")
    (repo / "src" / "tinyparse").mkdir(parents=True)
    (repo / "src" / "tinyparse" / "__init__.py").write_text("")
    (repo / "src" / "tinyparse" / "core.py").write_text(LIBRARY.format(size=4_000))
    (repo / "tests").mkdir()
    (repo / "tests" / "test_core.py").write_text(
        "from tinyparse import core\n\ndef test_render():\n    assert core.render()\n"
    )
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_speed.py").write_text(BENCHMARKS)
    (repo / "conftest.py").write_text(CONFTEST)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text("results/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.invalid")
    _git(repo, "config", "user.name", "Dev")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "tinyparse 0.1")
    _git(repo, "checkout", "-qb", "feature")
    (repo / "src" / "tinyparse" / "core.py").write_text(LIBRARY.format(size=8_000))  # tokenize: 2x the work
    _git(repo, "commit", "-qam", "tokenize handles more cases")
    return repo


def test_compare_refs_without_flags_compares_the_merge_base_with_head(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(project)
    code = main(["compare-refs", "--format", "json"])
    captured = capsys.readouterr()
    base7, head7 = _git(project, "rev-parse", "--short=7", "main"), _git(project, "rev-parse", "--short=7", "HEAD")
    assert f"base: merge base of main and HEAD: {base7} tinyparse 0.1" in captured.err
    assert f"head: HEAD: {head7} tokenize handles more cases" in captured.err
    report = json.loads(captured.out)
    rows = {(row["benchmark"].split("::")[-1], row["metric"]): row for row in report["comparisons"]}
    changed, unchanged = rows[("test_tokenize", "p50")], rows[("test_render", "p50")]
    assert changed["ratio"] > 1.3 and unchanged["verdict"] != "regression"
    # A loaded machine makes benchwatch call the runs disturbed (inconclusive) instead of guessing.
    assert changed["verdict"] == "regression" or machine_was_busy(report, changed), (changed, report["warnings"])
    assert code == (EXIT_REGRESSION if changed["verdict"] == "regression" else EXIT_OK)
    assert (project / "results" / "compare-refs" / f"{base7}-{head7}" / "head.json.gz").is_file()
    # The repository is left as it was: no worktree registered, no cache inside it.
    assert len(_git(project, "worktree", "list").splitlines()) == 1
    assert not (project / ".benchwatch-cache").exists()
    # The checkouts live in the user cache, and `benchwatch cache` shows and deletes them.
    assert main(["cache", "info"]) == EXIT_OK
    info = capsys.readouterr().out
    assert f"cache of {project}" in info and "trees" in info and str(project / ".benchwatch") not in info
    assert main(["cache", "clean"]) == EXIT_OK
    assert "removed" in capsys.readouterr().out
    assert main(["cache", "info"]) == EXIT_OK
    assert "empty" in capsys.readouterr().out


def test_missing_test_dependency_is_named(project: Path, capsys) -> None:
    _git(project, "checkout", "-qb", "needs-plugin", "main")
    (project / "conftest.py").write_text("import tinyparse_test_helpers_not_installed\n")
    _git(project, "commit", "-qam", "conftest needs a helper package")
    try:
        code = main(["compare-refs", "main", "needs-plugin", "--repo", str(project), "-q"])
    finally:
        _git(project, "checkout", "-q", "feature")
    assert code == EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert "the suite imports 'tinyparse_test_helpers_not_installed', which is not installed" in err
    assert len(err.strip().splitlines()) == 1


def test_head_against_itself_is_refused_unless_asked(project: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(project)
    _git(project, "checkout", "-q", "main")
    try:
        code = main(["compare-refs", "-q"])
    finally:
        _git(project, "checkout", "-q", "feature")
    assert code == EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert "are the same commit" in err and "--allow-same" in err


def test_outside_config_outside_suite_and_one_folder_per_pair(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # A suite kept outside the repository measures each checkout's code (the tree is on the path).
    suite = tmp_path / "outside_suite"
    suite.mkdir()
    (suite / "test_outside.py").write_text(
        "from tinyparse import core\n\ndef test_render_outside(benchmark):\n    benchmark(core.render)\n"
    )
    config = tmp_path / "elsewhere.toml"
    config.write_text(
        f'[tool.benchwatch]\nsuites = ["{suite}"]\ntimeout = 60\nmemory = false\ninstructions = false\n'
        'pytest_args = ["--benchmark-min-rounds=10", "--benchmark-max-time=0.01"]\n'
    )
    monkeypatch.chdir(project)
    arguments = ["compare-refs", "HEAD", "HEAD", "--allow-same", "--config", str(config), "--looks", "2"]
    arguments += ["--memory-runs", "0", "-q", "--format", "json"]
    head7 = _git(project, "rev-parse", "--short=7", "HEAD")
    for folder in (f"{head7}-{head7}", f"{head7}-{head7}-2"):
        code = main(arguments)
        report = json.loads(capsys.readouterr().out)
        # The claim is where the suite, config and results live: 2 runs of identical code on a busy
        # machine may leave p50 undecided (exit 4, nothing judged), never a change.
        assert code in (EXIT_OK, EXIT_NOTHING_JUDGED)
        assert all(row["verdict"] in ("unchanged", "inconclusive") for row in report["comparisons"] if row["gated"])
        names = [row["benchmark"] for row in report["comparisons"] if row["metric"] == "p50"]
        assert len(names) == 1 and names[0].endswith("outside_suite/test_outside.py::test_render_outside")
        assert (project / "results" / "compare-refs" / folder / "base.json.gz").is_file()


def test_every_benchmark_failing_exits_four_with_a_headline(project: Path, capsys) -> None:
    _git(project, "checkout", "-qb", "broken", "main")
    (project / "src" / "tinyparse" / "core.py").write_text(
        "def tokenize():\n    raise ValueError('broken')\n\nrender = tokenize\n"
    )
    _git(project, "commit", "-qam", "broken")
    _git(project, "checkout", "-q", "feature")
    code = main(
        ["compare-refs", "main", "broken", "--repo", str(project), "--looks", "2,3", "--memory-runs", "0", "-q"]
    )
    captured = capsys.readouterr()
    assert code == EXIT_NOTHING_JUDGED
    assert captured.out.startswith("NOTHING MEASURED: every benchmark of head failed")
    assert "ValueError: broken" in captured.out
    assert "stopped: nothing measured" in captured.err


def test_cache_clean_unregisters_worktrees_older_versions_left_in_the_repository(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "old"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=a@b.invalid", "-c", "user.name=A", "commit", "-q", "--allow-empty", "-m", "one")
    _git(repo, "worktree", "add", "-q", "--detach", str(repo / ".benchwatch-cache" / "worktrees" / "abc"), "HEAD")
    (repo / ".benchwatch-cache" / "workload").mkdir()  # not compare-refs' own: stays
    assert len(_git(repo, "worktree", "list").splitlines()) == 2
    assert main(["cache", "clean", "--repo", str(repo)]) == EXIT_OK
    assert "removed 1 cache folders" in capsys.readouterr().out
    assert len(_git(repo, "worktree", "list").splitlines()) == 1
    assert not (repo / ".benchwatch-cache" / "worktrees").exists()
    assert (repo / ".benchwatch-cache" / "workload").is_dir()
