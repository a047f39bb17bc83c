"""The load generator: closed-loop HTTP clients, the timed run and its report."""

from __future__ import annotations

import http.client
import json
import math
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from bench.loadtest.mix import Endpoint

P99_TARGET_S = 1.0
SAMPLES = 5  # error samples kept


@dataclass
class Result:
    """Latencies in seconds per endpoint name (measured requests only), errors anywhere in the run."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    content_types: dict[str, set[str]] = field(default_factory=dict)
    warmup_requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    reconnects: int = 0  # a kept-alive connection the server had closed, retried at once on a new one

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def merge(self, other: Result) -> None:
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        for name, types in other.content_types.items():
            self.content_types.setdefault(name, set()).update(types)
        self.warmup_requests += other.warmup_requests
        self.errors += other.errors
        self.reconnects += other.reconnects
        self.samples.extend(other.samples[: max(0, SAMPLES - len(self.samples))])


class Client:
    """One simulated client: one keep-alive connection, requests one after another (a closed loop)."""

    def __init__(self, port: int, headers: dict[str, dict[str, str]], timeout: float) -> None:
        self.port, self.headers, self.timeout = port, headers, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.result = Result()

    def _send(self, path: str, kind: str) -> tuple[int, str, bytes]:
        fresh = self.conn is None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path, headers=self.headers[kind])
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if fresh:
                raise
            self.result.reconnects += 1  # the server closed an idle kept-alive connection: as browsers do
            return self._send(path, kind)
        body = response.read()
        if response.will_close:
            self.close()
        return response.status, response.getheader("Content-Type", ""), body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def fetch(self, endpoint: Endpoint, name: str, path: str, measured: bool) -> bytes | None:
        began = time.perf_counter()
        try:
            status, ctype, body = self._send(path, endpoint.kind)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self._error(f"{name}: GET {path}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - began
        if not 200 <= status < 300:
            text = body[:200].decode("utf-8", "replace").replace("\n", " ")
            self._error(f"{name}: GET {path}: HTTP {status}: {text}")
            return None
        if not ctype.startswith(endpoint.content_type):
            self._error(f"{name}: GET {path}: content type {ctype!r}, expected {endpoint.content_type}")
            return None
        if measured:
            self.result.latencies.setdefault(name, []).append(elapsed)
            self.result.content_types.setdefault(name, set()).add(ctype.split(";")[0])
        else:
            self.result.warmup_requests += 1
        return body

    def _error(self, sample: str) -> None:
        self.result.errors += 1
        if len(self.result.samples) < SAMPLES:
            self.result.samples.append(sample)

    def run(
        self,
        endpoints: list[Endpoint],
        rng: random.Random,
        measure_from: float,
        until: float,
        think: float,
        first: Endpoint,
    ) -> None:
        """``first``: the first request (clients start on different endpoints, so that every endpoint is
        hit even in a short run); then drawn by weight."""
        weights = [e.weight for e in endpoints]
        endpoint = first
        while (now := time.monotonic()) < until:
            measured = now >= measure_from
            body = self.fetch(endpoint, endpoint.name, endpoint.path(rng), measured)
            if body is not None and endpoint.follow_next and time.monotonic() < until:
                link = json.loads(body).get("next")
                if link:
                    parts = urllib.parse.urlsplit(link)
                    self.fetch(endpoint, f"{endpoint.name} next", f"{parts.path}?{parts.query}", measured)
            if think:  # never past the end: the run's duration is the clients' time, not their pauses
                time.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())))
            endpoint = rng.choices(endpoints, weights)[0]
        self.close()


def _headers(token: str, cookie: str, keepalive: bool = True) -> dict[str, dict[str, str]]:
    extra = {} if keepalive else {"Connection": "close"}
    return {
        "api": {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity", **extra},
        "page": {"Cookie": cookie, "Accept": "text/html", "Accept-Encoding": "identity", **extra},
    }


def prime(port: int, token: str, cookie: str, endpoints: list[Endpoint], *, timeout: float = 120.0) -> Result:
    """Each endpoint once, one after another, before the clients start: what the first visitor after a
    deployment or a recompute waits for (cold caches), reported apart from the steady state."""
    client = Client(port, _headers(token, cookie), timeout)
    rng = random.Random(1)
    for endpoint in endpoints:
        client.fetch(endpoint, endpoint.name, endpoint.path(rng), measured=True)
    client.close()
    return client.result


def drive(
    port: int,
    token: str,
    cookie: str,
    endpoints: list[Endpoint],
    *,
    clients: int,
    seconds: float,
    warmup: float = 5.0,
    think: float = 0.0,
    seed: int = 7,
    timeout: float = 60.0,
    keepalive: bool = True,
) -> Result:
    """Run ``clients`` threads for ``warmup`` + ``seconds``; requests started in the warm-up are not timed.
    ``keepalive=False``: a new connection per request (as from a proxy without upstream keep-alive)."""
    headers = _headers(token, cookie, keepalive)
    started = time.monotonic()
    measure_from, until = started + warmup, started + warmup + seconds
    pool = [Client(port, headers, timeout) for _ in range(clients)]
    threads = [
        threading.Thread(
            target=c.run,
            args=(
                endpoints,
                random.Random(seed + i),
                measure_from,
                until,
                think,
                endpoints[i % len(endpoints)],
            ),
            name=f"load-client-{i}",
            daemon=True,
        )
        for i, c in enumerate(pool)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = Result(seconds=time.monotonic() - measure_from)
    for c in pool:
        result.merge(c.result)
    return result


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def overall_p99(result: Result) -> float:
    everything = [v for values in result.latencies.values() for v in values]
    return quantile(everything, 0.99) if everything else math.inf


def report(result: Result) -> str:
    everything = [v for values in result.latencies.values() for v in values]
    lines = [
        f"requests {result.requests:,} in {result.seconds:.1f} s = "
        f"{result.requests / result.seconds:.1f} req/s "
        f"(plus {result.warmup_requests:,} in the warm-up); errors {result.errors}; "
        f"kept-alive connections closed by the server and retried: {result.reconnects}",
        f"  {'latency ms':<38}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}",
    ]
    rows = [("all", everything), *sorted(result.latencies.items())]
    for name, values in rows:
        if values:
            cells = "".join(f"{quantile(values, q) * 1000:8.0f}" for q in (0.5, 0.9, 0.99, 1.0))
            lines.append(f"  {name:<38}{len(values):>7}{cells}")
    lines += [f"  error: {sample}" for sample in result.samples]
    return "\n".join(lines)
