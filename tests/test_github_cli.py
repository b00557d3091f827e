"""``benchwatch github-report`` end to end against the fake GitHub API, configured by environment variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_github import FakeGitHub, fake_github, fake_github_factory  # noqa: F401

from benchwatch import cli
from benchwatch.cli.github_command import CONTEXT_VARIABLES
from benchwatch.github.client import marker_comment

TOKEN = "ghs_CLIsecretTOKENvalue9876543210"
REPO = "octo/widgets"
PR = 12
HEAD = "1" * 40
MERGE = "2" * 40
MARK = marker_comment("benchwatch")


def pull_request_event(head_repo: str = REPO, number: int = PR) -> dict:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": HEAD, "repo": {"full_name": head_repo}},
            "base": {"sha": "3" * 40, "repo": {"full_name": REPO}},
        },
    }


class Actions:
    """The Actions environment of one test: files in tmp_path, variables via monkeypatch."""

    def __init__(self, fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
        self.fake, self.tmp, self.monkeypatch, self.capsys = fake, tmp_path, monkeypatch, capsys
        self.summary = tmp_path / "step_summary.md"
        self.event = tmp_path / "event.json"
        self.outputs: list[str] = []
        for name in (*CONTEXT_VARIABLES, "GITHUB_EVENT_PATH", "GITHUB_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        self.set_event("pull_request", pull_request_event())
        for name, value in {
            "GITHUB_API_URL": fake.api_url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_SHA": MERGE,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }.items():
            monkeypatch.setenv(name, value)

    def set_event(self, name: str, payload: dict) -> None:
        self.event.write_text(json.dumps(payload))
        self.monkeypatch.setenv("GITHUB_EVENT_NAME", name)
        self.monkeypatch.setenv("GITHUB_EVENT_PATH", str(self.event))

    def markdown(self, text: str) -> str:
        path = self.tmp / "report.md"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def run(self, *args: str, markdown: str = "## benchwatch\n| bench | change |\n") -> tuple[int, str, str]:
        code = cli.main(["github-report", "--markdown", self.markdown(markdown), *args])
        out, err = self.capsys.readouterr()
        self.outputs += [out, err]
        return code, out, err

    def assert_token_never_leaked(self) -> None:
        files = [p.read_text(errors="replace") for p in self.tmp.rglob("*") if p.is_file()]
        for text in [*self.outputs, *files]:
            assert TOKEN not in text


@pytest.fixture
def gh(fake_github, tmp_path, monkeypatch, capsys):
    actions = Actions(fake_github, tmp_path, monkeypatch, capsys)
    yield actions
    actions.assert_token_never_leaked()


def test_always_posts_comment_check_run_and_summary_then_updates(gh):
    code, out, err = gh.run("--verdict", "regression", "--summary")
    assert (code, err) == (0, "")
    (comment,) = gh.fake.pr_comments(REPO, PR)
    assert comment["body"] == f"## benchwatch\n| bench | change |\n\n{MARK}\n"
    (check,) = gh.fake.check_runs.values()
    assert check["head_sha"] == HEAD  # the PR head, not GITHUB_SHA's merge commit
    assert (check["name"], check["status"], check["conclusion"]) == ("benchwatch", "completed", "failure")
    assert check["details_url"] == f"https://github.example/{REPO}/actions/runs/4242"
    assert check["output"]["summary"] == "## benchwatch\n| bench | change |\n"
    assert gh.summary.read_text() == "## benchwatch\n| bench | change |\n"
    assert "comment created: https://github.example/" in out and "check run benchwatch: failure" in out
    first_requests = [(r.method, r.headers["authorization"]) for r in gh.fake.requests]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in first_requests)

    code, out, _ = gh.run("--verdict", "improvement", markdown="## second run\n")
    assert code == 0 and "comment updated" in out
    assert [c["body"] for c in gh.fake.pr_comments(REPO, PR)] == [f"## second run\n\n{MARK}\n"]
    assert len(gh.fake.check_runs) == 2 and list(gh.fake.check_runs.values())[-1]["conclusion"] == "success"


def test_on_change_skips_unchanged_but_refreshes_an_existing_comment(gh):
    code, out, _ = gh.run("--verdict", "unchanged", "--comment", "on-change")
    assert code == 0 and "comment: skipped (verdict unchanged and no earlier comment to refresh)" in out
    assert gh.fake.pr_comments(REPO, PR) == [] and gh.fake.sent("POST", "comments") == []
    assert [r["conclusion"] for r in gh.fake.check_runs.values()] == ["success"]

    gh.run("--verdict", "regression", "--comment", "on-change", markdown="regressed\n")
    assert [c["body"] for c in gh.fake.pr_comments(REPO, PR)] == [f"regressed\n\n{MARK}\n"]

    code, out, _ = gh.run("--verdict", "unchanged", "--comment", "on-change", markdown="back to normal\n")
    assert code == 0 and "comment updated" in out
    assert [c["body"] for c in gh.fake.pr_comments(REPO, PR)] == [f"back to normal\n\n{MARK}\n"]  # never stale


def test_never_makes_no_comment_requests(gh):
    gh.fake.add_comment(REPO, PR, f"old\n\n{MARK}\n")
    code, out, _ = gh.run("--verdict", "inconclusive", "--comment", "never")
    assert code == 0 and "comment: skipped (--comment never)" in out
    assert gh.fake.sent(path="comments") == []
    assert [r["conclusion"] for r in gh.fake.check_runs.values()] == ["neutral"]


def test_verdict_from_comparison_json_and_fail_on_never(gh):
    comparison = gh.tmp / "comparison.json"
    comparison.write_text(
        json.dumps({"format": "benchwatch-comparison", "version": 1, "verdict": "regression", "comparisons": []})
    )
    code, _, _ = gh.run("--comparison-json", str(comparison), "--fail-on", "never", "--check-name", "perf")
    assert code == 0
    (check,) = gh.fake.check_runs.values()
    assert (check["name"], check["conclusion"], check["output"]["title"]) == (
        "perf",
        "success",
        "Performance regression detected",
    )

    comparison.write_text(json.dumps({"format": "benchwatch-comparison", "version": 7, "verdict": "regression"}))
    code, _, err = gh.run("--comparison-json", str(comparison))
    assert code == 2 and "benchwatch-comparison version 7 is not supported" in err


def test_enterprise_api_url_prefix_and_custom_token_variable(fake_github_factory, tmp_path, monkeypatch, capsys):
    fake = fake_github_factory(prefix="/api/v3", token=TOKEN)  # the fake answers 401 to any other token
    gh = Actions(fake, tmp_path, monkeypatch, capsys)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("BENCH_TOKEN", TOKEN)
    code, _, err = gh.run("--verdict", "unchanged", "--token-env", "BENCH_TOKEN")
    assert (code, err) == (0, "")
    assert all(r.raw_path.startswith("/api/v3/repos/octo/widgets/") for r in fake.requests)
    assert len(fake.pr_comments(REPO, PR)) == 1
    gh.assert_token_never_leaked()


def test_missing_token_is_a_usage_error(gh):
    gh.monkeypatch.delenv("GITHUB_TOKEN")
    code, _out, err = gh.run("--verdict", "unchanged")
    assert code == 2 and "no GitHub token: set $GITHUB_TOKEN" in err
    assert gh.fake.requests == []


def test_api_errors_exit_2_with_one_line_and_no_token(gh):
    gh.fake.fail(403, message="Resource not accessible by integration", method="POST", path="check-runs")
    code, _out, err = gh.run("--verdict", "regression")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(
        f"benchwatch: error: GitHub API POST /repos/{REPO}/check-runs: HTTP 403: Resource not accessible by integration"
    )
    assert gh.fake.sent("POST", "comments") == []


def test_fork_pull_request_is_refused_but_summary_only_works(gh):
    gh.set_event("pull_request", pull_request_event(head_repo="mallory/widgets"))
    code, _, err = gh.run("--verdict", "regression", "--summary")
    assert code == 2
    assert "refusing to post from a pull_request run of a fork: its token is read-only" in err
    assert gh.fake.requests == []
    code, _out, err = gh.run("--verdict", "regression", "--summary", "--comment", "never", "--no-check")
    assert (code, err) == (0, "") and gh.fake.requests == []
    assert gh.summary.read_text().count("## benchwatch") == 2  # the refused run still wrote its summary


def test_workflow_run_posts_to_the_pr_named_by_a_verified_artifact(gh):
    gh.set_event(
        "workflow_run", {"workflow_run": {"head_sha": HEAD, "pull_requests": [], "repository": {"full_name": REPO}}}
    )
    artifact = gh.tmp / "artifact-event.json"
    artifact.write_text(json.dumps(pull_request_event(head_repo="mallory/widgets", number=31)))
    gh.fake.add_pull(REPO, 31, HEAD)
    code, _out, err = gh.run("--verdict", "improvement", "--artifact-event", str(artifact))
    assert (code, err) == (0, "")
    assert len(gh.fake.pr_comments(REPO, 31)) == 1
    assert [r["head_sha"] for r in gh.fake.check_runs.values()] == [HEAD]
    assert gh.fake.sent("GET", f"/repos/{REPO}/pulls/31")


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (lambda e: e.update(number="31; rm -rf /"), "number must be a positive integer"),
        (lambda e: e["pull_request"]["head"].update(sha="f" * 40), "is not the workflow_run head sha"),
        (lambda e: e["pull_request"]["base"]["repo"].update(full_name="other/repo"), "base repository other/repo"),
    ],
)
def test_workflow_run_rejects_a_tampered_artifact(gh, tamper, problem):
    gh.set_event("workflow_run", {"workflow_run": {"head_sha": HEAD, "pull_requests": []}})
    payload = pull_request_event(head_repo="mallory/widgets", number=31)
    tamper(payload)
    artifact = gh.tmp / "artifact-event.json"
    artifact.write_text(json.dumps(payload))
    code, _, err = gh.run("--verdict", "improvement", "--artifact-event", str(artifact))
    assert code == 2 and problem in err and err.count("\n") == 1
    assert gh.fake.requests == []


def test_dry_run_prints_and_posts_nothing(gh):
    gh.monkeypatch.delenv("GITHUB_TOKEN")
    code, out, err = gh.run("--verdict", "regression", "--dry-run", "--summary")
    assert (code, err) == (0, "")
    assert gh.fake.requests == [] and not gh.summary.exists()
    assert "dry run: nothing is posted" in out
    assert f"the sticky comment 'benchwatch' on PR #{PR}" in out
    assert '"conclusion": "failure"' in out and f'"head_sha": "{HEAD}"' in out
    assert out.endswith(f"{MARK}\n")


def test_oversized_markdown_is_refused_before_any_request(gh):
    code, _, err = gh.run("--verdict", "regression", markdown="x" * 65_536)
    assert code == 2 and "over GitHub's 65536-character limit" in err
    assert gh.fake.requests == []


def test_push_event_creates_only_the_check_run(gh):
    gh.set_event("push", {"ref": "refs/heads/main"})
    code, out, _ = gh.run("--verdict", "unchanged")
    assert code == 0 and "comment: skipped (no pull request in this push event)" in out
    assert [r["head_sha"] for r in gh.fake.check_runs.values()] == [MERGE]
    assert gh.fake.sent(path="comments") == []
