"""Media-server-style paginated playback-history API (stdlib only).

``GET /api/history?after=<cursor>&limit=N`` returns::

    {"events": [...], "next_cursor": <int or null>, "total": <int>}

* Events are ordered by ``event_id``; ``after`` is an ``event_id`` (exclusive,
  default 0).  ``next_cursor`` is ``null`` on the last page.
* Pages deliberately overlap: ``next_cursor`` is the id of the
  ``overlap``-th-from-last event of the page, so the next page repeats
  ``overlap`` events (clients must de-duplicate by ``event_id``).
* Deterministic failure injection: with ``fail_every=K > 0`` every K-th
  ``/api/history`` request fails - odd-numbered failures with
  ``429 Too Many Requests`` + ``Retry-After: 0``, even-numbered ones with
  ``503 Service Unavailable`` (no Retry-After).  ``K=1`` fails every request.
* ``POST /api/reset`` resets the request counter (so every benchmark round
  sees the same failure pattern); ``GET /api/stats`` reports counters.

Binds to 127.0.0.1 only.  Use in-process as a context manager::

    with SyncServer(n_events=5000, overlap=10, fail_every=0) as srv:
        srv.base_url  # "http://127.0.0.1:<port>"

or as a subprocess (the first stdout line is the bound port)::

    python -m playback.sync_server --port 0 --events 20000 --fail-every 7
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from bisect import bisect_right
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from playback.generator import generate_events

__all__ = ["HistoryStore", "SyncServer", "main"]

HOST = "127.0.0.1"
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


class HistoryStore:
    """Deterministic in-memory history + request counter for failure injection."""

    def __init__(self, n_events: int, seed: int = 7, overlap: int = 0, fail_every: int = 0):
        if overlap < 0 or fail_every < 0:
            raise ValueError("overlap and fail_every must be >= 0")
        self.events = generate_events(n_events, seed)
        self.ids = [e["event_id"] for e in self.events]
        # Pre-encode each event once: pages are then a cheap bytes join, so the
        # benchmarks measure the client, not json.dumps on the server.
        self.encoded = [json.dumps(e, separators=(",", ":")).encode() for e in self.events]
        self.overlap = overlap
        self.fail_every = fail_every
        self._lock = threading.Lock()
        self.requests = 0
        self.failures = 0

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.failures = 0

    def next_failure(self) -> int | None:
        """Count a history request; return the HTTP status to fail with, if any."""
        with self._lock:
            self.requests += 1
            if self.fail_every and self.requests % self.fail_every == 0:
                self.failures += 1
                return 429 if self.failures % 2 == 1 else 503
            return None

    def page(self, after: int, limit: int) -> bytes:
        start = bisect_right(self.ids, after)
        end = min(start + limit, len(self.ids))
        if end >= len(self.ids):
            next_cursor = None
        else:
            # Overlap: the next page starts `overlap` events before this page's end
            # (but always makes progress).
            back = min(self.overlap, end - start - 1)
            next_cursor = self.ids[end - 1 - back]
        body = (
            b'{"events":['
            + b",".join(self.encoded[start:end])
            + b'],"next_cursor":'
            + json.dumps(next_cursor).encode()
            + b',"total":'
            + str(len(self.ids)).encode()
            + b"}"
        )
        return body


class _Handler(BaseHTTPRequestHandler):
    server_version = "PlaybackHistory/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive, like a real media server
    # Headers and body go out in two writes; with Nagle + the client's delayed
    # ACK, small responses (429/503) would stall ~40 ms each.  TCP_NODELAY.
    disable_nagle_algorithm = True

    @property
    def store(self) -> HistoryStore:
        return self.server.store  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # silence per-request stderr logging
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/api/stats":
            s = self.store
            return self._send(
                200,
                json.dumps(
                    {
                        "requests": s.requests,
                        "failures": s.failures,
                        "total": len(s.ids),
                        "overlap": s.overlap,
                        "fail_every": s.fail_every,
                    }
                ).encode(),
            )
        if url.path != "/api/history":
            return self._error(404, "not found")
        qs = parse_qs(url.query)
        try:
            after = int(qs.get("after", ["0"])[0] or 0)
            limit = int(qs.get("limit", [str(DEFAULT_LIMIT)])[0])
        except ValueError:
            return self._error(400, "after and limit must be integers")
        if not 1 <= limit <= MAX_LIMIT:
            return self._error(400, f"limit must be in 1..{MAX_LIMIT}")
        status = self.store.next_failure()
        if status == 429:
            return self._error(429, "rate limited", {"Retry-After": "0"})
        if status == 503:
            return self._error(503, "temporarily unavailable")
        self._send(200, self.store.page(after, limit))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if urlsplit(self.path).path == "/api/reset":
            self.store.reset()
            return self._send(200, b'{"ok":true}')
        self._error(404, "not found")


class SyncServer:
    """Threaded history server bound to 127.0.0.1; usable as a context manager."""

    def __init__(self, n_events: int = 20000, *, seed: int = 7, overlap: int = 25, fail_every: int = 0, port: int = 0):
        self.store = HistoryStore(n_events, seed=seed, overlap=overlap, fail_every=fail_every)
        self._port = port
        self.httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "server not started"
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> SyncServer:
        self.httpd = ThreadingHTTPServer((HOST, self._port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.store = self.store  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sync-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SyncServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m playback.sync_server", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--events", type=int, default=20000, help="number of events served")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--overlap", type=int, default=25, help="events repeated between pages")
    ap.add_argument(
        "--fail-every", type=int, default=0, help="every K-th history request fails with 429/503 (0 = never)"
    )
    args = ap.parse_args(argv)
    srv = SyncServer(args.events, seed=args.seed, overlap=args.overlap, fail_every=args.fail_every, port=args.port)
    srv.httpd = ThreadingHTTPServer((HOST, args.port), _Handler)
    srv.httpd.daemon_threads = True
    srv.httpd.store = srv.store  # type: ignore[attr-defined]
    # First stdout line: the bound port (parents read it to connect).
    print(srv.port, flush=True)
    try:
        srv.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
