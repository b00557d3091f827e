"""A fake GitHub REST API on 127.0.0.1, speaking real HTTP, for the GitHub integration tests.

Import the fixtures into a test module::

    from fake_github import fake_github, fake_github_factory  # noqa: F401

It keeps issue comments and check runs in memory, paginates comment lists
with ``Link`` headers like GitHub (``per_page`` honoured, max 100), records
every request (:class:`Recorded`), and can be scripted to fail
(:meth:`FakeGitHub.fail`) or stall (:meth:`FakeGitHub.stall`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

BOT = {"login": "github-actions[bot]", "type": "Bot", "id": 41898282}
MAX_BODY = 65_536
MAX_CHECK_OUTPUT = 65_535

Reply = tuple[int, dict[str, str], Any]


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    #: Path relative to the server's prefix (``/repos/o/r/...``).
    path: str
    #: The raw request target, prefix and query included.
    raw_path: str
    #: Query parameters (last value of each).
    query: dict[str, str]
    #: Header names lower-cased.
    headers: dict[str, str]
    json: Any


@dataclass
class _Script:
    status: int
    headers: dict[str, str]
    body: Any
    times: int
    method: str | None
    path_re: re.Pattern[str] | None
    stall: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_re is None or bool(self.path_re.search(path))
        )


@dataclass
class FakeGitHub:
    """State and behaviour of the fake API; ``api_url`` is where to point the client."""

    prefix: str = ""
    #: When set, requests without ``Authorization: Bearer <token>`` get 401.
    token: str | None = None
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    _scripts: list[_Script] = field(default_factory=list)
    _next_id: int = 1000
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    # -- seeding ----------------------------------------------------------

    def seed_comments(self, repo: str, pr: int, count: int) -> list[dict[str, Any]]:
        """Add ``count`` unrelated comments by a human to the PR."""
        return [
            self.add_comment(repo, pr, f"comment {i}", user={"login": "someone", "type": "User"}) for i in range(count)
        ]

    def add_comment(self, repo: str, pr: int, body: str, *, user: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            comment_id = self._new_id()
            comment = {
                "id": comment_id,
                "body": body,
                "user": dict(user or BOT),
                "html_url": f"https://github.example/{repo}/pull/{pr}#issuecomment-{comment_id}",
            }
            self.comments.setdefault((repo, pr), []).append(comment)
            return comment

    def add_pull(self, repo: str, pr: int, head_sha: str) -> None:
        self.pulls[(repo, pr)] = {"number": pr, "head": {"sha": head_sha}, "base": {"repo": {"full_name": repo}}}

    # -- scripting --------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status`` (JSON ``{"message": ...}``) instead."""
        body = {"message": message or f"fake failure {status}", "documentation_url": "https://docs.github.com/rest"}
        self._scripts.append(_Script(status, headers or {}, body, times, method, re.compile(path) if path else None))

    def respond(
        self,
        status: int,
        body: Any,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``times`` matching requests get exactly this reply."""
        self._scripts.append(_Script(status, headers or {}, body, times, method, re.compile(path) if path else None))

    def stall(self, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None) -> None:
        """The next ``times`` matching requests wait ``seconds`` (or until teardown) before answering normally."""
        self._scripts.append(_Script(0, {}, None, times, method, re.compile(path) if path else None, stall=seconds))

    # -- inspection -------------------------------------------------------

    def sent(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally filtered by method and a regex searched in the path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or re.search(path, r.path))
        ]

    def pr_comments(self, repo: str, pr: int) -> list[dict[str, Any]]:
        return self.comments.get((repo, pr), [])

    # -- request handling -------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _take_script(self, method: str, path: str) -> _Script | None:
        with self._lock:
            for script in self._scripts:
                if script.times > 0 and script.matches(method, path):
                    script.times -= 1
                    return script
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        in_prefix = not self.prefix or parts.path.startswith(self.prefix + "/")
        rel = parts.path[len(self.prefix) :] if in_prefix else parts.path
        with self._lock:
            self.requests.append(Recorded(method, rel, raw_path, query, headers, body))
        script = self._take_script(method, rel)
        if script is not None and script.stall:
            self._release.wait(script.stall)
        elif script is not None:
            return script.status, script.headers, script.body
        if not in_prefix:
            return 404, {}, {"message": "Not Found"}
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials"}
        with self._lock:
            return self._route(method, rel, query, body)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        repo_re = r"/repos/(?P<repo>[^/]+/[^/]+)"
        if m := re.fullmatch(repo_re + r"/issues/(?P<n>\d+)/comments", path):
            repo, pr = m["repo"], int(m["n"])
            if method == "GET":
                return self._list_comments(repo, pr, query, path)
            if method == "POST":
                if error := _too_long(body, ("body",), MAX_BODY):
                    return error
                return 201, {}, self.add_comment(repo, pr, body["body"])
        if (m := re.fullmatch(repo_re + r"/issues/comments/(?P<id>\d+)", path)) and method == "PATCH":
            if error := _too_long(body, ("body",), MAX_BODY):
                return error
            for comment in (c for cs in self.comments.values() for c in cs):
                if comment["id"] == int(m["id"]):
                    comment["body"] = body["body"]
                    return 200, {}, comment
            return 404, {}, {"message": "Not Found"}
        if (m := re.fullmatch(repo_re + r"/check-runs", path)) and method == "POST":
            if error := _too_long(
                body.get("output") if isinstance(body, dict) else None, ("summary",), MAX_CHECK_OUTPUT
            ):
                return error
            run_id = self._new_id()
            run = dict(body, id=run_id, html_url=f"https://github.example/{m['repo']}/runs/{run_id}")
            self.check_runs[run_id] = run
            return 201, {}, run
        if (m := re.fullmatch(repo_re + r"/check-runs/(?P<id>\d+)", path)) and method == "PATCH":
            patched = self.check_runs.get(int(m["id"]))
            if patched is None:
                return 404, {}, {"message": "Not Found"}
            patched.update(body)
            return 200, {}, patched
        if (m := re.fullmatch(repo_re + r"/pulls/(?P<n>\d+)", path)) and method == "GET":
            pull = self.pulls.get((m["repo"], int(m["n"])))
            return (200, {}, pull) if pull else (404, {}, {"message": "Not Found"})
        return 404, {}, {"message": "Not Found"}

    def _list_comments(self, repo: str, pr: int, query: dict[str, str], path: str) -> Reply:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        comments = self.comments.get((repo, pr), [])
        last = max(1, -(-len(comments) // per_page))
        chunk = comments[(page - 1) * per_page : page * per_page]
        base = f"{self.api_url}{path}"
        links = []
        if page < last:
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{base}?per_page={per_page}&page={page - 1}>; rel="prev"')
        return 200, ({"Link": ", ".join(links)} if links else {}), chunk


def _too_long(body: Any, keys: tuple[str, ...], limit: int) -> Reply | None:
    """GitHub's 422 for a missing or over-long field."""
    if not isinstance(body, dict) or not all(isinstance(body.get(key), str) for key in keys):
        return 422, {}, {"message": "Invalid request."}
    for key in keys:
        if len(body[key]) > limit:
            return (
                422,
                {},
                {
                    "message": "Validation Failed",
                    "errors": [{"message": f"{key} is too long (maximum is {limit} characters)"}],
                },
            )
    return None


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, extra, body = fake.handle(self.command, self.path, headers, raw)
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start(prefix: str = "", token: str | None = None) -> tuple[FakeGitHub, Callable[[], None]]:
    """Start a fake on a free 127.0.0.1 port; returns it and its stop function."""
    fake = FakeGitHub(prefix=prefix, token=token)
    server = _Server(("127.0.0.1", 0), _handler_for(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        fake._release.set()  # wake stalled handlers
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return fake, stop


@pytest.fixture
def fake_github_factory() -> Iterator[Callable[..., FakeGitHub]]:
    """Start fakes with options: ``fake_github_factory(prefix="/api/v3", token="...")``."""
    stops: list[Callable[[], None]] = []

    def make(prefix: str = "", token: str | None = None) -> FakeGitHub:
        fake, stop = start(prefix, token)
        stops.append(stop)
        return fake

    yield make
    for stop in stops:
        stop()


@pytest.fixture
def fake_github(fake_github_factory: Callable[..., FakeGitHub]) -> FakeGitHub:
    """A fake GitHub API at ``fake.api_url`` (no path prefix) that accepts any token."""
    return fake_github_factory()
