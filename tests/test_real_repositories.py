"""compare-refs on the edges a real repository has (issue 26): concurrent runs on a cold cache,
submodules, shallow clones, untracked benchmark files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_compare_refs import _git, init_project

from benchwatch.cli import main
from benchwatch.errors import InputError
from benchwatch.refs.worktrees import checkout, merge_base, resolve_commit


def _project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    init_project(repo)
    (repo / "mylib.py").write_text((repo / "mylib.py").read_text() + "\n# second\n")
    _git(repo, "commit", "-qam", "second")
    return repo


# -- two compare-refs at once on an empty cache ----------------------------------------------------------

CHECKOUT_BOTH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from benchwatch.refs.worktrees import checkout
    repo, cache, start = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    time.sleep(max(0.0, start - time.time()))  # all four begin together
    for ref in ("HEAD~1", "HEAD"):
        tree = checkout(repo, ref, cache).path
        assert (tree / "mylib.py").is_file(), tree
    print("ok")
    """
)


def test_four_processes_check_out_into_one_cold_cache(tmp_path: Path) -> None:
    """5 of 12 concurrent compare-refs failed with raw git errors (`….partial already exists`)."""
    import time

    repo = _project(tmp_path)
    cache = tmp_path / "cache"
    start = time.time() + 1.5
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CHECKOUT_BOTH, str(repo), str(cache), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0 and out.strip() == "ok", err[-2000:]
    trees = sorted(path.name for path in (cache / "trees").iterdir() if path.is_dir())
    assert len(trees) == 2 and not any(name.endswith(".partial") for name in trees)


# -- submodules --------------------------------------------------------------------------------------------


def test_submodules_are_checked_out_in_the_cached_tree(tmp_path: Path) -> None:
    """The suite imported a module from a submodule, which the cached tree lacked."""
    helper = tmp_path / "subhelper-repo"
    helper.mkdir()
    _git(helper, "init", "-q", "-b", "main")
    _git(helper, "config", "user.email", "dev@example.invalid")
    _git(helper, "config", "user.name", "Dev")
    (helper / "subhelper.py").write_text("def size():\n    return 1000\n")
    _git(helper, "add", "-A")
    _git(helper, "commit", "-qm", "helper")
    repo = _project(tmp_path)
    _git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(helper), "vendor/subhelper")
    _git(repo, "commit", "-qm", "vendor subhelper")
    tree = checkout(repo, "HEAD", tmp_path / "cache").path
    assert (tree / "vendor" / "subhelper" / "subhelper.py").read_text().startswith("def size")
    # A tree cached before submodules were checked out gets them on its next use.
    cache = tmp_path / "cache-old"
    old = checkout(repo, "HEAD", cache).path
    subprocess.run(["git", "-C", str(old), "submodule", "deinit", "-q", "--all", "--force"], check=True)
    assert not (old / "vendor" / "subhelper" / "subhelper.py").exists()
    assert (checkout(repo, "HEAD", cache).path / "vendor" / "subhelper" / "subhelper.py").is_file()


# -- shallow clones ----------------------------------------------------------------------------------------


def test_a_shallow_clone_is_named_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CI's `fetch-depth: 1`: `HEAD~1: unknown git ref` and `no merge base (unrelated histories?)`."""
    repo = _project(tmp_path)
    _git(repo, "branch", "feature")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "main", repo.as_uri(), str(shallow)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(InputError) as unknown:
        resolve_commit(shallow, "HEAD~1")
    assert "shallow clone" in str(unknown.value) and "fetch-depth: 0" in str(unknown.value)
    assert "git fetch --unshallow" in str(unknown.value)
    _git(repo, "checkout", "-q", "feature")
    (repo / "mylib.py").write_text((repo / "mylib.py").read_text() + "# feature\n")
    _git(repo, "commit", "-qam", "feature")
    _git(shallow, "fetch", "-q", "--depth", "1", "origin", "feature:feature")
    with pytest.raises(InputError) as no_base:
        merge_base(shallow, "main", "feature")
    assert "shallow clone" in str(no_base.value) and "unrelated histories" not in str(no_base.value)
    # The command says so in one line, exit 2.
    code = main(["compare-refs", "HEAD~1", "HEAD", "--config", str(shallow / "pyproject.toml"), "--plain"])
    err = capsys.readouterr().err
    assert code == 2 and "shallow clone" in err and "fetch-depth: 0" in err and "Traceback" not in err


def test_a_full_clone_keeps_the_plain_message(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    with pytest.raises(InputError) as unknown:
        resolve_commit(repo, "HEAD~5")
    assert "shallow" not in str(unknown.value)


# -- --allow-dirty and untracked files ---------------------------------------------------------------------

NEW_BENCHMARK = textwrap.dedent(
    """
    import mylib

    def test_brand_new(benchmark):
        assert benchmark(mylib.aggregate) >= 0
    """
)


@pytest.mark.slow
def test_allow_dirty_measures_an_untracked_benchmark_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new benchmark file not yet added was silently not measured."""
    repo = _project(tmp_path)
    (repo / "benchmarks" / "test_new.py").write_text(NEW_BENCHMARK)
    common = ["compare-refs", "HEAD~1", "HEAD", "--config", str(repo / "pyproject.toml"), "--plain"]
    common += ["--looks", "2", "--memory-runs", "0", "--format", "json", "--cache-dir", str(tmp_path / "cache")]
    main([*common, "--output-dir", str(tmp_path / "without")])
    captured = capsys.readouterr()
    names = {row["benchmark"] for row in json.loads(captured.out)["comparisons"]}
    assert not any("test_brand_new" in name for name in names)
    assert "1 untracked Python file(s) not measured: benchmarks/test_new.py" in captured.err
    main([*common, "--allow-dirty", "--output-dir", str(tmp_path / "with")])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    statuses = {row["name"]: row["status"] for row in report["benchmarks"]}
    assert statuses.get("benchmarks/test_new.py::test_brand_new") == "added", statuses
    assert "with uncommitted changes" in captured.err


def test_untracked_files_do_not_make_a_plain_run_dirty(tmp_path: Path) -> None:
    from benchwatch.refs.worktrees import is_dirty, untracked_files, working_tree

    repo = _project(tmp_path)
    (repo / "benchmarks" / "test_new.py").write_text(NEW_BENCHMARK)
    (repo / "results").mkdir()
    (repo / "results" / "ignored.py").write_text("")  # .gitignore'd: not listed
    assert not is_dirty(repo)
    assert untracked_files(repo) == ["benchmarks/test_new.py"]
    assert working_tree(repo).dirty
