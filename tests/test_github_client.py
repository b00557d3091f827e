"""GitHub REST client, Actions context and job summary against a fake API on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import pytest
import requests
from fake_github import FakeGitHub, fake_github, fake_github_factory  # noqa: F401

from benchwatch.github.client import (
    MAX_CHECK_OUTPUT_CHARS,
    MAX_COMMENT_CHARS,
    GitHubClient,
    GitHubError,
    comment_body_limit,
    marker_comment,
)
from benchwatch.github.context import (
    FORK_REFUSAL,
    ContextError,
    ForkPostingRefused,
    GitHubContext,
    UntrustedPayloadError,
    is_fork_pull_request,
    parse_untrusted_pull_request,
    refuse_fork_posting,
)
from benchwatch.github.publish import plan_report, publish_report
from benchwatch.github.secrets import Secret, redact
from benchwatch.github.summary import TRUNCATION_NOTE, append_step_summary

TOKEN = "ghs_TOPSECRETtoken0123456789abcdef"
REPO = "octo/widgets"
PR = 7
SHA = "a" * 40
MARK = marker_comment("benchwatch")


class Sleeps(list):
    """An injected ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def session():
    with requests.Session() as s:
        yield s


def make_client(
    fake: FakeGitHub,
    session: requests.Session,
    sleeps: Sleeps,
    *,
    timeout: float = 5.0,
    max_retries: int = 4,
    backoff_base: float = 1.0,
    max_rate_limit_wait: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> GitHubClient:
    return GitHubClient(
        session,
        api_url=fake.api_url,
        token=TOKEN,
        sleep=sleeps,
        timeout=timeout,
        max_retries=max_retries,
        backoff_base=backoff_base,
        max_rate_limit_wait=max_rate_limit_wait,
        clock=clock,
    )


def pr_event(head_repo: str | None = REPO, base_repo: str = REPO, number: int = PR, sha: str = SHA) -> dict:
    head = {"sha": sha, "repo": {"full_name": head_repo} if head_repo else None}
    return {
        "number": number,
        "pull_request": {"number": number, "head": head, "base": {"sha": "b" * 40, "repo": {"full_name": base_repo}}},
    }


# -- exact requests ---------------------------------------------------------


def test_creates_sticky_comment_when_absent_with_exact_requests(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    comment = client.upsert_sticky_comment(REPO, PR, "## Benchmarks\nall good\n", "benchwatch")

    get, post = fake_github.requests
    assert (get.method, get.path, get.query) == ("GET", f"/repos/{REPO}/issues/{PR}/comments", {"per_page": "100"})
    assert (post.method, post.path) == ("POST", f"/repos/{REPO}/issues/{PR}/comments")
    assert post.json == {"body": f"## Benchmarks\nall good\n\n{MARK}\n"}
    for request in (get, post):
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"] == "benchwatch"
    assert comment["body"].endswith(f"{MARK}\n")
    assert len(fake_github.pr_comments(REPO, PR)) == 1
    assert sleeps == []


def test_finds_sticky_comment_on_page_three_and_patches_it(fake_github, session, sleeps):
    fake_github.seed_comments(REPO, PR, 210)
    sticky = fake_github.add_comment(REPO, PR, f"old report\n\n{MARK}\n")
    fake_github.seed_comments(REPO, PR, 39)  # 250 comments; the sticky one is #211, on page 3
    client = make_client(fake_github, session, sleeps)

    updated = client.upsert_sticky_comment(REPO, PR, "new report", "benchwatch")

    gets = fake_github.sent("GET")
    assert [r.query.get("page", "1") for r in gets] == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in gets)
    patches = fake_github.sent("PATCH")
    assert [(r.path, r.json) for r in patches] == [
        (f"/repos/{REPO}/issues/comments/{sticky['id']}", {"body": f"new report\n\n{MARK}\n"})
    ]
    assert fake_github.sent("POST") == []
    assert len(fake_github.pr_comments(REPO, PR)) == 250
    assert updated["id"] == sticky["id"]


def test_find_reads_every_page_and_returns_none_when_absent(fake_github, session, sleeps):
    fake_github.seed_comments(REPO, PR, 250)
    fake_github.add_comment(REPO, PR, f"x\n{marker_comment('other')}")  # another marker does not match
    client = make_client(fake_github, session, sleeps)
    assert client.find_sticky_comment(REPO, PR, "benchwatch") is None
    assert len(fake_github.sent("GET")) == 3


def test_second_upsert_updates_instead_of_duplicating(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    first = client.upsert_sticky_comment(REPO, PR, "one", "benchwatch")
    second = client.upsert_sticky_comment(REPO, PR, "two", "benchwatch")
    assert first["id"] == second["id"]
    assert [c["body"] for c in fake_github.pr_comments(REPO, PR)] == [f"two\n\n{MARK}\n"]


def test_author_filter_ignores_a_marker_pasted_by_someone_else(fake_github, session, sleeps):
    fake_github.add_comment(REPO, PR, f"gotcha {MARK}", user={"login": "mallory", "type": "User"})
    client = make_client(fake_github, session, sleeps)
    assert client.find_sticky_comment(REPO, PR, "benchwatch", author="github-actions[bot]") is None
    client.upsert_sticky_comment(REPO, PR, "report", "benchwatch", author="github-actions[bot]")
    assert fake_github.sent("PATCH") == [] and len(fake_github.sent("POST")) == 1


def test_check_run_create_and_update_exact_bodies(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    run = client.create_check_run(
        REPO, SHA, "benchwatch", "failure", "Regression", "summary md", details_url="https://github.example/run/1"
    )
    (post,) = fake_github.requests
    assert (post.method, post.path) == ("POST", f"/repos/{REPO}/check-runs")
    assert post.json == {
        "name": "benchwatch",
        "head_sha": SHA,
        "status": "completed",
        "conclusion": "failure",
        "output": {"title": "Regression", "summary": "summary md"},
        "details_url": "https://github.example/run/1",
    }
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    client.update_check_run(REPO, run["id"], conclusion="neutral", title="t", summary="s", text="details")
    patch = fake_github.requests[-1]
    assert (patch.method, patch.path) == ("PATCH", f"/repos/{REPO}/check-runs/{run['id']}")
    assert patch.json == {
        "status": "completed",
        "conclusion": "neutral",
        "output": {"title": "t", "summary": "s", "text": "details"},
    }
    with pytest.raises(GitHubError, match="conclusion must be one of"):
        client.create_check_run(REPO, SHA, "benchwatch", "passed", "t", "s")
    with pytest.raises(GitHubError, match="40 hex"):
        client.create_check_run(REPO, "abc", "benchwatch", "success", "t", "s")


def test_enterprise_api_url_with_path_prefix(fake_github_factory, session, sleeps):
    fake = fake_github_factory(prefix="/api/v3")
    fake.seed_comments(REPO, PR, 150)
    client = make_client(fake, session, sleeps)
    client.upsert_sticky_comment(REPO, PR, "report", "benchwatch")
    assert [r.raw_path.split("?")[0] for r in fake.requests] == [f"/api/v3/repos/{REPO}/issues/{PR}/comments"] * 3
    assert fake.requests[1].query["page"] == "2"  # the Link URL, prefix included, was followed
    assert len(fake.pr_comments(REPO, PR)) == 151


# -- retries ----------------------------------------------------------------


def test_retries_5xx_with_exponential_backoff(fake_github, session, sleeps):
    fake_github.fail(502, times=3)
    client = make_client(fake_github, session, sleeps)
    client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(fake_github.sent("POST")) == 4 and len(fake_github.check_runs) == 1


def test_5xx_gives_up_after_max_retries(fake_github, session, sleeps):
    fake_github.fail(502, times=10, message="Server Error")
    client = make_client(fake_github, session, sleeps, max_retries=2, backoff_base=0.5)
    with pytest.raises(GitHubError) as info:
        client.find_sticky_comment(REPO, PR, "benchwatch")
    assert (
        str(info.value)
        == f"GitHub API GET /repos/{REPO}/issues/{PR}/comments: HTTP 502: Server Error (gave up after 3 attempts)"
    )
    assert info.value.exit_code == 2
    assert sleeps == [0.5, 1.0]


def test_429_honours_retry_after(fake_github, session, sleeps):
    fake_github.fail(429, headers={"Retry-After": "1"}, message="secondary rate limit")
    client = make_client(fake_github, session, sleeps)
    client.upsert_sticky_comment(REPO, PR, "r", "benchwatch")
    assert sleeps == [1.0]
    assert len(fake_github.pr_comments(REPO, PR)) == 1


def test_403_rate_limit_waits_until_reset(fake_github, session, sleeps):
    fake_github.fail(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1005"}, message="API rate limit exceeded"
    )
    client = make_client(fake_github, session, sleeps, clock=lambda: 1000.0)
    client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert sleeps == [6.0]  # until the reset, plus one second of clock slack


def test_rate_limit_longer_than_max_wait_fails_at_once(fake_github, session, sleeps):
    fake_github.fail(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4600"}, message="API rate limit exceeded"
    )
    client = make_client(fake_github, session, sleeps, clock=lambda: 1000.0, max_rate_limit_wait=60)
    with pytest.raises(
        GitHubError, match=r"HTTP 403: API rate limit exceeded \(rate limited for 3601s, more than the 60s max wait\)"
    ):
        client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert sleeps == [] and len(fake_github.requests) == 1


def test_403_permission_error_is_not_retried(fake_github, session, sleeps):
    fake_github.fail(403, times=5, message="Resource not accessible by integration")
    client = make_client(fake_github, session, sleeps)
    with pytest.raises(GitHubError) as info:
        client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert len(fake_github.requests) == 1 and sleeps == []
    assert info.value.status == 403
    assert str(info.value).startswith(
        f"GitHub API POST /repos/{REPO}/check-runs: HTTP 403: Resource not accessible by integration"
    )
    assert "\n" not in str(info.value)


def test_404_is_not_retried(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    with pytest.raises(GitHubError, match=r"^GitHub API PATCH /repos/octo/widgets/check-runs/99: HTTP 404: Not Found$"):
        client.update_check_run(REPO, 99, conclusion="success")
    assert len(fake_github.requests) == 1 and sleeps == []


def test_timeout_is_reported_and_post_not_retried(fake_github, session, sleeps):
    fake_github.stall(3.0, method="POST")
    client = make_client(fake_github, session, sleeps, timeout=0.3)
    with pytest.raises(
        GitHubError, match=r"POST /repos/octo/widgets/check-runs: timeout: no response within 0.3s .*not retried"
    ):
        client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert len(fake_github.sent("POST")) == 1 and sleeps == []


def test_timeout_on_get_is_retried_then_reported(fake_github, session, sleeps):
    fake_github.stall(3.0, times=2, method="GET")
    client = make_client(fake_github, session, sleeps, timeout=0.3, max_retries=1)
    with pytest.raises(GitHubError, match=r"timeout: no response within 0.3s .*gave up after 2 attempts"):
        client.find_sticky_comment(REPO, PR, "benchwatch")
    assert len(fake_github.sent("GET")) == 2 and sleeps == [1.0]


def test_connection_errors_are_retried(session, sleeps):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(session, api_url=f"http://127.0.0.1:{port}", token=TOKEN, sleep=sleeps, max_retries=2)
    with pytest.raises(GitHubError, match=r"connection error: .*gave up after 3 attempts"):
        client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert sleeps == [1.0, 2.0]


def test_pagination_link_to_another_host_is_refused(fake_github, session, sleeps):
    fake_github.respond(200, [], headers={"Link": '<https://evil.example/steal?page=2>; rel="next"'}, method="GET")
    client = make_client(fake_github, session, sleeps)
    with pytest.raises(GitHubError, match="refusing to send the token to a URL outside"):
        client.find_sticky_comment(REPO, PR, "benchwatch")
    assert len(fake_github.requests) == 1


# -- body caps --------------------------------------------------------------


def test_comment_over_the_cap_is_refused_before_sending(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    with pytest.raises(GitHubError, match=r"over GitHub's 65536-character limit"):
        client.upsert_sticky_comment(REPO, PR, "x" * MAX_COMMENT_CHARS, "benchwatch")
    with pytest.raises(GitHubError, match=r"check run summary is 65536 characters, over GitHub's 65535"):
        client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "y" * (MAX_CHECK_OUTPUT_CHARS + 1))
    assert fake_github.requests == []
    # exactly at the limit is accepted (and the fake, like GitHub, would reject one more)
    client.upsert_sticky_comment(REPO, PR, "x" * comment_body_limit("benchwatch"), "benchwatch")
    assert len(fake_github.pr_comments(REPO, PR)[0]["body"]) == MAX_COMMENT_CHARS


def test_bad_repo_marker_and_numbers_are_refused(fake_github, session, sleeps):
    client = make_client(fake_github, session, sleeps)
    for repo in ("octo", "../../etc/passwd", "octo/widgets/x", "octo/wid gets", "o/.."):
        with pytest.raises(GitHubError, match="owner/name"):
            client.find_sticky_comment(repo, PR, "benchwatch")
    with pytest.raises(GitHubError, match="marker"):
        client.find_sticky_comment(REPO, PR, "x --> <script>")
    with pytest.raises(GitHubError, match="positive integer"):
        client.find_sticky_comment(REPO, 0, "benchwatch")
    assert fake_github.requests == []


# -- token hygiene ----------------------------------------------------------


def test_token_never_appears_in_errors_repr_or_logs(fake_github, session, sleeps, capsys, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    fake_github.fail(403, message=f"token {TOKEN} is not allowed")  # even if GitHub echoed it back
    fake_github.fail(422, message="Validation Failed")
    client = make_client(fake_github, session, sleeps)
    messages = []
    for call in (
        lambda: client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s"),
        lambda: client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s"),
    ):
        with pytest.raises(GitHubError) as info:
            call()
        messages.append(str(info.value))
    assert "token *** is not allowed" in messages[0]
    assert repr(client) == f"GitHubClient(api_url='{fake_github.api_url}', token=<set>, timeout=5.0, max_retries=4)"
    with pytest.raises(GitHubError) as info:  # a token that would break the header is refused without echo
        GitHubClient(session, api_url=fake_github.api_url, token=TOKEN + "\n")
    messages.append(str(info.value))
    out, err = capsys.readouterr()
    written = tmp_path / "summary.md"
    append_step_summary(written, "\n".join(messages))
    for text in [*messages, repr(client), str(vars(client)), out, err, caplog.text, written.read_text()]:
        assert TOKEN not in text


def test_redact_and_secret():
    assert redact("a abc abcd b", ["abc", "abcd", None, ""]) == "a *** *** b"
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) and TOKEN not in f"{secret}" and TOKEN not in str([secret])
    assert secret.reveal() == TOKEN


# -- context: forks and untrusted payloads ------------------------------------


ENV = {
    "GITHUB_REPOSITORY": REPO,
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_SHA": "c" * 40,
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_RUN_ID": "42",
}


def test_context_from_pull_request_event():
    ctx = GitHubContext.from_env(ENV, pr_event())
    assert ctx.api_url == "https://api.github.com"
    assert (ctx.pr_number, ctx.head_sha, ctx.is_fork_pull_request) == (PR, SHA, False)
    assert ctx.run_url == f"https://github.example/{REPO}/actions/runs/42"
    enterprise = GitHubContext.from_env({**ENV, "GITHUB_API_URL": "https://ghe.example/api/v3/"}, pr_event())
    assert enterprise.api_url == "https://ghe.example/api/v3"
    push = GitHubContext.from_env({**ENV, "GITHUB_EVENT_NAME": "push"}, {})
    assert (push.pr_number, push.head_sha) == (None, "c" * 40)


def test_fork_pull_request_is_refused():
    fork = GitHubContext.from_env(ENV, pr_event(head_repo="mallory/widgets"))
    assert fork.is_fork_pull_request
    assert is_fork_pull_request("pull_request", pr_event(head_repo="mallory/widgets"))
    assert is_fork_pull_request("pull_request", pr_event(head_repo=None))  # deleted fork
    assert not is_fork_pull_request("pull_request", pr_event())
    assert not is_fork_pull_request("pull_request_target", pr_event(head_repo="mallory/widgets"))
    with pytest.raises(ForkPostingRefused) as info:
        refuse_fork_posting(fork)
    assert str(info.value) == FORK_REFUSAL
    assert info.value.exit_code == 2
    refuse_fork_posting(GitHubContext.from_env(ENV, pr_event()))  # same repository: fine


def workflow_run_event(pull_requests: list | None = None, head_sha: str = SHA) -> dict:
    return {
        "workflow_run": {
            "head_sha": head_sha,
            "pull_requests": pull_requests or [],
            "head_repository": {"full_name": "mallory/widgets"},
            "repository": {"full_name": REPO},
        }
    }


def test_workflow_run_reads_pr_from_trusted_payload_or_artifact():
    env = {**ENV, "GITHUB_EVENT_NAME": "workflow_run"}
    trusted = GitHubContext.from_env(env, workflow_run_event([{"number": 5, "head": {"sha": SHA}}]))
    assert (trusted.pr_number, trusted.head_sha, trusted.pr_from_artifact) == (5, SHA, False)
    assert not trusted.is_fork_pull_request
    no_pr = GitHubContext.from_env(env, workflow_run_event())
    assert no_pr.pr_number is None
    from_artifact = GitHubContext.from_env(
        env, workflow_run_event(), artifact_event=pr_event(head_repo="mallory/widgets", number=9)
    )
    assert (from_artifact.pr_number, from_artifact.head_sha, from_artifact.pr_from_artifact) == (9, SHA, True)
    with pytest.raises(UntrustedPayloadError, match="is not the workflow_run head sha"):
        GitHubContext.from_env(env, workflow_run_event(), artifact_event=pr_event(sha="d" * 40))
    with pytest.raises(UntrustedPayloadError, match="is not the workflow_run pull request 5"):
        GitHubContext.from_env(env, workflow_run_event([{"number": 5}]), artifact_event=pr_event(number=9))


def _bad(**changes) -> dict:
    event = pr_event()
    for key, value in changes.items():
        if key == "number":
            event["number"] = value
            event["pull_request"]["number"] = value
        elif key == "sha":
            event["pull_request"]["head"]["sha"] = value
        elif key == "base":
            event["pull_request"]["base"]["repo"]["full_name"] = value
    return event


@pytest.mark.parametrize(
    "payload, problem",
    [
        (_bad(number="7"), "number must be a positive integer"),
        (_bad(number=0), "number must be a positive integer"),
        (_bad(number=-3), "number must be a positive integer"),
        (_bad(number=True), "number must be a positive integer"),
        (_bad(number=7.0), "number must be a positive integer"),
        (_bad(sha="abc"), "head.sha must be 40 hex digits"),
        (_bad(sha="A" * 40), "head.sha must be 40 hex digits"),
        (_bad(sha="a" * 40 + "\n"), "head.sha must be 40 hex digits"),
        (_bad(sha=None), "head.sha must be 40 hex digits"),
        (_bad(base="octo/widgets/../x"), "owner/name"),
        (_bad(base="octo/widgets;rm -rf"), "owner/name"),
        (_bad(base="<img>/x"), "owner/name"),
        (_bad(base="other/repo"), "base repository other/repo is not this repository octo/widgets"),
        ({"number": 7}, "has no 'pull_request' object"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_untrusted_artifact_payload_is_validated(payload, problem):
    with pytest.raises(UntrustedPayloadError) as info:
        parse_untrusted_pull_request(payload, expected_base_repository=REPO)
    message = str(info.value)
    assert message.startswith("artifact pull request payload: ") and problem in message
    assert "\n" not in message and len(message) < 250


def test_valid_untrusted_payload_is_accepted():
    claim = parse_untrusted_pull_request(pr_event(head_repo="mallory/widgets"), expected_base_repository=REPO)
    assert (claim.number, claim.head_sha, claim.base_repository) == (PR, SHA, REPO)


def test_artifact_pr_number_is_verified_against_the_api_before_commenting(fake_github, session, sleeps):
    env = {**ENV, "GITHUB_EVENT_NAME": "workflow_run", "GITHUB_API_URL": fake_github.api_url}
    ctx = GitHubContext.from_env(env, workflow_run_event(), artifact_event=pr_event(number=9))
    fake_github.add_pull(REPO, 9, "e" * 40)  # PR 9 is somebody else's: its head is not this run's commit
    plan = plan_report(
        ctx=ctx,
        markdown="r",
        verdict="unchanged",
        comment_mode="always",
        marker="benchwatch",
        check_name=None,
        fail_on="regression",
    )
    with pytest.raises(UntrustedPayloadError, match="pull request #9 has head"):
        publish_report(make_client(fake_github, session, sleeps), plan, ctx=ctx)
    assert fake_github.sent("POST") == [] and fake_github.sent("GET", "comments") == []
    fake_github.add_pull(REPO, 9, SHA)
    result = publish_report(make_client(fake_github, session, sleeps), plan, ctx=ctx)
    assert result.comment_outcome == "created"


def test_bad_environment_values_are_refused():
    with pytest.raises(ContextError, match="GITHUB_REPOSITORY must be 'owner/name'"):
        GitHubContext.from_env({**ENV, "GITHUB_REPOSITORY": "octo"}, pr_event())
    with pytest.raises(ContextError, match="GITHUB_API_URL must be an http"):
        GitHubContext.from_env({**ENV, "GITHUB_API_URL": "ftp://x"}, pr_event())


# -- job summary --------------------------------------------------------------


def test_step_summary_appends_and_trims_with_a_note(tmp_path):
    path = tmp_path / "step_summary.md"
    path.write_text("earlier step output")  # no trailing newline
    first = append_step_summary(path, "# Report\nline\n")
    assert path.read_text() == "earlier step output\n# Report\nline\n"
    assert not first.truncated
    big = "```\n" + "".join(f"row {i}\n" for i in range(1000))
    size_before = path.stat().st_size
    result = append_step_summary(path, big, max_bytes=size_before + 2000)
    text = path.read_text()
    assert result.truncated and path.stat().st_size <= size_before + 2000
    assert text.endswith(TRUNCATION_NOTE) and "```\n\n\n> **benchwatch:**" in text  # open fence closed
    full = append_step_summary(path, "more text", max_bytes=path.stat().st_size + 5)
    assert full.truncated and full.bytes_written == 0


def test_secondary_rate_limit_403_without_headers_backs_off(fake_github, session, sleeps):
    fake_github.fail(403, message="You have exceeded a secondary rate limit. Please wait a few minutes.")
    client = make_client(fake_github, session, sleeps)
    client.create_check_run(REPO, SHA, "benchwatch", "success", "t", "s")
    assert sleeps == [1.0] and len(fake_github.check_runs) == 1


def test_503_retry_after_is_honoured_when_longer_than_backoff(fake_github, session, sleeps):
    fake_github.fail(503, headers={"Retry-After": "5"})
    client = make_client(fake_github, session, sleeps)
    client.find_sticky_comment(REPO, PR, "benchwatch")
    assert sleeps == [5.0]
