"""Static checks of action.yml and .github/workflows/*.yml.

* schema validation with check-jsonschema (vendored GitHub workflow/action schemas, offline);
* zizmor --offline: zero findings;
* our own rules, on the parsed YAML: no ``${{`` expression inside a ``run:`` script (inputs reach
  scripts through ``env:`` only), every third-party action pinned to a full commit SHA with a
  version comment, ``persist-credentials: false`` on every checkout, top-level ``permissions: {}``,
  no ``pull_request_target``, pr-benchmarks has no write permission and no secrets, pr-report
  never checks out or runs the PR head.

check-jsonschema, zizmor and PyYAML are test extras (``pip install check-jsonschema zizmor pyyaml``);
a test that needs a missing one is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml; a test extra)")

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
EXPECTED_WORKFLOWS = {"tests.yml", "pr-benchmarks.yml", "pr-report.yml", "main.yml", "tags.yml"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    """Path of a CLI installed next to this Python (the venv), else on PATH; skip when missing."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install {name}; it is a test extra)")
    return found


def _load(path: Path) -> dict[str, Any]:
    # PyYAML (YAML 1.1) reads the key `on` as True; normalise it back.
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def _steps(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a workflow or a composite action."""
    if "runs" in document:
        for index, step in enumerate(document["runs"].get("steps", [])):
            yield f"runs.steps[{index}]", step
    for job_id, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps", [])):
            yield f"jobs.{job_id}.steps[{index}]", step


def _all_files() -> list[Path]:
    return [*WORKFLOW_FILES, ACTION]


def test_the_expected_files_exist() -> None:
    assert ACTION.is_file()
    assert {path.name for path in WORKFLOW_FILES} >= EXPECTED_WORKFLOWS


@pytest.mark.parametrize(
    "schema, paths",
    [
        ("vendor.github-workflows", WORKFLOW_FILES),
        ("vendor.github-actions", [ACTION]),
    ],
    ids=["workflows", "action"],
)
def test_schema_validation(schema: str, paths: list[Path]) -> None:
    tool = _tool("check-jsonschema")
    completed = subprocess.run(
        [tool, "--builtin-schema", schema, *map(str, paths)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_zizmor_has_no_findings() -> None:
    tool = _tool("zizmor")
    completed = subprocess.run(
        [tool, "--offline", "--no-progress", ".github/workflows", "action.yml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No findings to report" in completed.stdout + completed.stderr


@pytest.mark.parametrize("path", _all_files(), ids=lambda p: p.name)
def test_no_expression_inside_run_scripts(path: Path) -> None:
    for where, step in _steps(_load(path)):
        script = step.get("run")
        if script is not None:
            assert "${{" not in script, f"{path.name} {where}: pass values through env:, not ${{{{ }}}} in run:"


@pytest.mark.parametrize("path", _all_files(), ids=lambda p: p.name)
def test_actions_are_pinned_to_a_commit_with_a_version_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for where, step in _steps(_load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith(("./", "$/")):
            continue
        assert PINNED.fullmatch(uses), f"{path.name} {where}: {uses} is not pinned to a full commit SHA"
        line = next(text for text in lines if f"uses: {uses}" in text)
        assert re.search(r"#\s*v\d+(\.\d+)*", line), f"{path.name} {where}: add a '# vX.Y.Z' comment to {uses}"


@pytest.mark.parametrize("path", _all_files(), ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    for where, step in _steps(_load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name} {where}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflows_grant_nothing_by_default_and_never_use_pull_request_target(path: Path) -> None:
    document = _load(path)
    assert document.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}} (grant per job)"
    triggers = document["on"]
    names = set(triggers) if isinstance(triggers, (dict, list)) else {triggers}
    assert "pull_request_target" not in names
    for job_id, job in document["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {job_id} must declare its permissions"


def _write_permissions(job: dict[str, Any]) -> list[str]:
    permissions = job.get("permissions", {})
    if isinstance(permissions, str):
        return [permissions] if permissions == "write-all" else []
    return [scope for scope, level in permissions.items() if level == "write"]


def test_pr_benchmarks_is_read_only_and_uses_no_secrets() -> None:
    path = WORKFLOWS / "pr-benchmarks.yml"
    document = _load(path)
    assert set(document["on"]) == {"pull_request"}
    for job_id, job in document["jobs"].items():
        assert _write_permissions(job) == [], f"job {job_id} has write permissions"
        assert job["permissions"] == {"contents": "read"}
    text = path.read_text(encoding="utf-8")
    assert "secrets." not in text and "github.token" not in text and "GITHUB_TOKEN" not in text
    assert document["concurrency"]["cancel-in-progress"] is True
    shard_job = document["jobs"]["shard"]
    assert shard_job["strategy"]["matrix"]["shard"] == [1, 2]
    checkout = next(step for _, step in _steps({"jobs": {"shard": shard_job}}) if "checkout" in str(step.get("uses")))
    assert checkout["with"]["fetch-depth"] == 0
    # Regressions must not fail this workflow: pr-report only reports successful runs.
    for _, step in _steps(document):
        if str(step.get("uses", "")).startswith(("$/", "./")):
            assert step["with"]["fail-on"] == "never"
    uploads = [step for _, step in _steps(document) if "upload-artifact" in str(step.get("uses"))]
    assert "benchwatch-pr" in [step["with"]["name"] for step in uploads]
    pr_upload = next(step for step in uploads if step["with"]["name"] == "benchwatch-pr")
    for name in ("base.json.gz", "head.json.gz", "comment.md", "comparison.json", "event.json"):
        assert f"/{name}" in pr_upload["with"]["path"]


def test_pr_report_runs_only_trusted_code() -> None:
    document = _load(WORKFLOWS / "pr-report.yml")
    trigger = document["on"]
    assert set(trigger) == {"workflow_run"}
    assert trigger["workflow_run"] == {"workflows": ["pr-benchmarks"], "types": ["completed"]}
    (job,) = document["jobs"].values()
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    assert sorted(_write_permissions(job)) == ["checks", "pull-requests"]
    assert job["permissions"]["actions"] == "read"
    for where, step in _steps(document):
        uses = str(step.get("uses", ""))
        with_ = step.get("with") or {}
        if uses.startswith("actions/checkout@"):
            # The default branch: no ref/repository override that could name the PR head.
            assert not {"ref", "repository"} & set(with_), f"{where}: pr-report must not check out the PR"
        if uses.startswith("actions/download-artifact@"):
            assert with_["run-id"] == "${{ github.event.workflow_run.id }}"
            assert with_["name"] == "benchwatch-pr"
        for value in [*map(str, with_.values()), str(step.get("run", ""))]:
            assert "head_sha" not in value and "head_branch" not in value and "pull_request.head" not in value
    action_steps = [step for _, step in _steps(document) if str(step.get("uses", "")).startswith(("$/", "./"))]
    assert [step["with"]["mode"] for step in action_steps] == ["report"]


def test_action_interface() -> None:
    action = _load(ACTION)
    assert action["runs"]["using"] == "composite"
    for name in (
        "mode",
        "base-ref",
        "config",
        "threshold",
        "comment",
        "fail-on",
        "runs",
        "max-time",
        "shard",
        "results-dir",
        "github-token",
        "python-version",
        "artifact-path",
    ):
        assert name in action["inputs"], name
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert set(action["outputs"]) == {"verdict", "report-markdown", "report-json", "results-dir"}
    # The token is handed to the posting step only.
    holders = [
        step.get("name")
        for _, step in _steps(action)
        if "inputs.github-token" in str(step.get("env", {})) or "inputs.github-token" in str(step.get("with", {}))
    ]
    assert holders == ["Post to GitHub (github-report)"]
    install = next(step for _, step in _steps(action) if step.get("name") == "Install benchwatch")
    assert "BENCHWATCH_SKIP_INSTALL" in install["run"] and "$GITHUB_ACTION_PATH" in install["run"]


def _history_writer(name: str) -> dict[str, Any]:
    document = _load(WORKFLOWS / name)
    writers = [job for job in document["jobs"].values() if "contents" in _write_permissions(job)]
    assert len(writers) == 1, name
    return writers[0]


def test_a_release_record_never_waits_in_a_group_that_main_pushes_join() -> None:
    # GitHub keeps one running and one pending job per concurrency group and cancels the pending
    # one when another is queued (cancel-in-progress only adds cancelling the running one).  A tag's
    # record must therefore have a group that no other run joins.
    main, tags = _history_writer("main.yml"), _history_writer("tags.yml")
    assert main["concurrency"] == {"group": "benchwatch-history-main", "cancel-in-progress": False}
    assert tags["concurrency"] == {"group": "benchwatch-history-tag-${{ github.ref }}", "cancel-in-progress": False}
    assert _load(WORKFLOWS / "tags.yml")["concurrency"]["group"] == "tags-${{ github.ref }}"
    deploy = _load(WORKFLOWS / "main.yml")["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def _writer_script(name: str) -> str:
    steps = [step for step in _history_writer(name)["steps"] if "benchwatch record" in step.get("run", "")]
    assert len(steps) == 1
    return steps[0]["run"]


def test_main_never_overwrites_a_record_and_neither_writer_rebases() -> None:
    main, tags = _writer_script("main.yml"), _writer_script("tags.yml")
    record = [line for line in main.splitlines() if "benchwatch record" in line]
    assert len(record) == 1 and "--skip-existing" in record[0] and "--replace" not in record[0]
    assert '--tag "$TAG" --replace' in tags
    for script in (main, tags):
        assert "--rebase" not in script and "git rebase" not in script
        # the record happens inside the retry loop, on a fresh clone each time
        loop = script[script.index("for attempt in") : script.index("done")]
        assert "git clone" in loop and "benchwatch record" in loop and "push --quiet origin" in loop


FAKE_SERVER = "https://github.invalid"


def _bare_remote(tmp_path: Path) -> tuple[Path, str]:
    server = tmp_path / "server"
    (server / "owner").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--bare", str(server / "owner" / "repo.git")], check=True)
    return server, f"file://{server}"


def _run_writer(name: str, tmp_path: Path, server_url: str, label: str) -> subprocess.Popen:
    work = tmp_path / label
    work.mkdir()
    script = work / "step.sh"
    script.write_text(_writer_script(name))
    # The scripts build https:// URLs (the trend report's commit links must be web links);
    # git is pointed at the local bare repository through the user's git configuration.
    (work / ".gitconfig").write_text(f'[url "{server_url}/"]\n\tinsteadOf = {FAKE_SERVER}/\n')
    fixture = ROOT / "tests" / "fixtures" / "results" / "v2_result.json"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(work),
        "GH_TOKEN": "not-a-token",
        "GITHUB_SERVER_URL": FAKE_SERVER,
        "GITHUB_REPOSITORY": "owner/repo",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "TAG": "v1.0",
        "RESULT": str(fixture),
        "HISTORY": str(work / "history"),
        "SITE": str(work / "site"),
    }
    return subprocess.Popen(
        ["bash", "-eo", "pipefail", str(script)],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _recorded(tmp_path: Path, server_url: str) -> list[tuple[str, tuple[str, ...]]]:
    from benchwatch.history import store

    clone = tmp_path / "check"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", "benchwatch-history", f"{server_url}/owner/repo.git", str(clone)],
        check=True,
    )
    return [(record.commit[:8], record.tags) for record in store.load_history(clone / "history").records]


@pytest.mark.slow  # races the real record scripts against a bare repository
@pytest.mark.parametrize("order", ["main-first", "tag-first", "together"])
def test_a_tag_record_survives_main_recording_the_same_commit(tmp_path: Path, order: str) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _, url = _bare_remote(tmp_path)
    names = ["main.yml", "tags.yml"] if order != "tag-first" else ["tags.yml", "main.yml"]
    processes = []
    for index, name in enumerate(names):
        processes.append(_run_writer(name, tmp_path, url, f"writer-{index}"))
        if order != "together":
            output, _ = processes[-1].communicate(timeout=300)
            assert processes[-1].returncode == 0, output
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
    assert _recorded(tmp_path, url) == [("01234567", ("v1.0",))]
    # Both writers keep the result itself: the base of one-side PR runs.
    kept = tmp_path / "check" / "history" / "results" / "0123456789abcdef0123456789abcdef01234567.json.gz"
    assert kept.is_file()


def test_the_workflows_in_the_adoption_guide_are_valid(tmp_path: Path) -> None:
    """docs/github-action.md's copy-paste YAML: schema-valid, zizmor-clean, no `${{` in run:."""
    text = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) == 3  # pr-benchmarks (compare), pr-report, pr-benchmarks (one-side)
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for index, block in enumerate(blocks):
        block = block.replace("OWNER/benchwatch@SHA", "octo/benchwatch@" + "a" * 40 + " # v0.1.0")
        path = folder / f"guide{index}.yml"
        path.write_text(block, encoding="utf-8")
        for where, step in _steps(_load(path)):
            assert "${{" not in str(step.get("run", "")), f"guide block {index} {where}"
    checker, auditor = _tool("check-jsonschema"), _tool("zizmor")
    files = sorted(map(str, folder.glob("*.yml")))
    completed = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    completed = subprocess.run(
        [auditor, "--offline", "--no-progress", str(folder)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def _artifact_check() -> str:
    script = next(step["run"] for _, step in _steps(_load(ACTION)) if "expands beyond 64 MiB" in step.get("run", ""))
    lines = script.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == "for name in base.json.gz head.json.gz; do")
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    last = next(i for i in range(first, len(lines)) if lines[i] == f"{indent}done")
    return "\n".join(line.removeprefix(indent) for line in lines[first : last + 1])


@pytest.mark.parametrize(("kind", "expected"), [("small", 0), ("bomb", 2)])
def test_the_action_caps_artifact_files_after_decompression(tmp_path: Path, kind: str, expected: int) -> None:
    import gzip
    import zlib

    for name in ("base.json.gz", "head.json.gz"):
        if kind == "small":
            (tmp_path / name).write_bytes(gzip.compress(b'{"schema_version": 3}'))
            continue
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        with open(tmp_path / name, "wb") as stream:  # 65 MiB of spaces in about 65 KB
            for _ in range(65):
                stream.write(compressor.compress(b" " * (1 << 20)))
            stream.write(compressor.flush())
    script = f'set -euo pipefail\nsrc="{tmp_path}"\n{_artifact_check()}\necho checked\n'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == expected, done.stdout + done.stderr
    if expected:
        assert done.stdout == "::error title=benchwatch::artifact: base.json.gz expands beyond 64 MiB\n"
    else:
        assert done.stdout == "checked\n"
