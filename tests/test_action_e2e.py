"""action.yml end to end: its ``run:`` steps executed with bash as the Actions runner would.

For each step of the composite action the test evaluates ``if:`` and the ``env:`` mapping (the
small expression language the action uses: ``inputs.*``, ``github.*``, ``steps.*.outputs.*``,
string literals, ``==``, ``!=``, ``&&``, ``||``), gives the step its own ``$GITHUB_OUTPUT`` file,
and runs ``bash --noprofile --norc -eo pipefail`` on the script - the runner's ``shell: bash``.
``uses:`` steps (actions/setup-python) are skipped: the venv's Python is first on PATH, and
``BENCHWATCH_SKIP_INSTALL=1`` skips the pip install of the action's directory.

* mode compare: ``compare-refs`` on a tiny temporary git repository with a real slowdown, with
  quick settings given as inputs; the step fails on the regression only in a same-repository PR.
* mode merge: the shard directory of that run merged and reported; a fork PR does not fail.
* mode report: from an artifact folder, in a ``workflow_run`` run, against the fake GitHub API:
  the check run and the sticky comment arrive, the artifact's own comment.md is not trusted,
  a tampered event.json is refused, and the token is in no file written and no output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_github import FakeGitHub, fake_github, fake_github_factory  # noqa: F401
from test_compare_cli import HOSTILE, write_side
from test_compare_refs import LIBRARY, _git, init_project

from benchwatch.github.client import marker_comment

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml; a test extra)")

pytestmark = pytest.mark.slow  # every test runs the action's steps in subprocesses

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ghs_E2EsecretTOKENvalue0123456789"
REPO = "octo/widgets"
PR = 17
RUN_ID = "777"


# -- a tiny evaluator of the GitHub expressions action.yml uses ---------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||\(|\))|(?P<ref>[A-Za-z_][\w.-]*))")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate ``expression`` (no ``${{ }}``) against ``context``; unknown references are ''."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unsupported expression syntax: {expression!r}")
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        tokens.append((kind, match.group(kind)))
        position = match.end()

    def lookup(ref: str) -> Any:
        if ref in ("true", "false"):
            return ref == "true"
        value: Any = context
        for part in ref.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def parse_or(i: int) -> tuple[Any, int]:
        value, i = parse_and(i)
        while i < len(tokens) and tokens[i] == ("op", "||"):
            right, i = parse_and(i + 1)
            value = value or right
        return value, i

    def parse_and(i: int) -> tuple[Any, int]:
        value, i = parse_cmp(i)
        while i < len(tokens) and tokens[i] == ("op", "&&"):
            right, i = parse_cmp(i + 1)
            value = value and right
        return value, i

    def parse_cmp(i: int) -> tuple[Any, int]:
        value, i = parse_atom(i)
        while i < len(tokens) and tokens[i] in (("op", "=="), ("op", "!=")):
            op = tokens[i][1]
            right, i = parse_atom(i + 1)
            equal = str(value).lower() == str(right).lower()  # GitHub compares strings case-insensitively
            value = equal if op == "==" else not equal
        return value, i

    def parse_atom(i: int) -> tuple[Any, int]:
        kind, token = tokens[i]
        if (kind, token) == ("op", "("):
            value, i = parse_or(i + 1)
            assert tokens[i] == ("op", ")"), expression
            return value, i + 1
        if kind == "str":
            return token[1:-1].replace("''", "'"), i + 1
        if kind == "ref":
            return lookup(token), i + 1
        raise ValueError(f"unsupported expression syntax: {expression!r}")

    value, end = parse_or(0)
    if end != len(tokens):
        raise ValueError(f"unsupported expression syntax: {expression!r}")
    return value


def substitute(template: str, context: dict[str, Any]) -> str:
    """A YAML value with ``${{ ... }}`` parts replaced (values as strings, booleans as true/false)."""

    def one(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        return str(value).lower() if isinstance(value, bool) else str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(template))


# -- running the action ----------------------------------------------------------------------


@dataclass
class ActionRun:
    """What one run of the composite action did."""

    outputs: dict[str, str]
    #: (step name, exit status) for every run step executed, in order.
    steps: list[tuple[str, int]]
    stdout: str
    stderr: str
    step_outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(status != 0 for _, status in self.steps)

    @property
    def exit_status(self) -> int:
        return next((status for _, status in self.steps if status != 0), 0)


def _read_output_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        name, _, value = line.partition("=")
        values[name] = value
        index += 1
    return values


def run_action(
    *,
    inputs: dict[str, str],
    github: dict[str, Any],
    env: dict[str, str],
    cwd: Path,
    work: Path,
) -> ActionRun:
    """Run action.yml's steps like the runner: ``if:``, ``env:``, one GITHUB_OUTPUT file per step."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    resolved = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(resolved)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    context: dict[str, Any] = {"github": github, "steps": {}, "env": env, "runner": {"temp": str(work)}}
    resolved = {name: substitute(value, context) for name, value in resolved.items()}
    resolved.update(inputs)
    context["inputs"] = resolved

    stdout, stderr, executed = [], [], []
    for index, step in enumerate(action["runs"]["steps"]):
        condition = step.get("if")
        if condition is not None and not evaluate(condition.replace("${{", "").replace("}}", ""), context):
            continue
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@"), step["uses"]
            continue
        assert step.get("shell") == "bash"
        output_file = work / f"github_output_{index}"
        output_file.touch()
        step_env = {**env, "GITHUB_OUTPUT": str(output_file)}
        step_env.update({key: substitute(value, context) for key, value in (step.get("env") or {}).items()})
        script = work / f"step_{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        script.unlink()
        stdout.append(completed.stdout)
        stderr.append(completed.stderr)
        executed.append((step.get("name", f"step {index}"), completed.returncode))
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": _read_output_file(output_file)}
        if completed.returncode != 0:
            break
    outputs = {name: substitute(spec["value"], context) for name, spec in action["outputs"].items()}
    return ActionRun(
        outputs=outputs,
        steps=executed,
        stdout="".join(stdout),
        stderr="".join(stderr),
        step_outputs={key: value["outputs"] for key, value in context["steps"].items()},
    )


# -- the environment ---------------------------------------------------------------------------


def _search_path(directory: Path) -> str:
    """PATH for the steps: a ``benchwatch`` that logs its command, then this venv's bin (python, benchwatch).

    The log (``directory/../benchwatch-commands.log``) holds the sub-command names only, one per call:
    the tests count how often a job compares.
    """
    venv_bin = Path(sys.executable).parent
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "benchwatch"
    log = directory.parent / "benchwatch-commands.log"
    shim.write_text(f'#!/bin/bash\nprintf "%s\\n" "$1" >> "{log}"\nexec "{venv_bin / "benchwatch"}" "$@"\n')
    shim.chmod(0o755)
    return f"{directory}{os.pathsep}{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def commands_run(work: Path) -> list[str]:
    """The benchwatch sub-commands the action's steps ran in the job whose runner directory is ``work``."""
    log = work / "benchwatch-commands.log"
    return log.read_text().split() if log.exists() else []


def runner_env(work: Path, *, api_url: str, event_name: str, event: dict[str, Any], sha: str) -> dict[str, str]:
    """The variables the runner sets for an action step (no token: the action maps it itself)."""
    event_path = work / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "RUNNER_", "INPUT_")) and key not in ("BENCHWATCH_SKIP_INSTALL",)
    }
    env.update(
        {
            "PATH": _search_path(work / "bin"),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": RUN_ID,
            "GITHUB_SHA": sha,
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_STEP_SUMMARY": str(work / "step_summary.md"),
            "GITHUB_WORKSPACE": str(work),
            "RUNNER_TEMP": str(work),
            "BENCHWATCH_SKIP_INSTALL": "1",
        }
    )
    return env


def pull_request_event(*, base_sha: str, head_sha: str, head_repo: str = REPO, number: int = PR) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
            "base": {"sha": base_sha, "repo": {"full_name": REPO}},
        },
    }


def assert_no_token(run: ActionRun, *directories: Path) -> None:
    texts = [run.stdout, run.stderr, json.dumps(run.outputs), json.dumps(run.step_outputs)]
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if path.suffix == ".gz":
                    import gzip

                    data = gzip.decompress(data)
                texts.append(data.decode("utf-8", "replace"))
    for text in texts:
        assert TOKEN not in text


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A git repository: main at the base commit, HEAD a PR commit that slows parse_rows by 60%."""
    repo = tmp_path_factory.mktemp("project")
    base = init_project(repo)
    _git(repo, "checkout", "-q", "-b", "pr")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=32_000))
    _git(repo, "commit", "-qam", "slower parse_rows")
    head = _git(repo, "rev-parse", "HEAD")
    return {"repo": repo, "base": base, "head": head}


@pytest.fixture(scope="module")
def compared(project: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Mode compare once, in a same-repository pull_request run with fail-on: regression."""
    work = tmp_path_factory.mktemp("compare-job")
    results = work / "results"
    event = pull_request_event(base_sha=project["base"], head_sha=project["head"])
    env = runner_env(work, api_url="http://127.0.0.1:9", event_name="pull_request", event=event, sha=project["head"])
    github = {"event": event, "event_name": "pull_request", "token": "unused-in-compare"}
    run = run_action(
        inputs={
            "mode": "compare",
            "looks": "2,3",
            "max-time": "300",
            "threshold": "0.10",
            # -k: only parse_rows, the row the assertions read (the plumbing is the claim; a second benchmark
            # doubled the measuring).
            "extra-args": f"--memory-runs 1 --seed 3 -k parse_rows --write markdown:{results}/table.md",
            "results-dir": str(results),
            "fail-on": "regression",
        },
        github=github,
        env=env,
        cwd=project["repo"],
        work=work,
    )
    return {"run": run, "work": work, "results": results, "event": event, **project}


# -- compare ---------------------------------------------------------------------------------


def test_compare_mode_measures_renders_and_gates(compared) -> None:
    """compare-refs for real; the verdict itself depends on the machine's noise, the plumbing does not."""
    run: ActionRun = compared["run"]
    results: Path = compared["results"]
    names = [name for name, _ in run.steps]
    assert names == ["Check inputs", "Install benchwatch", "Compare base and head (compare-refs)", "Render report"]
    assert "BENCHWATCH_SKIP_INSTALL=1" in run.stdout
    assert commands_run(compared["work"]) == ["compare-refs", "github-gate"]  # one comparison per job
    # The PR base sha became the base ref (merge base with HEAD).
    assert f"merge base of the PR base {compared['base'][:12]}" in run.stdout
    verdict = run.outputs["verdict"]
    assert verdict in ("regression", "inconclusive"), run.stdout[-3000:] + run.stderr[-3000:]
    if verdict == "regression":  # a same-repository PR with fail-on: regression fails after the report is written
        assert run.steps[-1] == ("Render report", 1)
        assert "::error title=benchwatch::performance regression (fail-on: regression)" in run.stdout
    else:  # a loaded machine makes benchwatch refuse to call it (disturbance diagnostics)
        assert run.steps[-1] == ("Render report", 0), run.stdout[-3000:] + run.stderr[-3000:]
    assert run.outputs == {
        "verdict": verdict,
        "report-markdown": f"{results}/comment.md",
        "report-json": f"{results}/comparison.json",
        "results-dir": str(results),
    }
    for name in ("base.json.gz", "head.json.gz", "comparison.json", "comment.md"):
        assert (results / name).is_file(), name
    assert "parse\\_rows" in (results / "table.md").read_text()  # compare-refs --write (Markdown-escaped)
    report = json.loads((results / "comparison.json").read_text())
    assert report["verdict"] == verdict
    (parse_rows,) = [
        row for row in report["comparisons"] if row["benchmark"].endswith("test_parse_rows") and row["metric"] == "p50"
    ]
    assert parse_rows["verdict"] in ("regression", "inconclusive")
    summary = (compared["work"] / "step_summary.md").read_text()
    comment = (results / "comment.md").read_text()
    assert summary.strip() and summary.strip() in comment + "\n"
    assert f"head {compared['head'][:12]}" in comment
    assert f"https://github.example/{REPO}/actions/runs/{RUN_ID}" in comment
    assert_no_token(run, compared["work"])


def test_bad_inputs_stop_before_anything_runs(project, tmp_path: Path) -> None:
    env = runner_env(tmp_path, api_url="http://127.0.0.1:9", event_name="push", event={}, sha=project["head"])
    run = run_action(
        inputs={"mode": "compare; rm -rf ~", "results-dir": str(tmp_path / "r")},
        github={},
        env=env,
        cwd=project["repo"],
        work=tmp_path,
    )
    assert run.steps == [("Check inputs", 2)]
    assert "mode must be compare, one-side, merge, collect or report" in run.stdout


# -- merge (deterministic results: a clear regression, and a hostile benchmark name) -------------


@pytest.fixture
def shard_results(tmp_path: Path) -> Path:
    """Two shard directories as pr-benchmarks downloads them: ``benchwatch-shard-N/{base,head}.json.gz``."""
    shards = tmp_path / "shards"
    for index, names in ((1, ("alpha",)), (2, (HOSTILE,))):
        folder = shards / f"benchwatch-shard-{index}"
        folder.mkdir(parents=True)
        write_side(folder / "base.json.gz", 1e-3, seed=index, names=names)
        write_side(folder / "head.json.gz", 1.5e-3, seed=10 + index, names=names)
    return shards


def _merge(project, tmp_path: Path, shards: Path, *, head_repo: str, fail_on: str) -> tuple[ActionRun, Path]:
    event = pull_request_event(base_sha=project["base"], head_sha=project["head"], head_repo=head_repo)
    env = runner_env(
        tmp_path, api_url="http://127.0.0.1:9", event_name="pull_request", event=event, sha=project["head"]
    )
    out = tmp_path / "benchwatch-pr"
    run = run_action(
        inputs={"mode": "merge", "shards-dir": str(shards), "results-dir": str(out), "fail-on": fail_on},
        github={"event": event, "event_name": "pull_request"},
        env=env,
        cwd=project["repo"],
        work=tmp_path,
    )
    return run, out


def test_merge_mode_fails_a_same_repo_pr_on_regression_after_writing_the_report(project, tmp_path, shard_results):
    run, out = _merge(project, tmp_path, shard_results, head_repo=REPO, fail_on="regression")
    assert [name for name, _ in run.steps] == ["Check inputs", "Install benchwatch", "Merge shards", "Render report"]
    assert commands_run(tmp_path) == ["merge-shards", "compare", "github-gate"]
    assert run.steps[-1] == ("Render report", 1), run.stdout + run.stderr
    assert "::error title=benchwatch::performance regression (fail-on: regression)" in run.stdout
    assert run.outputs == {
        "verdict": "regression",
        "report-markdown": f"{out}/comment.md",
        "report-json": f"{out}/comparison.json",
        "results-dir": str(out),
    }
    report = json.loads((out / "comparison.json").read_text())
    assert {row["benchmark"] for row in report["comparisons"]} == {"alpha", HOSTILE}  # both shards merged
    comment = (out / "comment.md").read_text()
    assert "<script>" not in comment  # the renderer escapes benchmark names
    assert (tmp_path / "step_summary.md").read_text().strip()


def test_merge_mode_in_a_fork_pr_reports_without_failing(project, tmp_path, shard_results) -> None:
    run, out = _merge(project, tmp_path, shard_results, head_repo="mallory/widgets", fail_on="regression")
    assert not run.failed, run.stdout + run.stderr
    assert run.outputs["verdict"] == "regression"
    assert "not failing this fork pull_request run" in run.stdout
    assert (out / "comment.md").is_file() and (out / "comparison.json").is_file()


def test_merge_mode_with_fail_on_never_does_not_fail(project, tmp_path, shard_results) -> None:
    run, _ = _merge(project, tmp_path, shard_results, head_repo=REPO, fail_on="never")
    assert not run.failed and run.outputs["verdict"] == "regression"


# -- report ------------------------------------------------------------------------------------


@pytest.fixture
def artifact(project, tmp_path: Path) -> Path:
    """The downloaded benchwatch-pr artifact of a fork PR, as pr-benchmarks uploads it."""
    folder = tmp_path / "artifact"
    folder.mkdir()
    write_side(folder / "base.json.gz", 1e-3, seed=1, names=("alpha", HOSTILE))
    write_side(folder / "head.json.gz", 1.5e-3, seed=2, names=("alpha", HOSTILE))
    # What a malicious fork could put next to them: neither is trusted by the report.
    (folder / "comment.md").write_text("[click here](https://evil.example) - injected by the fork\n")
    (folder / "comparison.json").write_text(
        json.dumps({"format": "benchwatch-comparison", "version": 1, "verdict": "improvement", "comparisons": []})
    )
    event = pull_request_event(base_sha=project["base"], head_sha=project["head"], head_repo="mallory/widgets")
    (folder / "event.json").write_text(json.dumps(event))
    return folder


def _report(project, tmp_path: Path, fake: FakeGitHub, artifact: Path, **inputs: str) -> ActionRun:
    workflow_run = {
        "id": 555,
        "event": "pull_request",
        "conclusion": "success",
        "head_sha": project["head"],
        "pull_requests": [],
        "repository": {"full_name": REPO},
        "head_repository": {"full_name": "mallory/widgets"},
        "html_url": f"https://github.example/{REPO}/actions/runs/555",
    }
    event = {"action": "completed", "workflow_run": workflow_run}
    job = tmp_path / "report-job"
    job.mkdir()
    env = runner_env(job, api_url=fake.api_url, event_name="workflow_run", event=event, sha="9" * 40)
    github = {"event": event, "event_name": "workflow_run", "token": TOKEN}
    return run_action(
        inputs={"mode": "report", "artifact-path": str(artifact), "results-dir": str(job / "report"), **inputs},
        github=github,
        env=env,
        cwd=project["repo"],
        work=job,
    )


def test_report_mode_posts_check_run_and_sticky_comment(project, tmp_path: Path, fake_github_factory, artifact) -> None:
    fake = fake_github_factory(token=TOKEN)  # answers 401 to any other token
    fake.add_pull(REPO, PR, project["head"])
    run = _report(project, tmp_path, fake, artifact)
    assert not run.failed, run.stdout + run.stderr
    assert [name for name, _ in run.steps] == [
        "Check inputs",
        "Install benchwatch",
        "Render report",
        "Post to GitHub (github-report)",
    ]
    assert commands_run(tmp_path / "report-job") == ["compare", "github-gate", "github-report"]
    # The verdict was recomputed from the result files (the artifact's comparison.json said improvement).
    assert run.outputs["verdict"] == "regression"
    (check,) = fake.check_runs.values()
    assert (check["name"], check["head_sha"], check["conclusion"]) == ("benchwatch", project["head"], "failure")
    assert check["details_url"] == f"https://github.example/{REPO}/actions/runs/{RUN_ID}"
    (comment,) = fake.pr_comments(REPO, PR)
    assert comment["body"].rstrip().endswith(marker_comment("benchwatch"))
    # The comment was rendered here from the result files, not taken from the artifact.
    assert "evil.example" not in comment["body"] and "<script>" not in comment["body"]
    rendered = (tmp_path / "report-job" / "report" / "comment.md").read_text()
    assert comment["body"].startswith(rendered.rstrip("\n"))
    assert fake.sent("GET", f"/repos/{REPO}/pulls/{PR}")  # the artifact's PR number was verified
    assert run.outputs["report-markdown"] == str(tmp_path / "report-job" / "report" / "comment.md")
    assert (tmp_path / "report-job" / "step_summary.md").read_text().strip()
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert_no_token(run, tmp_path)

    # A second report (a new push) edits the same comment; fail-on never passes the check.
    again = tmp_path / "again"
    again.mkdir()
    run = _report(project, again, fake, artifact, **{"fail-on": "never", "comment": "on-change"})
    assert not run.failed, run.stdout + run.stderr
    assert len(fake.pr_comments(REPO, PR)) == 1
    assert [c["conclusion"] for c in fake.check_runs.values()] == ["failure", "success"]
    assert_no_token(run, tmp_path)


def test_report_mode_refuses_a_tampered_artifact(project, tmp_path: Path, fake_github, artifact) -> None:
    event = json.loads((artifact / "event.json").read_text())
    event["number"] = event["pull_request"]["number"] = 99  # somebody else's pull request
    event["pull_request"]["head"]["sha"] = "f" * 40
    (artifact / "event.json").write_text(json.dumps(event))
    run = _report(project, tmp_path, fake_github, artifact)
    assert run.steps[-1] == ("Post to GitHub (github-report)", 2)
    assert "is not the workflow_run head sha" in run.stderr
    assert fake_github.requests == []
    assert_no_token(run, tmp_path)


def test_report_mode_refuses_an_artifact_without_results(project, tmp_path: Path, fake_github, artifact) -> None:
    (artifact / "head.json.gz").unlink()
    (artifact / "head.json.gz").symlink_to("/etc/passwd")
    run = _report(project, tmp_path, fake_github, artifact)
    assert run.steps[-1] == ("Render report", 2)
    assert "head.json.gz is missing or not a regular file" in run.stdout
    assert fake_github.requests == []
