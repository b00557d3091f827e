"""``benchwatch github-report``: post a rendered comparison to GitHub.

    benchwatch github-report --markdown report.md --comparison-json comparison.json --summary

Creates a check run on the PR head (``failure`` for a regression with
``--fail-on regression``, ``neutral`` when inconclusive, else ``success``),
then creates or edits in place one sticky PR comment found by a hidden
marker, and with ``--summary`` appends the Markdown to the job summary.

Reads the Actions environment (GITHUB_API_URL, GITHUB_REPOSITORY,
GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_SERVER_URL,
GITHUB_RUN_ID, GITHUB_STEP_SUMMARY) and the token from $GITHUB_TOKEN (or the
variable named by --token-env); the token is never printed.  From a
``pull_request`` run of a fork it refuses to post (read-only token): upload
the results and the event payload as an artifact and run this command from a
``workflow_run`` workflow with ``--artifact-event``.  Exit codes: 0 posted
(whatever the verdict: the check run is the gate), 2 usage, input or API error.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from benchwatch.compare.verdict import VERDICTS, Verdict
from benchwatch.errors import EXIT_OK, EXIT_REGRESSION, InputError, UsageError

#: Environment variables passed to :meth:`GitHubContext.from_env`.
CONTEXT_VARIABLES = (
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
    "GITHUB_SHA",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_STEP_SUMMARY",
)


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "github-report",
        help="post the PR comment, check run and job summary to GitHub",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--markdown", required=True, metavar="FILE", help="the rendered PR comment body (Markdown)")
    verdict = parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--verdict", choices=VERDICTS, help="overall verdict of the comparison")
    verdict.add_argument(
        "--comparison-json", metavar="FILE", help="read the verdict from a benchwatch-comparison JSON file"
    )
    parser.add_argument("--event", metavar="FILE", help="event payload (default: $GITHUB_EVENT_PATH)")
    parser.add_argument(
        "--artifact-event",
        metavar="FILE",
        help="in a workflow_run workflow: the pull_request event payload the first workflow uploaded "
        "(untrusted: validated, and checked against the run's head commit)",
    )
    parser.add_argument(
        "--comment",
        choices=("always", "on-change", "never"),
        default="always",
        help="post the sticky comment always (default), only when the verdict is not 'unchanged' "
        "(an existing comment is still updated), or never",
    )
    parser.add_argument(
        "--check-name", default="benchwatch", metavar="NAME", help="check run name (default: benchwatch)"
    )
    parser.add_argument("--no-check", action="store_true", help="create no check run")
    parser.add_argument(
        "--fail-on",
        choices=(Verdict.REGRESSION, "never"),
        default=Verdict.REGRESSION,
        help="check run concludes 'failure' on a regression (default) or never",
    )
    parser.add_argument(
        "--marker", default="benchwatch", help="sticky comment marker (default: benchwatch); one per report kind"
    )
    parser.add_argument(
        "--comment-author",
        metavar="LOGIN",
        help="only treat comments by LOGIN (e.g. 'github-actions[bot]') as the sticky comment",
    )
    parser.add_argument("--summary", action="store_true", help="also append the Markdown to $GITHUB_STEP_SUMMARY")
    parser.add_argument("--dry-run", action="store_true", help="print what would be posted; post nothing")
    parser.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="NAME",
        help="environment variable holding the token (default: GITHUB_TOKEN)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="per-request timeout (default: 10)"
    )
    parser.set_defaults(handler=handle)
    register_gate(subparsers)
    return parser


def register_gate(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "github-gate",
        help="a measuring job's step outputs, job summary and gate",
        description="In a GitHub Actions step: write verdict, report-markdown and report-json to $GITHUB_OUTPUT, "
        "with --summary append the Markdown to $GITHUB_STEP_SUMMARY, and with --fail-on regression exit 1 on a "
        "regression - except in a pull_request run of a fork, which must succeed so that its workflow_run "
        "report (whose check run is the gate) runs. Posts nothing. Exit codes: 0 passed, 1 gated regression, "
        "2 usage or input error.",
    )
    parser.add_argument("--markdown", required=True, metavar="FILE", help="the rendered PR comment (Markdown)")
    parser.add_argument(
        "--comparison-json", required=True, metavar="FILE", help="the benchwatch-comparison JSON of the same comparison"
    )
    parser.add_argument("--summary", action="store_true", help="append the Markdown to $GITHUB_STEP_SUMMARY")
    parser.add_argument(
        "--fail-on",
        choices=(Verdict.REGRESSION, "never"),
        default="never",
        help="exit 1 on a regression (not in a fork pull_request run), or never (default)",
    )
    parser.set_defaults(handler=handle_gate)
    return parser


def handle(args: argparse.Namespace) -> int:
    # Imported here so that other commands do not pay for requests at start-up.
    import requests

    from benchwatch.github.client import GitHubClient
    from benchwatch.github.context import GitHubContext, load_event_file, refuse_fork_posting
    from benchwatch.github.publish import plan_report, publish_report, read_comparison_verdict
    from benchwatch.github.summary import append_step_summary

    markdown = _read_markdown(args.markdown)
    verdict = args.verdict if args.verdict is not None else read_comparison_verdict(args.comparison_json)
    env = {name: os.environ[name] for name in CONTEXT_VARIABLES if name in os.environ}
    event_path = args.event or os.environ.get("GITHUB_EVENT_PATH") or None
    event: dict[str, Any] = load_event_file(event_path) if event_path else {}
    artifact_event = load_event_file(args.artifact_event) if args.artifact_event else None
    if artifact_event is not None and env.get("GITHUB_EVENT_NAME") != "workflow_run":
        raise UsageError("--artifact-event is only for workflow_run runs (GITHUB_EVENT_NAME=workflow_run)")
    ctx = GitHubContext.from_env(env, event, artifact_event=artifact_event)

    plan = plan_report(
        ctx=ctx,
        markdown=markdown,
        verdict=verdict,
        comment_mode=args.comment,
        marker=args.marker,
        check_name=None if args.no_check else args.check_name,
        fail_on=args.fail_on,
    )
    posting = plan.check is not None or plan.comment_action != "skip"
    summary_path = ctx.step_summary_path
    if args.summary and summary_path is None:
        raise UsageError("--summary needs $GITHUB_STEP_SUMMARY (set by GitHub Actions)")

    if args.dry_run:
        _print_plan(plan, ctx, summary_path if args.summary else None)
        if posting:
            refuse_fork_posting(ctx)
        return EXIT_OK

    if args.summary:
        assert summary_path is not None  # checked above: --summary without GITHUB_STEP_SUMMARY is a usage error
        written = append_step_summary(summary_path, markdown)
        note = " (cut to fit the 1 MiB limit)" if written.truncated else ""
        print(f"job summary: appended {written.bytes_written} bytes{note}")
    if not posting:
        print(f"comment: skipped ({plan.comment_reason})")
        return EXIT_OK
    refuse_fork_posting(ctx)
    token = os.environ.get(args.token_env) or None
    if token is None:
        raise UsageError(f"no GitHub token: set ${args.token_env} (e.g. env: GITHUB_TOKEN: ${{{{ github.token }}}})")
    with requests.Session() as session:
        client = GitHubClient(session, api_url=ctx.api_url, token=token, timeout=args.timeout)
        result = publish_report(client, plan, ctx=ctx, comment_author=args.comment_author)
    if result.check_run is not None:
        check = plan.check or {}
        url = result.check_run.get("html_url") or ""
        print(f"check run {check.get('name')}: {check.get('conclusion')} {url}".rstrip())
    if result.comment is not None:
        print(f"comment {result.comment_outcome}: {result.comment.get('html_url') or ''}".rstrip())
    else:
        reason = plan.comment_reason or "no existing comment"
        if plan.comment_action == "update-only":
            reason = "verdict unchanged and no earlier comment to refresh"
        print(f"comment: skipped ({reason})")
    return EXIT_OK


def handle_gate(args: argparse.Namespace) -> int:
    from benchwatch.github.context import is_fork_pull_request, load_event_file
    from benchwatch.github.publish import read_comparison_verdict
    from benchwatch.github.summary import append_step_outputs, append_step_summary

    verdict = read_comparison_verdict(args.comparison_json)
    markdown = _read_markdown(args.markdown)
    outputs = {"verdict": verdict, "report-markdown": args.markdown, "report-json": args.comparison_json}
    if os.environ.get("GITHUB_OUTPUT"):
        append_step_outputs(os.environ["GITHUB_OUTPUT"], outputs)
    print(f"benchwatch verdict: {verdict}")
    if args.summary:
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not summary_path:
            raise UsageError("--summary needs $GITHUB_STEP_SUMMARY (set by GitHub Actions)")
        append_step_summary(summary_path, markdown)
    if verdict != Verdict.REGRESSION or args.fail_on != Verdict.REGRESSION:
        return EXIT_OK
    event_path = os.environ.get("GITHUB_EVENT_PATH")
    event = load_event_file(event_path) if event_path else {}
    if is_fork_pull_request(os.environ.get("GITHUB_EVENT_NAME"), event):
        print(
            "::notice title=benchwatch::performance regression; not failing this fork pull_request run: "
            "the check run posted by the workflow_run report is the gate"
        )
        return EXIT_OK
    print("::error title=benchwatch::performance regression (fail-on: regression)")
    return EXIT_REGRESSION


def _read_markdown(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "Markdown file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "Markdown file is not UTF-8") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror}") from None


def _print_plan(plan: Any, ctx: Any, summary_path: str | None) -> None:
    print("dry run: nothing is posted")
    print(f"api: {ctx.api_url}")
    print(f"repository: {plan.repository}")
    if plan.check is not None:
        check = {key: value for key, value in plan.check.items() if key != "summary"}
        check["summary_chars"] = len(plan.check["summary"])
        print(f"check run: {json.dumps(check)}")
    else:
        print("check run: none (--no-check)")
    if plan.comment_action == "skip":
        print(f"comment: skipped ({plan.comment_reason})")
    else:
        what = "create or update" if plan.comment_action == "create-or-update" else "update only if it exists"
        print(
            f"comment: {what} the sticky comment '{plan.marker}' on PR #{plan.pr_number} "
            f"({len(plan.comment_body)} characters)"
        )
        if ctx.pr_from_artifact:
            print("comment: PR number read from the artifact payload; verified against the API before posting")
    if summary_path is not None:
        print(f"job summary: would append to {summary_path}")
    if ctx.is_fork_pull_request:
        print("note: this is a pull_request run of a fork; posting would be refused")
    if plan.comment_action != "skip":
        print("--- comment body ---")
        print(plan.comment_body, end="")
