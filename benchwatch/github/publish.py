"""Publishing a rendered comparison to a pull request: sticky comment and check run.

:func:`plan_report` decides what to post from the verdict and options
(pure; also what ``--dry-run`` shows); :func:`publish_report` carries the
plan out with a :class:`~benchwatch.github.client.GitHubClient`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from benchwatch.compare.verdict import VERDICTS, Verdict
from benchwatch.errors import InputError, UsageError
from benchwatch.github.client import (
    MAX_CHECK_OUTPUT_CHARS,
    MAX_COMMENT_CHARS,
    GitHubClient,
    check_length,
    positive_int,
    sticky_body,
)
from benchwatch.github.context import GitHubContext, check_pull_request_head, read_capped_json

COMMENT_MODES = ("always", "on-change", "never")
FAIL_ON = (Verdict.REGRESSION, "never")

CHECK_TITLES: dict[str, str] = {
    Verdict.REGRESSION: "Performance regression detected",
    Verdict.IMPROVEMENT: "Performance improved",
    Verdict.UNCHANGED: "No significant performance change",
    Verdict.INCONCLUSIVE: "Inconclusive: not enough evidence either way",
}


def check_conclusion(verdict: str, fail_on: str) -> str:
    """Check run conclusion: ``failure`` for a gated regression, ``neutral`` when inconclusive, else ``success``."""
    _choice(verdict, VERDICTS, "verdict")
    _choice(fail_on, FAIL_ON, "--fail-on")
    if verdict == Verdict.REGRESSION and fail_on == Verdict.REGRESSION:
        return "failure"
    if verdict == Verdict.INCONCLUSIVE:
        return "neutral"
    return "success"


@dataclass(frozen=True)
class ReportPlan:
    """What a report would post."""

    repository: str
    #: Pull request to comment on (None: no comment - not a PR run).
    pr_number: int | None
    #: ``create-or-update``, ``update-only`` (on-change with an unchanged verdict:
    #: refresh an existing comment so it is never stale, create none) or ``skip``.
    comment_action: str
    #: Why the comment is skipped or update-only (empty otherwise).
    comment_reason: str
    #: The full comment body, marker included.
    comment_body: str
    marker: str
    #: Check run to create, or None.
    check: dict[str, Any] | None


def plan_report(
    *,
    ctx: GitHubContext,
    markdown: str,
    verdict: str,
    comment_mode: str,
    marker: str,
    check_name: str | None,
    fail_on: str,
) -> ReportPlan:
    """Decide what to post (no network).  ``check_name=None`` creates no check run."""
    _choice(verdict, VERDICTS, "verdict")
    _choice(comment_mode, COMMENT_MODES, "--comment")
    if ctx.repository is None:
        raise UsageError("GITHUB_REPOSITORY is not set: cannot tell which repository to post to")
    if comment_mode == "never":
        action, reason = "skip", "--comment never"
    elif ctx.pr_number is None:
        action, reason = "skip", f"no pull request in this {ctx.event_name or 'unknown'} event"
    elif comment_mode == "on-change" and verdict == Verdict.UNCHANGED:
        action, reason = "update-only", "verdict unchanged: only an existing comment is refreshed"
    else:
        action, reason = "create-or-update", ""
    check = None
    if check_name is not None:
        if ctx.head_sha is None:
            raise UsageError("no head commit sha (GITHUB_SHA or the event payload) to attach the check run to")
        check = {
            "name": check_name,
            "head_sha": ctx.head_sha,
            "conclusion": check_conclusion(verdict, fail_on),
            "title": CHECK_TITLES[verdict],
            "summary": markdown,
            "details_url": ctx.run_url,
        }
    body = sticky_body(markdown, marker)
    if action != "skip":
        check_length(body, MAX_COMMENT_CHARS, "comment body (with the benchwatch marker)")
    if check is not None:
        check_length(markdown, MAX_CHECK_OUTPUT_CHARS, "check run summary")
    return ReportPlan(
        repository=ctx.repository,
        pr_number=ctx.pr_number,
        comment_action=action,
        comment_reason=reason,
        comment_body=body,
        marker=marker,
        check=check,
    )


@dataclass(frozen=True)
class ReportResult:
    """What :func:`publish_report` did."""

    #: ``created``, ``updated`` or ``skipped``.
    comment_outcome: str
    comment: dict[str, Any] | None
    check_run: dict[str, Any] | None


def publish_report(
    client: GitHubClient, plan: ReportPlan, *, ctx: GitHubContext, comment_author: str | None = None
) -> ReportResult:
    """Carry out ``plan``: create the check run, then post or refresh the sticky comment.

    The check run goes first: it is the gate a branch protection rule may
    require, so a comment that cannot be posted (say, a token without
    ``pull-requests: write``) must not leave the required check missing.
    A PR number that came from an untrusted artifact is verified against
    the API (its head must be the ``workflow_run`` head sha) before commenting.
    """
    check_run = None
    if plan.check is not None:
        check_run = client.create_check_run(plan.repository, **plan.check)
    comment = None
    outcome = "skipped"
    if plan.comment_action != "skip":
        assert plan.pr_number is not None
        if ctx.pr_from_artifact:
            assert ctx.head_sha is not None
            pull = client.get_pull_request(plan.repository, plan.pr_number)
            check_pull_request_head(pull, number=plan.pr_number, head_sha=ctx.head_sha)
        existing = client.find_sticky_comment(plan.repository, plan.pr_number, plan.marker, author=comment_author)
        if existing is not None:
            comment_id = positive_int(existing.get("id"), "id of the existing sticky comment")
            comment = client.update_comment(plan.repository, comment_id, plan.comment_body)
            outcome = "updated"
        elif plan.comment_action == "create-or-update":
            comment = client.create_comment(plan.repository, plan.pr_number, plan.comment_body)
            outcome = "created"
    return ReportResult(comment_outcome=outcome, comment=comment, check_run=check_run)


#: A comparison JSON larger than this is not read just for its verdict.
MAX_COMPARISON_BYTES = 64 * 1024 * 1024


def read_comparison_verdict(path: str | os.PathLike[str]) -> str:
    """The overall ``verdict`` of a ``benchwatch-comparison`` JSON file (version 1).

    An unknown format or version is an error rather than a guess.
    """
    from benchwatch.render.json_report import FORMAT, VERSION

    document = read_capped_json(path, max_bytes=MAX_COMPARISON_BYTES, what="comparison file")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(path, f"not a {FORMAT} file (write one with: benchwatch compare --format json)")
    version = document.get("version")
    if version != VERSION:
        raise InputError(
            path, f"{FORMAT} version {version!r:.20} is not supported (this benchwatch reads version {VERSION})"
        )
    verdict = document.get("verdict")
    if verdict not in VERDICTS:
        raise InputError(path, f"verdict must be one of {', '.join(VERDICTS)}: got {verdict!r:.40}")
    return verdict


def _choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise UsageError(f"{what} must be one of {', '.join(choices)}: got {value!r:.40}")
