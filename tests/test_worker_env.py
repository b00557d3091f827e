"""What reaches a worker's environment."""

from __future__ import annotations

from pathlib import Path

from benchwatch.runner.worker import WorkerCommand, _worker_environment


def test_pytest_xdist_variables_never_reach_a_worker_and_extra_variables_do() -> None:
    """pytest-benchmark disables itself where it sees PYTEST_XDIST_WORKER: a run inside xdist measured nothing."""
    command = WorkerCommand(
        python="python",
        cwd=Path(),
        env={"PATH": "/bin", "PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "2"},
        extra_env=(("PYTHONHASHSEED", "0"),),
    )
    assert _worker_environment(command) == {"PATH": "/bin", "PYTHONHASHSEED": "0"}


def test_both_sides_are_counted_from_one_path_and_the_copy_is_removed(tmp_path: Path) -> None:
    from benchwatch.refs.counting_tree import COUNTING_NAME, counting_tree, relocated

    trees = tmp_path / "trees"
    seen = []
    for commit in ("a" * 40, "b" * 40):
        tree = trees / commit
        (tree / "src").mkdir(parents=True)
        (tree / "src" / "mod.py").write_text(f"SIDE = {commit[0]!r}\n")
        command = WorkerCommand(
            python="python",
            cwd=tree,
            pytest_args=(f"--rootdir={tree}",),
            env={"PYTHONPATH": f"/shim:{tree}:{tree / 'src'}"},
            arguments={"b/test_x.py::test_y": f"{tree}/b/test_x.py::test_y"},
        )
        with counting_tree(tree) as fixed:
            moved = relocated(command, tree, fixed)
            assert (fixed / "src" / "mod.py").read_text() == f"SIDE = {commit[0]!r}\n"  # this side's code
            seen.append((moved.cwd, moved.pytest_args, moved.env, moved.arguments))
        assert not fixed.exists() and tree.exists()
    assert seen[0] == seen[1]  # nothing tells the sides apart but the files' contents
    assert seen[0][0] == trees / COUNTING_NAME
    working_tree = tmp_path / "repo"
    working_tree.mkdir()
    with counting_tree(working_tree) as fixed:
        assert fixed == working_tree  # a working tree is counted in place, never copied beside the user's repo
