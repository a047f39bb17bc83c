"""A generic fake HTTP API server on 127.0.0.1 for connector tests (GitHub, GitLab, Copilot, ...).

Real sockets, real HTTP/1.1 with keep-alive, so a client library (PyGithub, python-gitlab, requests) runs
exactly as in production.  What a test gets:

* a route table: ``server.route("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)")`` registers a handler
  ``handler(request, **groups) -> FakeResponse`` (the pattern must match the whole path);
* a request log: ``server.requests`` (method, path, query, headers, status; status None = dropped) and
  ``server.count(...)``;
* faults injected per route, consumed first-in first-out by matching requests: a status with headers
  and body (``status=403, retry_after=1``), a dropped connection (``drop=True``: the socket is closed
  without an answer), a delay;
* conditional requests: every 200 answer to a GET carries an ``ETag`` (a handler may set its own) and a
  request whose ``If-None-Match`` matches it gets ``304 Not Modified`` with no body;
* hooks: ``server.before`` (callables that may answer a request first: rate limits, auth checks) and
  ``server.default_headers`` (a callable adding headers to every answer: rate-limit headers).

Usage::

    with FakeApiServer() as server:
        server.route("GET", r"/user")(lambda request: FakeResponse(body={"login": "alice"}))
        server.fault("GET", r"/user", status=502)
        ... client(base_url=server.url) ...
        assert server.count("GET", r"/user") == 2
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None  # JSON-serialisable, or str / bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    drop: bool = False
    delay: float = 0.0
    times: int = 1
    when: Callable[[FakeRequest], bool] | None = None

    def matches(self, request: FakeRequest) -> bool:
        if self.method not in ("*", request.method) or not self.pattern.fullmatch(request.path):
            return False
        return self.when is None or self.when(request)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int | None  # None: the connection was dropped
    at: float


Handler = Callable[..., FakeResponse]


class FakeApiServer:
    """See the module docstring.  Thread-safe; start with ``with`` or ``start()``/``stop()``."""

    def __init__(self, *, auto_etag: bool = True) -> None:
        self.auto_etag = auto_etag
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self.before: list[Callable[[FakeRequest], FakeResponse | None]] = []
        self.default_headers: Callable[[FakeRequest, FakeResponse], dict[str, str]] | None = None
        self.latency = 0.0  # seconds added to every answer (to catch a client mid-work)
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- configuration -------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method.upper(), re.compile(pattern), handler))
            return handler

        return register

    def fault(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 503,
        headers: dict[str, str] | None = None,
        body: Any = None,
        retry_after: float | None = None,
        drop: bool = False,
        delay: float = 0.0,
        times: int = 1,
        when: Callable[[FakeRequest], bool] | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with this fault instead of the route."""
        all_headers = dict(headers or {})
        if retry_after is not None:
            all_headers["Retry-After"] = (
                str(int(retry_after)) if retry_after == int(retry_after) else str(retry_after)
            )
        fault = Fault(
            method.upper(), re.compile(pattern), status, all_headers, body, drop, delay, times, when
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    # --- inspection ----------------------------------------------------------------------------
    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        *,
        dropped: bool = False,
    ) -> int:
        pattern = re.compile(path) if path else None
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (pattern is None or pattern.fullmatch(r.path))
                and (status is None or r.status == status)
                and (not dropped or r.status is None)
            )

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeApiServer:
        server = self

        class RequestHandler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._httpd.daemon_threads = True
        # shutdown() waits for the loop's next poll: half a second at the default interval, in every test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- dispatch (called from handler threads) ---------------------------------------------------
    def take_fault(self, request: FakeRequest) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def answer(self, request: FakeRequest) -> FakeResponse:
        for hook in self.before:
            early = hook(request)
            if early is not None:
                return early
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match and method in ("*", request.method):
                return handler(request, **match.groupdict())
        return FakeResponse(404, {"message": "Not Found", "documentation_url": "https://docs.example/rest"})

    def log(self, request: FakeRequest, status: int | None) -> None:
        with self.lock:
            self.requests.append(
                LoggedRequest(
                    request.method,
                    request.path,
                    request.query,
                    request.headers,
                    request.body,
                    status,
                    time.monotonic(),
                )
            )


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    # Headers and body go out in two writes: with Nagle's algorithm on, the second waits for the client's
    # delayed ACK (40 ms a request on Linux), which real servers do not make their clients wait.
    disable_nagle_algorithm = True
    fake: FakeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _request(self) -> FakeRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = parse_qs(parts.query, keep_blank_values=True)
        return FakeRequest(self.command, parts.path, query, headers, body)

    def _handle(self) -> None:
        request = self._request()
        fake = self.fake
        fault = fake.take_fault(request)
        if fake.latency:
            time.sleep(fake.latency)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            fake.log(request, None)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None:
            response = FakeResponse(fault.status, fault.body, dict(fault.headers))
        else:
            response = fake.answer(request)
        self._send(request, response)

    def _send(self, request: FakeRequest, response: FakeResponse) -> None:
        fake = self.fake
        body = response.encoded()
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        status = response.status
        if fake.auto_etag and request.method == "GET" and status == 200:
            name = next((k for k in headers if k.lower() == "etag"), "ETag")
            headers[name] = headers.get(name) or etag_of(body)
            if request.header("if-none-match") == headers[name]:
                status, body = 304, b""
                headers.pop("Content-Type", None)
        if fake.default_headers is not None:
            final = FakeResponse(status, response.body, headers)
            headers = {**fake.default_headers(request, final), **headers}
        fake.log(request, status)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and request.method != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle
