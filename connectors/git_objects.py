"""Commit objects read as git stores them, so no byte in a message, name or e-mail can shift a field.

``git log`` can only print fields with separators, and a message (or a forged name) may contain any
separator byte.  ``git cat-file --batch`` prints each object after its size in bytes, so an object ends
where its size says, whatever it holds.  The headers are parsed as git does (``split_ident_line``); a
date git could not read, or one outside the believable range (``connectors.timebounds``), is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from connectors.base import ConnectorError
from connectors.git_cli import decode
from connectors.records import IdentityRecord
from connectors.timebounds import out_of_range

DATE_RE = re.compile(rb"[ \t\r\n]*([0-9]+)[ \t\r\n]+([+-])([0-9]+)")


@dataclass(frozen=True, slots=True)
class Signature:
    """An author or committer line: who, when, and why the date was dropped (empty when it was not)."""

    identity: IdentityRecord
    at: datetime | None
    dropped: str = ""


@dataclass(frozen=True, slots=True)
class RawCommit:
    author: Signature
    committer: Signature
    message: str


def text(raw: bytes, encoding: str) -> str:
    """Bytes in the commit's declared encoding (as ``git log`` re-encodes), else UTF-8 or Latin-1.

    NUL, which git itself cuts text at and PostgreSQL cannot store, becomes U+FFFD."""
    value = None
    if encoding:
        try:
            value = raw.decode(encoding)
        except (LookupError, UnicodeError):  # unknown or non-text codec, or bytes not in it
            value = None
    if value is None:
        value = decode(raw)
    return value.replace("\x00", "\ufffd")


def parse_when(raw: bytes, now: datetime) -> tuple[datetime | None, str]:
    """``<seconds since 1970> <+hhmm>`` after an identity; (None, reason) when it cannot be believed."""
    match = DATE_RE.match(raw)
    if not match:
        return None, "unreadable" if raw.strip() else ""
    seconds, sign, zone = match.groups()
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds))
    except OverflowError:
        return None, f"{seconds.decode()} seconds after 1970 is past the year 9999"
    if int(seconds) == 0:  # git's rendering of a date it could not read
        return None, "0 (1970-01-01, git's missing date)"
    reason = out_of_range(moment, now)
    if reason is not None:
        return None, reason
    hours, minutes = divmod(int(zone[-4:] or b"0"), 100)
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == b"-" else 1)
    if len(zone) > 4 or minutes >= 60 or offset >= timedelta(hours=24) or offset <= timedelta(hours=-24):
        return moment, ""  # an impossible offset: the moment is still known, shown in UTC
    return moment.astimezone(timezone(offset)), ""


def parse_signature(raw: bytes, encoding: str, now: datetime) -> Signature:
    """``Name <email> seconds zone`` the way git splits it: name before the first ``<``, e-mail up to the
    next ``>``, date after the last ``>``."""
    opening = raw.find(b"<")
    closing = raw.find(b">", opening + 1) if opening >= 0 else -1
    if closing < 0:
        name = raw[:opening] if opening >= 0 else raw
        return Signature(IdentityRecord(name=text(name.strip(b" \t\r\n"), encoding)), None)
    name, email = raw[:opening].rstrip(b" \t\r\n"), raw[opening + 1 : closing]
    at, dropped = parse_when(raw[raw.rfind(b">") + 1 :], now)
    return Signature(IdentityRecord(name=text(name, encoding), email=text(email, encoding)), at, dropped)


def parse_commit(raw: bytes, now: datetime) -> RawCommit:
    """A commit object: headers up to the first empty line (the first of each kind counts), then the
    message (``%B``: verbatim, trailing newlines dropped)."""
    head, _, body = raw.partition(b"\n\n")
    found: dict[bytes, bytes] = {}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key in (b"author", b"committer", b"encoding"):
            found.setdefault(key, value)
    encoding = found.get(b"encoding", b"").decode("ascii", "replace").strip()
    return RawCommit(
        author=parse_signature(found.get(b"author", b""), encoding, now),
        committer=parse_signature(found.get(b"committer", b""), encoding, now),
        message=text(body, encoding).rstrip("\n"),
    )


def read_objects(out: bytes, shas: list[str]) -> Iterator[bytes]:
    """The objects in ``git cat-file --batch`` output, in the order of ``shas``: each is
    ``<sha> <type> <size>\\n<size bytes>\\n``, so its content never has to be searched for an end."""
    pos = 0
    for sha in shas:
        end = out.index(b"\n", pos)
        name, kind, size = [*out[pos:end].split(b" "), b"", b""][:3]
        if name.decode() != sha or kind != b"commit":
            raise ConnectorError(f"git cat-file answered {out[pos:end][:80]!r} for commit {sha}")
        start = end + 1
        pos = start + int(size) + 1
        yield out[start : pos - 1]
