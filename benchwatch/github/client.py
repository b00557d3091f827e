"""A small GitHub REST client: sticky PR comments and check runs.

The ``requests.Session`` is injected (tests point the client at a local fake
server; a caller may mount adapters/proxies), and so are ``sleep`` and
``clock``, so retry behaviour is tested without waiting.

Retry policy (every retry counts against ``max_retries``):

* connection errors and 5xx: exponential backoff
  ``backoff_base * 2**attempt`` seconds (1, 2, 4, 8 by default; never more
  than ``max_rate_limit_wait``), or a longer ``Retry-After`` a 5xx carries;
* read timeouts: retried like connection errors for idempotent methods
  (GET, PATCH); a POST that timed out is *not* retried, since GitHub may
  have applied it and a retry would create a second comment or check run;
* 429, and 403 with ``Retry-After`` or ``x-ratelimit-remaining: 0``: wait
  what GitHub asks (``Retry-After`` seconds, or until ``x-ratelimit-reset``
  plus one second of clock slack).  A wait longer than ``max_rate_limit_wait``
  is not slept at all: the error is raised at once, because sleeping the cap
  and retrying before the reset would only fail again;
* a 403 that mentions a secondary rate limit in its message (GitHub
  sometimes omits the headers) is backed off exponentially;
* any other 4xx - notably a 403 permission error - is raised immediately.

Errors are :class:`GitHubError` with one line: method, path, status and
GitHub's ``message``, passed through :func:`~benchwatch.github.secrets.redact`
so the token never appears.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from benchwatch.errors import EXIT_INPUT_ERROR, BenchwatchError
from benchwatch.github.context import (
    DEFAULT_API_URL,
    ContextError,
    validate_api_url,
    validate_pr_number,
    validate_repo,
    validate_sha,
)
from benchwatch.github.secrets import Secret, redact

#: GitHub rejects an issue comment body longer than this ("Body is too long (maximum is 65536 characters)").
MAX_COMMENT_CHARS = 65_536
#: GitHub rejects a check run ``output.summary`` / ``output.text`` longer than this
#: ("Only 65535 characters are allowed").
MAX_CHECK_OUTPUT_CHARS = 65_535
#: Documented check run conclusions.
CHECK_CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out")
API_VERSION = "2022-11-28"
#: Safety stop for following ``Link: rel="next"`` (100 pages x 100 comments).
MAX_PAGES = 100

_MARKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GitHubError(BenchwatchError):
    """A GitHub API call failed, or a request was refused before being sent.

    Exit code 2 (input/environment error), like every error the user fixes
    outside the benchmark itself - a token without permission, a wrong
    repository, a body the renderer did not fit; exit code 1 is reserved for
    "a gated regression was found".
    """

    exit_code = EXIT_INPUT_ERROR

    def __init__(
        self, message: str, *, status: int | None = None, method: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status
        self.method = method
        self.path = path


def marker_comment(marker: str) -> str:
    """The hidden HTML comment that identifies benchwatch's sticky comment."""
    if not isinstance(marker, str) or not _MARKER_PATTERN.fullmatch(marker):
        raise GitHubError(f"marker must be 1-64 of letters, digits, '.', '_', ':', '-': got {marker!r:.60}")
    return f"<!-- benchwatch:{marker} -->"


def sticky_body(body: str, marker: str) -> str:
    """``body`` with the marker appended on its own line (what is posted)."""
    return f"{body.rstrip()}\n\n{marker_comment(marker)}\n"


def comment_body_limit(marker: str) -> int:
    """Characters the rendered comment may use so that body plus marker fit GitHub's cap."""
    return MAX_COMMENT_CHARS - len(sticky_body("", marker))


class GitHubClient:
    """GitHub REST calls benchwatch needs, with retries and token hygiene."""

    def __init__(
        self,
        session: requests.Session,
        *,
        api_url: str = DEFAULT_API_URL,
        token: str | None,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "benchwatch",
        max_rate_limit_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            self.api_url = validate_api_url(api_url)
        except ContextError as error:
            raise GitHubError(str(error)) from None
        if token is not None and (not token or any(ch.isspace() or not ch.isprintable() for ch in token)):
            # requests would put the whole header value, token included, in its InvalidHeader message.
            raise GitHubError("GitHub token is empty or contains whitespace or control characters")
        if max_retries < 0 or timeout <= 0 or backoff_base < 0 or max_rate_limit_wait < 0:
            raise GitHubError("max_retries, backoff_base and max_rate_limit_wait must be >= 0 and timeout > 0")
        self._session = session
        self._token = Secret(token) if token is not None else None
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_rate_limit_wait = max_rate_limit_wait
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._prefix = urlsplit(self.api_url).path.rstrip("/")

    def __repr__(self) -> str:
        token = "<set>" if self._token is not None else None
        return (
            f"GitHubClient(api_url={self.api_url!r}, token={token}, "
            f"timeout={self.timeout}, max_retries={self.max_retries})"
        )

    # -- sticky comments ------------------------------------------------

    def find_sticky_comment(
        self, repo: str, pr_number: int, marker: str, *, author: str | None = None
    ) -> dict[str, Any] | None:
        """The oldest comment on the PR carrying the marker (all pages are read), or None.

        ``author`` (a login such as ``github-actions[bot]``) restricts the
        search to that user's comments, so a comment somebody else pasted the
        marker into is not picked up.
        """
        self._validate_target(repo, pr_number)
        tag = marker_comment(marker)
        url: str | None = self._url(f"/repos/{repo}/issues/{pr_number}/comments")
        params: dict[str, Any] | None = {"per_page": 100}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            response = self._request("GET", url, params=params)
            comments = self._json(response, "GET", url)
            if not isinstance(comments, list):
                raise self._error("GET", self._path(url), f"HTTP {response.status_code}: expected a list of comments")
            for comment in comments:
                if not isinstance(comment, dict) or tag not in str(comment.get("body") or ""):
                    continue
                if author is not None and (comment.get("user") or {}).get("login") != author:
                    continue
                return comment
            seen.add(response.url or url)
            url = response.links.get("next", {}).get("url")
            if not url:
                return None
            self._check_same_api(url)
            if url in seen:
                raise self._error("GET", self._path(url), "pagination loops back to a page already read")
            params = None  # the next link carries the query
        raise self._error(
            "GET", f"/repos/{repo}/issues/{pr_number}/comments", f"more than {MAX_PAGES} pages of comments"
        )

    def upsert_sticky_comment(
        self, repo: str, pr_number: int, body: str, marker: str, *, author: str | None = None
    ) -> dict[str, Any]:
        """Edit the PR's sticky comment in place, or create it; returns the comment."""
        full = self._checked_comment_body(body, marker)
        existing = self.find_sticky_comment(repo, pr_number, marker, author=author)
        if existing is not None:
            comment_id = positive_int(existing.get("id"), "id of the existing sticky comment")
            return self.update_comment(repo, comment_id, full)
        return self.create_comment(repo, pr_number, full)

    def create_comment(self, repo: str, pr_number: int, body: str) -> dict[str, Any]:
        """POST a new comment on the PR (``body`` already including any marker)."""
        self._validate_target(repo, pr_number)
        check_length(body, MAX_COMMENT_CHARS, "comment body")
        return self._json_request("POST", f"/repos/{repo}/issues/{pr_number}/comments", json={"body": body})

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        """PATCH an issue comment's body (already including any marker)."""
        _check_repo(repo)
        positive_int(comment_id, "comment id")
        check_length(body, MAX_COMMENT_CHARS, "comment body")
        return self._json_request("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body})

    # -- check runs -----------------------------------------------------

    def create_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        conclusion: str,
        title: str,
        summary: str,
        details_url: str | None = None,
        *,
        text: str | None = None,
    ) -> dict[str, Any]:
        """Create a completed check run on ``head_sha``; returns the check run."""
        _check_repo(repo)
        try:
            validate_sha(head_sha, what="head_sha")
        except ContextError as error:
            raise GitHubError(str(error)) from None
        if not name:
            raise GitHubError("check run name must not be empty")
        payload: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": _conclusion(conclusion),
            "output": _output(title, summary, text),
        }
        if details_url is not None:
            payload["details_url"] = details_url
        return self._json_request("POST", f"/repos/{repo}/check-runs", json=payload)

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        name: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        details_url: str | None = None,
    ) -> dict[str, Any]:
        """PATCH a check run: only the given fields are sent (a conclusion completes it)."""
        _check_repo(repo)
        positive_int(check_run_id, "check run id")
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = name
        if conclusion is not None:
            payload["status"] = "completed"
            payload["conclusion"] = _conclusion(conclusion)
        if title is not None or summary is not None or text is not None:
            if title is None or summary is None:
                raise GitHubError("check run output needs both a title and a summary")
            payload["output"] = _output(title, summary, text)
        if details_url is not None:
            payload["details_url"] = details_url
        if not payload:
            raise GitHubError("update_check_run: nothing to update")
        return self._json_request("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", json=payload)

    # -- pull requests --------------------------------------------------

    def get_pull_request(self, repo: str, pr_number: int) -> dict[str, Any]:
        """GET one pull request (used to verify a PR number read from an untrusted artifact)."""
        self._validate_target(repo, pr_number)
        return self._json_request("GET", f"/repos/{repo}/pulls/{pr_number}")

    # -- transport ------------------------------------------------------

    def _json_request(self, method: str, path: str, *, json: Any = None) -> dict[str, Any]:
        url = self._url(path)
        response = self._request(method, url, json=json)
        data = self._json(response, method, url)
        if not isinstance(data, dict):
            raise self._error(
                method, self._path(url), f"HTTP {response.status_code}: expected a JSON object in the response"
            )
        return data

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one API request with retries; return the 2xx response or raise :class:`GitHubError`.

        ``url`` is a path under ``api_url`` (``/repos/...``) or an absolute
        URL under it (a pagination link).
        """
        method = method.upper()
        if not url.startswith(("http://", "https://")):
            url = self._url(url)
        self._check_same_api(url)
        path = self._path(url)
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._session.request(
                    method, url, params=params, json=json, headers=self._headers(), timeout=self.timeout
                )
            except requests.ConnectTimeout:
                problem = f"timeout: could not connect within {self.timeout:g}s"
                retry = True
            except requests.Timeout:
                problem = f"timeout: no response within {self.timeout:g}s"
                retry = method in _IDEMPOTENT
                if not retry:
                    problem += " (not retried: GitHub may have applied it)"
            except requests.ConnectionError as error:
                problem = f"connection error: {_exception_text(error)}"
                retry = True
            except requests.RequestException as error:
                raise self._error(method, path, f"request failed: {_exception_text(error)}") from None
            else:
                if response.status_code < 300:
                    return response
                message = _github_message(response)
                status = response.status_code
                delay, why = self._retry_delay(response, message, attempt)
                if delay is None or last:
                    detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
                    if why:
                        detail += f" ({why})"
                    elif last and delay is not None and attempts > 1:
                        detail += f" (gave up after {attempts} attempts)"
                    if status == 403 and delay is None and not why:
                        detail += " - the token lacks permission (needs pull-requests: write / checks: write)"
                    raise self._error(method, path, detail, status=status)
                self._sleep(delay)
                continue
            if not retry or last:
                if retry and attempts > 1:
                    problem += f" (gave up after {attempts} attempts)"
                raise self._error(method, path, problem) from None
            self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, response: requests.Response, message: str, attempt: int) -> tuple[float | None, str]:
        """(seconds to wait before retrying or None for "do not retry", reason when refusing a rate-limit wait)."""
        status = response.status_code
        headers = response.headers
        retry_after = headers.get("Retry-After")
        if status >= 500:
            asked = self._parse_retry_after(retry_after) if retry_after is not None else None
            if asked is not None and asked <= self.max_rate_limit_wait:
                return max(asked, self._backoff(attempt)), ""
            return self._backoff(attempt), ""
        if status not in (403, 429):
            return None, ""
        wait: float | None = None
        if retry_after is not None:
            wait = self._parse_retry_after(retry_after)
        elif headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            try:
                reset = float(headers["x-ratelimit-reset"])
            except ValueError:
                wait = None
            else:
                wait = max(0.0, reset - self._clock()) + 1.0
        if wait is not None:
            if wait > self.max_rate_limit_wait:
                return None, f"rate limited for {wait:.0f}s, more than the {self.max_rate_limit_wait:g}s max wait"
            return wait, ""
        if status == 429 or "rate limit" in message.lower():
            return self._backoff(attempt), ""
        return None, ""  # a plain 403: a permission error, retrying cannot help

    def _parse_retry_after(self, value: str) -> float | None:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - self._clock())

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_base * (2**attempt), self.max_rate_limit_wait)

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": self.user_agent,
        }
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return headers

    def _url(self, path: str) -> str:
        return f"{self.api_url}{path}"

    def _path(self, url: str) -> str:
        """The API path of ``url`` (under the Enterprise prefix, without host or query)."""
        path = urlsplit(url).path
        if self._prefix and path.startswith(self._prefix):
            path = path[len(self._prefix) :]
        return path or "/"

    def _check_same_api(self, url: str) -> None:
        """Refuse to send the token anywhere but under ``api_url`` (e.g. a forged pagination link)."""
        api, other = urlsplit(self.api_url), urlsplit(url)
        if (other.scheme, other.netloc.lower()) != (api.scheme, api.netloc.lower()) or not (
            other.path == self._prefix or other.path.startswith(self._prefix + "/")
        ):
            raise GitHubError(
                f"refusing to send the token to a URL outside {self.api_url}: {other.scheme}://{other.netloc}{other.path}"
            )

    def _json(self, response: requests.Response, method: str, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._error(method, self._path(url), f"HTTP {response.status_code}: response is not JSON") from None

    def _error(self, method: str, path: str, detail: str, *, status: int | None = None) -> GitHubError:
        secrets = [self._token.reveal()] if self._token is not None else []
        text = redact(f"GitHub API {method} {path}: {detail}", secrets)
        return GitHubError(text, status=status, method=method, path=path)

    def _validate_target(self, repo: str, pr_number: int) -> str:
        _check_repo(repo)
        try:
            validate_pr_number(pr_number)
        except ContextError as error:
            raise GitHubError(str(error)) from None
        return repo

    def _checked_comment_body(self, body: str, marker: str) -> str:
        full = sticky_body(body, marker)
        check_length(full, MAX_COMMENT_CHARS, "comment body (with the benchwatch marker)")
        return full


def _check_repo(repo: str) -> None:
    try:
        validate_repo(repo)
    except ContextError as error:
        raise GitHubError(str(error)) from None


def positive_int(value: object, what: str) -> int:
    """``value`` when it is a positive integer (an id from an API answer), else :class:`GitHubError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise GitHubError(f"{what} must be a positive integer: got {value!r:.40}")
    return value


def check_length(text: str, limit: int, what: str) -> None:
    """Raise :class:`GitHubError` when ``text`` is longer than GitHub accepts (never truncate)."""
    if len(text) > limit:
        raise GitHubError(
            f"{what} is {len(text)} characters, over GitHub's {limit}-character limit; "
            "the report must be shortened before posting (GitHub would reject or truncate it)"
        )


def _conclusion(conclusion: str) -> str:
    if conclusion not in CHECK_CONCLUSIONS:
        raise GitHubError(f"check run conclusion must be one of {', '.join(CHECK_CONCLUSIONS)}: got {conclusion!r:.40}")
    return conclusion


def _output(title: str, summary: str, text: str | None) -> dict[str, str]:
    if not title:
        raise GitHubError("check run title must not be empty")
    check_length(summary, MAX_CHECK_OUTPUT_CHARS, "check run summary")
    output = {"title": title, "summary": summary}
    if text is not None:
        check_length(text, MAX_CHECK_OUTPUT_CHARS, "check run text")
        output["text"] = text
    return output


def _github_message(response: requests.Response) -> str:
    """GitHub's ``message`` field (plus the first validation error), on one short line."""
    try:
        data = response.json()
    except ValueError:
        text = response.text or ""
        return " ".join(text.split())[:200]
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message") or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, dict) else first
        if detail:
            message = f"{message}: {detail}"
    message = " ".join(message.split())
    return message if len(message) <= 300 else message[:297] + "..."


def _exception_text(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
