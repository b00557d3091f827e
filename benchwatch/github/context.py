"""Where a GitHub Actions run is: repository, pull request, head commit, URLs.

Pure functions over explicit inputs: the environment is passed in as a
mapping and event payloads as parsed JSON, so nothing here reads
``os.environ`` or the file system (except :func:`load_event_file`, which the
CLI calls with a path it chose).

Two kinds of payload are read:

* the run's own event payload (``$GITHUB_EVENT_PATH``), written by GitHub
  and trusted;
* for a ``workflow_run`` workflow posting results of a pull request from a
  fork, the ``pull_request`` payload that the first (unprivileged) workflow
  uploaded as an artifact.  Anyone who opens a pull request controls that
  file, so it is validated strictly (:func:`parse_untrusted_pull_request`)
  and cross-checked against the trusted ``workflow_run`` payload.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchwatch.errors import BenchwatchError, InputError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"

#: GitHub owner names: letters, digits, hyphens; repository names add ``.`` and ``_``.
REPO_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")

#: An event payload bigger than this is not read (PR payloads are a few hundred KiB at most).
MAX_EVENT_BYTES = 5 * 1024 * 1024

FORK_REFUSAL = (
    "refusing to post from a pull_request run of a fork: its token is read-only; "
    "upload the results as an artifact and post from a workflow_run workflow (see README)"
)


class ContextError(BenchwatchError):
    """The Actions environment or an event payload cannot be used as given."""


class UntrustedPayloadError(ContextError):
    """An artifact's pull-request payload failed validation."""


class ForkPostingRefused(ContextError):
    """Posting was asked for from a ``pull_request`` run of a fork."""


def validate_repo(repo: object, *, what: str = "repository") -> str:
    """``repo`` if it is ``owner/name`` of safe characters, else :class:`ContextError`."""
    if not isinstance(repo, str) or not REPO_PATTERN.fullmatch(repo) or repo.split("/")[1] in (".", ".."):
        raise ContextError(f"{what} must be 'owner/name' of letters, digits, '-', '_' and '.': got {_show(repo)}")
    return repo


def validate_sha(sha: object, *, what: str = "commit sha") -> str:
    """``sha`` if it is 40 lower-case hex digits, else :class:`ContextError`."""
    if not isinstance(sha, str) or not SHA_PATTERN.fullmatch(sha):
        raise ContextError(f"{what} must be 40 hex digits: got {_show(sha)}")
    return sha


def validate_pr_number(number: object, *, what: str = "pull request number") -> int:
    """``number`` if it is a positive int (not a bool, not a string), else :class:`ContextError`."""
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise ContextError(f"{what} must be a positive integer: got {_show(number)}")
    return number


def validate_api_url(url: str, *, what: str = "GITHUB_API_URL") -> str:
    """An http(s) URL without query or fragment, returned without its trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ContextError(f"{what} must be an http(s) URL like https://api.github.com: got {_show(url)}")
    return url.rstrip("/")


@dataclass(frozen=True)
class GitHubContext:
    """What benchwatch needs to know about the current Actions run."""

    #: REST API root (``GITHUB_API_URL``; ``https://HOST/api/v3`` on Enterprise Server).
    api_url: str = DEFAULT_API_URL
    #: ``owner/name`` of the repository the workflow runs in (``GITHUB_REPOSITORY``).
    repository: str | None = None
    #: ``GITHUB_EVENT_NAME``: ``pull_request``, ``workflow_run``, ``push``...
    event_name: str | None = None
    #: ``GITHUB_SHA``: for ``pull_request`` this is the test merge commit, not the PR head.
    sha: str | None = None
    #: Web root (``GITHUB_SERVER_URL``), for links.
    server_url: str = DEFAULT_SERVER_URL
    #: ``GITHUB_RUN_ID``, for the link to this run.
    run_id: str | None = None
    #: ``GITHUB_STEP_SUMMARY``: file the job summary Markdown is appended to.
    step_summary_path: str | None = None
    #: Pull request the results belong to, when there is one.
    pr_number: int | None = None
    #: Commit the check run is attached to: the PR head, else ``GITHUB_SHA``.
    head_sha: str | None = None
    #: ``owner/name`` of the PR head's repository (differs from ``base_repository`` for a fork).
    head_repository: str | None = None
    #: ``owner/name`` of the PR base repository.
    base_repository: str | None = None
    #: True when the PR number came from an untrusted artifact payload (verify it before posting).
    pr_from_artifact: bool = False

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        event: Mapping[str, Any],
        *,
        artifact_event: Mapping[str, Any] | None = None,
    ) -> GitHubContext:
        """Context from the Actions environment variables and the event payload.

        ``artifact_event`` is the ``pull_request`` payload uploaded by a first
        workflow, used by a ``workflow_run`` workflow when the trusted payload
        does not list the pull request (GitHub leaves
        ``workflow_run.pull_requests`` empty for pull requests from forks).
        """
        api_url = validate_api_url(env.get("GITHUB_API_URL") or DEFAULT_API_URL)
        server_url = validate_api_url(env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL, what="GITHUB_SERVER_URL")
        repository = env.get("GITHUB_REPOSITORY") or None
        if repository is not None:
            validate_repo(repository, what="GITHUB_REPOSITORY")
        event_name = env.get("GITHUB_EVENT_NAME") or None
        sha = env.get("GITHUB_SHA") or None
        run_id = env.get("GITHUB_RUN_ID") or None
        if run_id is not None and not run_id.isdigit():
            raise ContextError(f"GITHUB_RUN_ID must be a number: got {_show(run_id)}")
        common = cls(
            api_url=api_url,
            repository=repository,
            event_name=event_name,
            sha=sha,
            server_url=server_url,
            run_id=run_id,
            step_summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
        )
        if not isinstance(event, Mapping):
            raise ContextError("event payload must be a JSON object")

        if event_name in ("pull_request", "pull_request_target"):
            pr = event.get("pull_request")
            if not isinstance(pr, Mapping):
                raise ContextError(f"{event_name} event payload has no 'pull_request' object")
            number = validate_pr_number(event.get("number", pr.get("number")), what="event pull request number")
            head = _mapping(pr.get("head"))
            base = _mapping(pr.get("base"))
            return replace(
                common,
                pr_number=number,
                head_sha=validate_sha(head.get("sha"), what="event pull_request.head.sha"),
                head_repository=_full_name(head),
                base_repository=_full_name(base),
            )

        if event_name == "workflow_run":
            return _workflow_run_context(common, event, artifact_event)

        # push, schedule, workflow_dispatch...: no pull request; the check goes on GITHUB_SHA.
        return replace(common, head_sha=sha if sha and SHA_PATTERN.fullmatch(sha) else None)

    @property
    def is_fork_pull_request(self) -> bool:
        """A ``pull_request`` run whose head lives in another repository (read-only token)."""
        return self.event_name == "pull_request" and self.head_repository != self.base_repository

    @property
    def run_url(self) -> str | None:
        """Web link to this workflow run, when the run id and repository are known."""
        if self.run_id is None or self.repository is None:
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _workflow_run_context(
    common: GitHubContext, event: Mapping[str, Any], artifact_event: Mapping[str, Any] | None
) -> GitHubContext:
    """A ``workflow_run`` run: the PR comes from the trusted payload, else from the artifact's claim."""
    run = event.get("workflow_run")
    if not isinstance(run, Mapping):
        raise ContextError("workflow_run event payload has no 'workflow_run' object")
    head_sha = validate_sha(run.get("head_sha"), what="event workflow_run.head_sha")
    listed = run.get("pull_requests") or []
    trusted_number = None
    if isinstance(listed, list) and listed and isinstance(listed[0], Mapping):
        trusted_number = validate_pr_number(listed[0].get("number"), what="workflow_run.pull_requests[0].number")
    head_repository = _full_name(_mapping(run.get("head_repository")))
    if artifact_event is None:
        return replace(
            common,
            pr_number=trusted_number,
            head_sha=head_sha,
            head_repository=head_repository,
            base_repository=_full_name(_mapping(run.get("repository"))) or common.repository,
        )
    claim = parse_untrusted_pull_request(artifact_event, expected_base_repository=common.repository)
    if claim.head_sha != head_sha:
        raise UntrustedPayloadError(
            f"artifact pull request payload: head sha {claim.head_sha} is not the workflow_run head sha {head_sha}"
        )
    if trusted_number is not None and trusted_number != claim.number:
        raise UntrustedPayloadError(
            f"artifact pull request payload: number {claim.number} "
            f"is not the workflow_run pull request {trusted_number}"
        )
    return replace(
        common,
        pr_number=claim.number,
        head_sha=head_sha,
        head_repository=head_repository,
        base_repository=common.repository,
        pr_from_artifact=trusted_number is None,
    )


def is_fork_pull_request(event_name: str | None, event: Mapping[str, Any]) -> bool:
    """True for a ``pull_request`` event whose head repository is not its base repository.

    A deleted head repository (``head.repo`` is null) counts as a fork.
    """
    if event_name != "pull_request":
        return False
    pr = _mapping(event.get("pull_request"))
    return _full_name(_mapping(pr.get("head"))) != _full_name(_mapping(pr.get("base")))


def refuse_fork_posting(ctx: GitHubContext) -> None:
    """Raise :class:`ForkPostingRefused` when ``ctx`` is a ``pull_request`` run of a fork."""
    if ctx.is_fork_pull_request:
        raise ForkPostingRefused(FORK_REFUSAL)


@dataclass(frozen=True)
class PullRequestClaim:
    """What an untrusted artifact payload says about its pull request (validated)."""

    number: int
    head_sha: str
    base_repository: str


def parse_untrusted_pull_request(payload: object, *, expected_base_repository: str | None = None) -> PullRequestClaim:
    """Validate the ``pull_request`` event payload a first workflow uploaded as an artifact.

    The number must be a positive int, the head sha 40 hex digits, and the
    base repository ``owner/name`` of safe characters - and, when
    ``expected_base_repository`` is given, that repository (a payload that
    claims a pull request of another repository is refused).  Every problem
    raises :class:`UntrustedPayloadError` with a one-line message.
    """

    def fail(problem: str) -> UntrustedPayloadError:
        return UntrustedPayloadError(f"artifact pull request payload: {problem}")

    if not isinstance(payload, Mapping):
        raise fail("must be a JSON object")
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping):
        raise fail("has no 'pull_request' object")
    try:
        number = validate_pr_number(payload.get("number", pr.get("number")), what="number")
        if "number" in payload and "number" in pr and pr.get("number") != number:
            raise ContextError(f"number {number} disagrees with pull_request.number {_show(pr.get('number'))}")
        head_sha = validate_sha(_mapping(pr.get("head")).get("sha"), what="pull_request.head.sha")
        base_repo = validate_repo(_full_name(_mapping(pr.get("base"))), what="pull_request.base.repo.full_name")
    except UntrustedPayloadError:
        raise
    except ContextError as error:
        raise fail(str(error)) from None
    if expected_base_repository is not None and base_repo.lower() != expected_base_repository.lower():
        raise fail(f"base repository {base_repo} is not this repository {expected_base_repository}")
    return PullRequestClaim(number=number, head_sha=head_sha, base_repository=base_repo)


def check_pull_request_head(pull_request: Mapping[str, Any], *, number: int, head_sha: str) -> None:
    """Confirm (from the API's own view of PR ``number``) that its head is ``head_sha``.

    Used when the PR number came from an untrusted artifact: a fork could
    otherwise upload a payload naming somebody else's pull request.
    """
    actual = _mapping(pull_request.get("head")).get("sha")
    if actual != head_sha:
        raise UntrustedPayloadError(
            f"artifact pull request payload: pull request #{number} has head {_show(actual)}, "
            f"not the workflow_run head sha {head_sha}"
        )


def read_capped_json(path: str | os.PathLike[str], *, max_bytes: int, what: str) -> Any:
    """Parse a JSON file of at most ``max_bytes`` (untrusted input), or raise one-line :class:`InputError`."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(path, f"{what} file not found") from None
    except OSError as error:
        raise InputError(path, f"cannot read {what}: {error.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(path, f"{what} is larger than {max_bytes} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, f"{what} is not valid JSON: {_one_line(str(error))}") from None


def load_event_file(path: str | Path, *, max_bytes: int = MAX_EVENT_BYTES) -> dict[str, Any]:
    """Parse an event payload file (size-capped; a JSON object), or raise :class:`InputError`."""
    payload = read_capped_json(path, max_bytes=max_bytes, what="event payload")
    if not isinstance(payload, dict):
        raise InputError(path, "event payload must be a JSON object")
    return payload


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _full_name(side: Mapping[str, Any]) -> str | None:
    """``full_name`` of a PR side's ``repo`` (or of a repository object itself)."""
    repo = side.get("repo") if "repo" in side else side
    name = _mapping(repo).get("full_name")
    return name if isinstance(name, str) else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show(value: object, limit: int = 60) -> str:
    """A short, one-line, printable rendering of an untrusted value for error messages."""
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
