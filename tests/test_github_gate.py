"""``benchwatch github-gate``: a measuring job's step outputs, job summary and gate (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchwatch import cli

REPO = "octo/widgets"


def _event(head_repo: str) -> dict:
    return {
        "number": 5,
        "pull_request": {
            "number": 5,
            "head": {"sha": "1" * 40, "repo": {"full_name": head_repo}},
            "base": {"sha": "2" * 40, "repo": {"full_name": REPO}},
        },
    }


@pytest.fixture
def step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A step's files: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, the event; a comparison and its comment."""
    files = {
        "output": tmp_path / "output",
        "summary": tmp_path / "summary.md",
        "event": tmp_path / "event.json",
        "markdown": tmp_path / "comment.md",
        "json": tmp_path / "comparison.json",
    }
    files["markdown"].write_text("## benchwatch\nregression in parse\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(files["event"]))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")

    def run(verdict: str, *args: str, head_repo: str = REPO) -> int:
        files["event"].write_text(json.dumps(_event(head_repo)))
        document = {"format": "benchwatch-comparison", "version": 1, "verdict": verdict, "comparisons": []}
        files["json"].write_text(json.dumps(document))
        return cli.main(
            ["github-gate", "--markdown", str(files["markdown"]), "--comparison-json", str(files["json"]), *args]
        )

    return run, files


def test_outputs_summary_and_a_failing_gate_in_a_same_repository_pr(step, capsys) -> None:
    run, files = step
    assert run("regression", "--summary", "--fail-on", "regression") == 1
    out = capsys.readouterr().out
    assert "benchwatch verdict: regression" in out
    assert "::error title=benchwatch::performance regression (fail-on: regression)" in out
    assert files["output"].read_text().splitlines() == [
        "verdict=regression",
        f"report-markdown={files['markdown']}",
        f"report-json={files['json']}",
    ]
    assert files["summary"].read_text() == files["markdown"].read_text()


def test_a_fork_pr_reports_the_regression_without_failing(step, capsys) -> None:
    run, _ = step
    assert run("regression", "--fail-on", "regression", head_repo="mallory/widgets") == 0
    assert "::notice title=benchwatch::performance regression; not failing this fork" in capsys.readouterr().out


@pytest.mark.parametrize(("verdict", "fail_on"), [("regression", "never"), ("inconclusive", "regression")])
def test_no_gate_without_a_gated_regression(step, verdict: str, fail_on: str) -> None:
    run, files = step
    assert run(verdict, "--fail-on", fail_on) == 0
    assert f"verdict={verdict}" in files["output"].read_text()
    assert not files["summary"].exists()  # only with --summary


def test_a_path_with_a_line_break_cannot_set_other_outputs(step, tmp_path: Path, capsys) -> None:
    _, files = step
    sneaky = tmp_path / "x\nverdict=unchanged"
    sneaky.mkdir()
    markdown = sneaky / "comment.md"
    markdown.write_text("text\n")
    files["json"].write_text(json.dumps({"format": "benchwatch-comparison", "version": 1, "verdict": "regression"}))
    code = cli.main(["github-gate", "--markdown", str(markdown), "--comparison-json", str(files["json"])])
    assert code == 2 and "must be one line" in capsys.readouterr().err
    assert not files["output"].exists() or "unchanged" not in files["output"].read_text()


def test_a_bad_comparison_file_is_an_input_error(step, capsys) -> None:
    _, files = step
    files["json"].write_text("{}")
    code = cli.main(["github-gate", "--markdown", str(files["markdown"]), "--comparison-json", str(files["json"])])
    assert code == 2 and "not a benchwatch-comparison file" in capsys.readouterr().err
