"""Secret canary: for the whole test run, no secret may appear in a log line, an HTTP response, an error
or a command's output (issue 7, "secrets never in logs, errors, API or pages").

Registered from ``tests/conftest.py`` (``pytest_plugins``).  What it watches, in-process:

* every log line as written: ``logging.Handler.format`` of every handler except pytest's own capture
  handlers (so the project's ContextFilter and JsonFormatter redaction has already run);
* every response Django produces (test client, DRF's APIClient, the ``live_server`` the browser tests
  drive): status, headers, cookies and body (a streaming body is teed as it is consumed);
* the text of every exception a request raised (``got_request_exception``), of every exception a
  management command raised, and everything a management command wrote (``OutputWrapper``);
* the captured stdout/stderr of Python subprocesses the suite starts (``manage.py``, workers), and the
  ``*.log`` files a test writes under its ``tmp_path`` (the Celery workers log there).

What it looks for: the planted constants below (tests/ops/test_secret_canary.py sends them everywhere a
secret goes), every plaintext of 8 characters or more passed to ``metrics.core.crypto.encrypt`` or
returned by ``decrypt`` (source tokens, GitHub App keys, webhook secrets; not plain lowercase words such
as a test's "a new token", which the product's own messages contain), the Fernet keys in force,
``SECRET_KEY``, ``EMAIL_HOST_PASSWORD``, the OIDC client secret and database passwords — raw,
HTML-escaped, JSON-escaped and URL-encoded.  Whatever a test emitted is scanned when the test ends (so
the buffer stays small); a hit fails the session with the test id, the log line or URL, and an excerpt in
which the secret is masked.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

# GitHub-token shaped (the project's log redaction knows this shape) and shapeless (it cannot).
PLANTED_TOKEN = "ghp_CANARYsextant0planted0token0x7Q9zK2"
PLANTED_SECRET = "canary-Sextant-planted-secret-4f1c8e"
MIN_LENGTH = 8
PLAIN_WORDS = re.compile(r"^[a-z ]+$")  # lowercase words only: would match the product's own sentences
LOG_FILE_LIMIT = 64 * 1024 * 1024  # bytes read from one log file


@dataclass(frozen=True)
class Leak:
    test: str
    kind: str
    where: str
    secret: int  # index into Collector.secrets
    excerpt: str


@dataclass
class Entry:
    kind: str  # log, response, exception, command, subprocess, logfile
    where: str
    payload: str | bytes | list[bytes]

    def data(self) -> str | bytes:
        return b"".join(self.payload) if isinstance(self.payload, list) else self.payload


def _prefix(secret: str) -> str:
    """As much of a secret as a report may show: a quarter of it, at most 4 characters."""
    return secret[: min(4, len(secret) // 4)]


def _variants(secret: str) -> list[str]:
    forms = [
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    ]
    return list(dict.fromkeys(forms))


class Collector:
    """The secrets of the run, what the current test emitted, and what leaked."""

    def __init__(self) -> None:
        self.installed = False
        self.secrets: list[str] = []
        self.origins: list[str] = []
        self._index: dict[str, int] = {}
        self._needles: list[tuple[int, str, bytes]] = []
        self.pending: list[Entry] = []
        self.leaks: list[Leak] = []
        self.current = "(outside tests)"
        self.counts = dict.fromkeys(("log", "response", "exception", "command", "subprocess", "logfile"), 0)
        self.bytes_scanned = 0
        self.seconds = 0.0
        self.scanned_files: set[Path] = set()
        self._lock = threading.Lock()
        for secret, origin in ((PLANTED_TOKEN, "planted token"), (PLANTED_SECRET, "planted secret")):
            self.track(secret, origin)

    # What to look for.
    def track(self, secret: object, origin: str) -> None:
        if not isinstance(secret, str) or len(secret.strip()) < MIN_LENGTH or secret in self._index:
            return
        if PLAIN_WORDS.match(secret):  # "a new token": ordinary text, not a credible secret
            return
        with self._lock:
            if secret in self._index:
                return
            number = len(self.secrets)
            self._index[secret] = number
            self.secrets.append(secret)
            self.origins.append(f"{origin} (first seen in {self.current})")
            self._needles.extend((number, v, v.encode("utf-8")) for v in _variants(secret))

    # What was emitted.
    def add(self, kind: str, where: str, payload: str | bytes | list[bytes]) -> Entry:
        entry = Entry(kind, where, payload)
        self.pending.append(entry)
        return entry

    def mask(self, text: str) -> str:
        for number, needle, _ in sorted(self._needles, key=lambda n: -len(n[1])):
            if needle in text:
                secret = self.secrets[number]
                text = text.replace(needle, f"<secret #{number} {_prefix(secret)}...{len(secret)} chars>")
        return text

    def _excerpt(self, data: str | bytes, needle: str, raw: bytes) -> str:
        if isinstance(data, bytes):
            at = data.find(raw)
            text = data[max(0, at - 120) : at + len(raw) + 120].decode("utf-8", "replace")
        else:
            at = data.find(needle)
            text = data[max(0, at - 120) : at + len(needle) + 120]
        return self.mask(text).replace("\n", "\\n")

    def find(self, entries: list[Entry], test: str) -> list[Leak]:
        """Every (entry, secret) hit among ``entries``; one joined search per needle keeps it cheap."""
        datas = [(e, e.data()) for e in entries]
        texts = "\x00".join(d for _, d in datas if isinstance(d, str))
        blobs = b"\x00".join(d for _, d in datas if isinstance(d, bytes))
        found: dict[tuple[int, int], Leak] = {}
        for number, needle, raw in list(self._needles):
            in_text, in_blob = needle in texts, raw in blobs
            if not (in_text or in_blob):
                continue
            for position, (entry, data) in enumerate(datas):
                hit = needle in data if isinstance(data, str) else raw in data
                if hit and (position, number) not in found:
                    excerpt, where = self._excerpt(data, needle, raw), self.mask(entry.where)
                    found[(position, number)] = Leak(test, entry.kind, where, number, excerpt)
        return list(found.values())

    def pending_leaks(self) -> list[Leak]:
        """Leaks among what the current test emitted so far (not yet reported)."""
        return self.find(list(self.pending), self.current)

    def forget(self, marker: str) -> int:
        """Drop pending entries that contain ``marker`` (the detector's self-test cleans up with this)."""
        raw = marker.encode("utf-8")
        keep, dropped = [], 0
        for entry in list(self.pending):
            data = entry.data()
            if (marker in data) if isinstance(data, str) else (raw in data):
                dropped += 1
            else:
                keep.append(entry)
        self.pending[:] = keep
        return dropped

    def flush(self, test: str) -> None:
        """Scan and drop what was emitted; remember the leaks."""
        entries, self.pending = self.pending, []
        if not entries:
            return
        started = time.perf_counter()
        for entry in entries:
            self.counts[entry.kind] = self.counts.get(entry.kind, 0) + 1
            data = entry.data()
            self.bytes_scanned += len(data)
        self.leaks.extend(self.find(entries, test))
        self.seconds += time.perf_counter() - started

    def scan_log_files(self, root: Path) -> None:
        """Queue the ``*.log`` files under ``root`` not read yet (subprocess logs: Celery workers)."""
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in (".git", "objects", "refs", "node_modules")]
            for name in files:
                path = Path(folder) / name
                if not name.endswith(".log") or path in self.scanned_files:
                    continue
                self.scanned_files.add(path)
                try:
                    with path.open("rb") as fh:
                        data = fh.read(LOG_FILE_LIMIT)
                except OSError:
                    continue
                self.add("logfile", str(path), data)

    def report(self) -> list[str]:
        lines = []
        for leak in self.leaks:
            secret = self.secrets[leak.secret]
            lines.append(
                f"{leak.test}: {leak.kind} {leak.where}: secret #{leak.secret} ({self.origins[leak.secret]}, "
                f"{_prefix(secret)}..., {len(secret)} chars) in: {leak.excerpt}"
            )
        return lines

    def summary(self) -> str:
        c = self.counts
        return (
            f"secret canary: scanned {c['log']} log lines, {c['response']} HTTP responses, "
            f"{c['exception']} exceptions, {c['command']} command outputs, {c['subprocess']} subprocess "
            f"outputs, {c['logfile']} log files ({self.bytes_scanned / 1e6:.1f} MB, {self.seconds:.1f} s); "
            f"{len(self.secrets)} secrets tracked; {len(self.leaks)} leaks"
        )


COLLECTOR = Collector()


# ---------------------------------------------------------------- hooks into the code under test
def _install_logging(collector: Collector) -> None:
    original = logging.Handler.format
    skipped: dict[type, bool] = {}

    def skip(handler: logging.Handler) -> bool:
        kind = type(handler)
        if kind not in skipped:
            skipped[kind] = kind.__module__.startswith("_pytest")
        if kind.__name__ == "AdminEmailHandler":  # sends nothing without ADMINS
            from django.conf import settings

            return not getattr(settings, "ADMINS", None)
        return skipped[kind]

    @functools.wraps(original)
    def format(self: logging.Handler, record: logging.LogRecord) -> str:
        text = original(self, record)
        if not skip(self):
            collector.add("log", f"{record.name} {record.levelname} ({type(self).__name__})", text)
        return text

    logging.Handler.format = format  # type: ignore[method-assign]


def _record_response(collector: Collector, request: Any, response: Any) -> None:
    try:
        where = f"{request.method} {request.get_full_path()} -> {response.status_code}"
        head = "\n".join(f"{k}: {v}" for k, v in response.items())
        if getattr(response, "cookies", None):
            head += "\n" + response.cookies.output()
        head_bytes = head.encode("utf-8", "replace") + b"\n\n"
        if getattr(response, "streaming", False):
            if getattr(response, "is_async", False):
                collector.add("response", where, head_bytes)
                return
            parts: list[bytes] = [head_bytes]
            collector.add("response", where, parts)
            response._iterator = _tee(response._iterator, parts)
        else:
            collector.add("response", where, head_bytes + response.content)
    except Exception as exc:  # the canary must never break a request
        collector.add("response", f"(not recorded: {type(exc).__name__})", b"")


def _install_django(collector: Collector) -> None:
    from django.core.handlers.base import BaseHandler
    from django.core.management.base import BaseCommand, OutputWrapper
    from django.core.signals import got_request_exception

    original = BaseHandler.get_response

    @functools.wraps(original)
    def get_response(self: BaseHandler, request: Any) -> Any:
        response = original(self, request)
        _record_response(collector, request, response)
        return response

    original_async = BaseHandler.get_response_async

    @functools.wraps(original_async)
    async def get_response_async(self: BaseHandler, request: Any) -> Any:
        response = await original_async(self, request)
        _record_response(collector, request, response)
        return response

    BaseHandler.get_response = get_response  # type: ignore[method-assign]
    BaseHandler.get_response_async = get_response_async  # type: ignore[method-assign]

    def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            path = request.get_full_path() if request is not None else "?"
            collector.add("exception", f"request {path}", "".join(traceback.format_exception_only(exc)))

    got_request_exception.connect(on_exception, dispatch_uid="secret-canary", weak=False)

    original_write = OutputWrapper.write

    @functools.wraps(original_write)
    def write(self: OutputWrapper, msg: str = "", style_func: Any = None, ending: Any = None) -> None:
        collector.add("command", "management command output", str(msg))
        original_write(self, msg, style_func, ending)

    OutputWrapper.write = write  # type: ignore[method-assign]

    original_execute = BaseCommand.execute

    @functools.wraps(original_execute)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        try:
            return original_execute(self, *args, **options)
        except Exception as exc:
            collector.add("command", f"error of {type(self).__module__}", f"{type(exc).__name__}: {exc}")
            raise

    BaseCommand.execute = execute  # type: ignore[method-assign]


def _tee(iterator: Iterator[Any], parts: list[bytes]) -> Iterator[Any]:
    for chunk in iterator:
        if isinstance(chunk, bytes | bytearray | memoryview):
            parts.append(bytes(chunk))
        elif isinstance(chunk, str):
            parts.append(chunk.encode("utf-8", "replace"))
        yield chunk


def _install_crypto(collector: Collector) -> None:
    from metrics.core import crypto

    encrypt, decrypt, keys = crypto.encrypt, crypto.decrypt, crypto.configured_keys

    @functools.wraps(encrypt)
    def tracked_encrypt(plaintext: str) -> str:
        collector.track(plaintext, "crypto.encrypt plaintext")
        return encrypt(plaintext)

    @functools.wraps(decrypt)
    def tracked_decrypt(ciphertext: str, *, what: str = "secret") -> str:
        plaintext = decrypt(ciphertext, what=what)
        collector.track(plaintext, f"crypto.decrypt result ({what})")
        return plaintext

    @functools.wraps(keys)
    def tracked_keys() -> list[str]:
        found = keys()
        for key in found:
            collector.track(key, "SEXTANT_ENCRYPTION_KEYS key")
        return found

    crypto.encrypt, crypto.decrypt, crypto.configured_keys = tracked_encrypt, tracked_decrypt, tracked_keys


def _install_subprocess(collector: Collector) -> None:
    original = subprocess.Popen.communicate
    python = os.path.basename(sys.executable)

    @functools.wraps(original)
    def communicate(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> Any:
        out, err = original(self, *args, **kwargs)
        argv = [self.args] if isinstance(self.args, str | bytes | os.PathLike) else list(self.args)
        program = os.path.basename(str(argv[0])) if argv else ""
        if program.startswith("python") or program == python:
            where = "subprocess " + " ".join(str(a) for a in argv)[:200]
            for stream in (out, err):
                if stream:
                    collector.add("subprocess", where, stream)
        return out, err

    subprocess.Popen.communicate = communicate  # type: ignore[method-assign]


def _settings_secrets(collector: Collector) -> None:
    from django.conf import settings

    if not settings.configured:
        return
    collector.track(getattr(settings, "SECRET_KEY", ""), "settings.SECRET_KEY")
    collector.track(getattr(settings, "EMAIL_HOST_PASSWORD", ""), "settings.EMAIL_HOST_PASSWORD")
    collector.track(getattr(settings, "OIDC_RP_CLIENT_SECRET", ""), "settings.OIDC_RP_CLIENT_SECRET")
    for alias, database in getattr(settings, "DATABASES", {}).items():
        collector.track(database.get("PASSWORD") or "", f"DATABASES[{alias!r}] password")


# ---------------------------------------------------------------- pytest hooks
def pytest_configure(config: pytest.Config) -> None:
    if COLLECTOR.installed:
        return
    _install_logging(COLLECTOR)
    _install_django(COLLECTOR)
    _install_crypto(COLLECTOR)
    _install_subprocess(COLLECTOR)
    COLLECTOR.installed = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    COLLECTOR.flush(COLLECTOR.current)  # whatever came between tests
    COLLECTOR.current = item.nodeid
    try:
        return (yield)
    finally:
        COLLECTOR.flush(item.nodeid)
        COLLECTOR.current = "(between tests)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    funcargs = getattr(item, "funcargs", None) or {}
    tmp = funcargs.get("tmp_path")
    _settings_secrets(COLLECTOR)  # before the settings fixture restores them
    try:
        return (yield)
    finally:
        if isinstance(tmp, Path) and tmp.is_dir():
            COLLECTOR.scan_log_files(tmp)  # after teardown: workers stopped, files complete


WORKER_LEAKS: list[str] = []  # what pytest-xdist workers found (make test-fast)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    WORKER_LEAKS.extend(getattr(node, "workeroutput", {}).get("secret_canary_leaks", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None)
    # Under pytest-xdist (make test-fast) each worker scans its own tests' files; the controller's
    # basetemp holds every worker's, including the detector self-test's planted ones.
    xdist_controller = getattr(session.config.option, "dist", "no") != "no" and not hasattr(
        session.config, "workerinput"
    )
    if isinstance(basetemp, Path) and basetemp.is_dir() and not xdist_controller:
        COLLECTOR.scan_log_files(basetemp)  # logs of session-scoped fixtures
    _settings_secrets(COLLECTOR)
    COLLECTOR.flush(COLLECTOR.current)
    if hasattr(session.config, "workerinput"):  # an xdist worker: its controller reports for everyone
        session.config.workeroutput["secret_canary_leaks"] = COLLECTOR.report()  # type: ignore[attr-defined]
        return
    leaks = COLLECTOR.report() + WORKER_LEAKS
    if leaks:
        # One failed "test" of its own, so the closing line says "1 failed" and the exit code is 1.
        report = pytest.TestReport(
            nodeid="tests/secret_canary.py::session",
            location=("tests/secret_canary.py", 0, "secret canary"),
            keywords={},
            outcome="failed",
            longrepr=f"{len(leaks)} secret leak(s):\n" + "\n".join(leaks),
            when="call",
        )
        session.config.hook.pytest_runtest_logreport(report=report)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not COLLECTOR.installed:
        return
    if COLLECTOR.leaks or WORKER_LEAKS:
        count = len(COLLECTOR.leaks) + len(WORKER_LEAKS)
        message = f"SECRET LEAKS: {count} (listed above, as tests/secret_canary.py::session)"
        terminalreporter.write_sep("=", message, red=True, bold=True)
    terminalreporter.write_line(COLLECTOR.summary())
    target = os.environ.get("SECRET_CANARY_SUMMARY")
    if target:
        Path(target).write_text(
            json.dumps(
                {
                    "counts": COLLECTOR.counts,
                    "bytes": COLLECTOR.bytes_scanned,
                    "scan_seconds": round(COLLECTOR.seconds, 2),
                    "secrets": len(COLLECTOR.secrets),
                    "origins": COLLECTOR.origins,
                    "leaks": COLLECTOR.report(),
                },
                indent=1,
            ),
            encoding="utf-8",
        )
