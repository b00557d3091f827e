"""action.yml mode one-side end to end: measure only the PR head, compare with main's stored result.

A temporary git repository plays GitHub: ``main`` has three commits, the first of them measured
with ``benchwatch run`` and recorded with ``benchwatch record --keep-result`` into a history that
is committed to a real ``benchwatch-history`` branch, as main.yml does.  The PR branches off the
newest main commit (not recorded), with +60% work in one function.  A clone of that repository is
the PR job's checkout (``fetch-depth: 0``: ``origin/benchwatch-history`` is there).  The action
then takes the nearest recorded ancestor's result, measures only the head, and gates on
instruction counts; the report mode posts it to the fake GitHub API.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_github import fake_github, fake_github_factory  # noqa: F401
from test_action_e2e import (
    REPO,
    TOKEN,
    ActionRun,
    assert_no_token,
    commands_run,
    pull_request_event,
    run_action,
    runner_env,
)
from test_compare_refs import LIBRARY, _git, init_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (instruction counts)"),
]

BENCHWATCH = str(Path(sys.executable).parent / "benchwatch")
PYPROJECT = (
    '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\ninstructions = true\ninstruction_runs = 2\n'
    'pytest_args = ["--benchmark-min-rounds=40", "--benchmark-max-time=0.05"]\n'
)
QUICK = "--memory-runs 2 --sample-budget 0.5"


def _benchwatch(cwd: Path, *args: str) -> str:
    completed = subprocess.run([BENCHWATCH, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The origin repository with its history branch, and the PR job's clone at the PR head."""
    origin = tmp_path_factory.mktemp("origin")
    init_project(origin)
    (origin / "pyproject.toml").write_text(PYPROJECT)
    _git(origin, "commit", "-qam", "count instructions")
    recorded = _git(origin, "rev-parse", "HEAD")
    (origin / "NOTES.md").write_text("a commit main.yml did not record (a newer push replaced its run)\n")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "notes")
    main_tip = _git(origin, "rev-parse", "HEAD")
    _git(origin, "checkout", "-q", "-b", "pr")
    (origin / "mylib.py").write_text(LIBRARY.format(parse_size=32_000))  # +60% work in parse_rows
    _git(origin, "commit", "-qam", "slower parse_rows")
    pr_head = _git(origin, "rev-parse", "HEAD")

    # main.yml: benchwatch run at the recorded commit in the runner's checkout folder, then record
    # --keep-result on the history branch.  The PR job later checks out into the same folder, as
    # GitHub's runners do (/home/runner/work/R/R): the checkout path is part of the heap a counted
    # call starts from, and another path changed this suite's counts by 1.3% (docs/github-action.md).
    checkout = tmp_path_factory.mktemp("runner") / "work" / "widgets"
    subprocess.run(["git", "clone", "-q", str(origin), str(checkout)], check=True)
    _git(checkout, "checkout", "-q", recorded)
    work = tmp_path_factory.mktemp("main-job")
    env = runner_env(work, api_url="http://127.0.0.1:9", event_name="push", event={}, sha=recorded)
    collect = run_action(
        inputs={"mode": "collect", "runs": "2", "extra-args": QUICK, "results-dir": str(work)},
        github={"event": {}, "event_name": "push"},
        env={**env, "MAIN_JOB_ONLY": "a variable the PR job does not have"},
        cwd=checkout,
        work=work,
    )
    assert not collect.failed, collect.stdout + collect.stderr
    shutil.rmtree(checkout)
    branch = work / "history-branch"
    _git(work, "init", "-q", "-b", "benchwatch-history", str(branch))
    recorded_out = _benchwatch(
        work,
        "record",
        str(work / "result.json.gz"),
        "--history",
        str(branch / "history"),
        "--commit",
        recorded,
        "--branch",
        "main",
        "--skip-existing",
        "--keep-result",
    )
    assert f"kept the result of {recorded[:12]}" in recorded_out
    _git(branch, "add", "-A")
    _git(branch, "-c", "user.name=bot", "-c", "user.email=bot@example.invalid", "commit", "-qm", "record")
    _git(branch, "push", "-q", str(origin), "HEAD:benchwatch-history")

    subprocess.run(["git", "clone", "-q", str(origin), str(checkout)], check=True)  # the PR job's checkout
    _git(checkout, "checkout", "-q", "pr")
    return {"origin": origin, "clone": checkout, "recorded": recorded, "main_tip": main_tip, "pr_head": pr_head}


def _one_side(world: dict[str, Any], work: Path, **inputs: str) -> tuple[ActionRun, Path]:
    results = work / "results"
    event = pull_request_event(base_sha=world["main_tip"], head_sha=world["pr_head"])
    env = runner_env(work, api_url="http://127.0.0.1:9", event_name="pull_request", event=event, sha=world["pr_head"])
    run = run_action(
        inputs={"mode": "one-side", "runs": "2", "extra-args": QUICK, "results-dir": str(results), **inputs},
        github={"event": event, "event_name": "pull_request"},
        env=env,
        cwd=world["clone"],
        work=work,
    )
    return run, results


@pytest.fixture(scope="module")
def one_side(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("one-side-job")
    run, results = _one_side(world, work, **{"fail-on": "regression"})
    return {"run": run, "results": results, "work": work}


def test_one_side_measures_only_the_head_and_gates_on_instruction_counts(world, one_side) -> None:
    run: ActionRun = one_side["run"]
    results: Path = one_side["results"]
    assert [name for name, _ in run.steps] == [
        "Check inputs",
        "Install benchwatch",
        "Measure head, take the stored base (one-side)",
        "Render report",
    ], run.stdout + run.stderr
    # One measurement (run), one comparison; the base came from the history branch.
    assert commands_run(one_side["work"]) == ["history", "run", "compare", "github-gate"]
    assert run.steps[-1] == ("Render report", 1), run.stdout[-3000:] + run.stderr[-3000:]
    assert "::error title=benchwatch::performance regression (fail-on: regression)" in run.stdout
    assert run.outputs["verdict"] == "regression"

    base = json.loads(gzip.decompress((results / "base.json.gz").read_bytes()))
    assert base["environment"]["git_commit"] == world["recorded"]
    report = json.loads((results / "comparison.json").read_text())
    assert report["verdict"] == "regression"
    rows = {(row["benchmark"].rsplit("::", 1)[-1], row["metric"]): row for row in report["comparisons"]}
    assert rows["test_parse_rows", "instructions"]["verdict"] == "regression"
    assert rows["test_aggregate", "instructions"]["verdict"] == "unchanged"
    # Latency is shown (or marked not comparable) but never decides a one-side verdict.
    latency = [row for (_, metric), row in rows.items() if metric in ("p50", "p95", "p99", "mean")]
    assert latency and not any(row["gated"] for row in latency)
    assert {metric for (_, metric), row in rows.items() if row["gated"]} <= {"instructions", "peak_memory", "peak_rss"}

    # The comment names the stored base: the nearest recorded ancestor of the merge base.
    comment = (results / "comment.md").read_text()
    assert f"nearest recorded ancestor of the merge base {world['main_tip'][:12]}, 1 commit back" in comment
    assert world["recorded"][:7] in comment
    assert f"head {world['pr_head'][:12]}" in comment
    assert (one_side["work"] / "step_summary.md").read_text().strip()
    assert_no_token(run, one_side["work"])


def test_a_fork_pr_posts_through_report_mode_with_the_one_side_gate(world, one_side, tmp_path, fake_github_factory):
    """pr-report's half: the artifact's two result files re-compared with the one-side gate, posted."""
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    for name in ("base.json.gz", "head.json.gz"):
        shutil.copy(one_side["results"] / name, artifact / name)
    event = pull_request_event(base_sha=world["main_tip"], head_sha=world["pr_head"], head_repo="mallory/widgets")
    (artifact / "event.json").write_text(json.dumps(event))
    fake = fake_github_factory(token=TOKEN)
    fake.add_pull(REPO, 17, world["pr_head"])
    workflow_run = {
        "id": 556,
        "event": "pull_request",
        "conclusion": "success",
        "head_sha": world["pr_head"],
        "pull_requests": [],
        "repository": {"full_name": REPO},
        "head_repository": {"full_name": "mallory/widgets"},
        "html_url": f"https://github.example/{REPO}/actions/runs/556",
    }
    trusted = {"action": "completed", "workflow_run": workflow_run}
    job = tmp_path / "report-job"
    job.mkdir()
    env = runner_env(job, api_url=fake.api_url, event_name="workflow_run", event=trusted, sha="9" * 40)
    run = run_action(
        inputs={
            "mode": "report",
            "artifact-path": str(artifact),
            "results-dir": str(job / "report"),
            "gate": "instructions,peak_memory,peak_rss",
        },
        github={"event": trusted, "event_name": "workflow_run", "token": TOKEN},
        env=env,
        cwd=world["clone"],
        work=job,
    )
    assert not run.failed, run.stdout + run.stderr
    assert commands_run(job) == ["compare", "github-gate", "github-report"]
    (check,) = fake.check_runs.values()
    assert (check["head_sha"], check["conclusion"]) == (world["pr_head"], "failure")
    (comment,) = fake.pr_comments(REPO, 17)
    assert "gate: instructions, peak_memory, peak_rss" in comment["body"]
    assert_no_token(run, tmp_path)


def test_no_stored_result_stops_before_measuring(world, tmp_path: Path) -> None:
    run, results = _one_side(world, tmp_path, **{"history-ref": "origin/main", "history-path": "history"})
    assert run.steps[-1] == ("Measure head, take the stored base (one-side)", 2)
    assert commands_run(tmp_path) == ["history"]
    assert "no stored result for" in run.stderr and "benchwatch record --keep-result" in run.stderr
    assert not (results / "head.json.gz").exists()


def test_one_side_outside_a_pull_request_needs_a_base_ref(world, tmp_path: Path) -> None:
    env = runner_env(tmp_path, api_url="http://127.0.0.1:9", event_name="push", event={}, sha=world["pr_head"])
    run = run_action(
        inputs={"mode": "one-side", "results-dir": str(tmp_path / "r")},
        github={"event": {}, "event_name": "push"},
        env=env,
        cwd=world["clone"],
        work=tmp_path,
    )
    assert run.steps[-1] == ("Measure head, take the stored base (one-side)", 2)
    assert "mode one-side needs base-ref outside a pull_request run" in run.stdout
    assert commands_run(tmp_path) == []
