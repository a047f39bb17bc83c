"""Line-level AI attribution kept in a repository's ``git notes`` (``refs/notes/ai``), as ``git-ai`` and
similar tools write it: one note per commit saying which of its added lines an AI tool wrote.

Two note formats are read:

* git-ai's authorship log: an attestation section (a file path on its own line, then indented lines
  ``<prompt id> <line ranges>`` such as ``  a1b2c3d4 1-10,15``), a line ``---``, then JSON metadata whose
  ``prompts`` name each prompt's ``agent_id.tool``.  The AI lines are the lines in the ranges;
* a JSON object with ``ai_lines_added`` (or ``ai_lines``), optionally ``lines_added`` and ``tool``.

The commit's added lines are git's own count (``--shortstat``), unless the note states them; the AI lines
are capped at them.  A note in neither format is skipped and counted as a problem.  Git runs through
``connectors.git_cli`` (a fixed safe configuration); notes are read with one ``git cat-file --batch``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from connectors.git_cli import Git, decode
from connectors.records import CommitAIAttributionRecord

NOTES_REF = "refs/notes/ai"
SOURCE = "git-notes"
RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def _ranges(text: str) -> int:
    lines = 0
    for part in text.split(","):
        match = RANGE.match(part.strip())
        if match is None:
            raise ValueError(f"{part!r} is not a line range")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise ValueError(f"{part!r} ends before it starts")
        lines += last - first + 1
    return lines


def parse_note(text: str) -> tuple[int, int | None, str]:
    """(AI lines added, lines added if the note says, tool) of one note; ValueError when unreadable."""
    stripped = text.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped)
        if not isinstance(data, dict):
            raise ValueError("the JSON note is not an object")
        ai = data.get("ai_lines_added", data.get("ai_lines"))
        if not isinstance(ai, int) or isinstance(ai, bool) or ai < 0:
            raise ValueError("the JSON note has no ai_lines_added count")
        total = data.get("lines_added")
        return (
            ai,
            total if isinstance(total, int) and not isinstance(total, bool) else None,
            str(data.get("tool") or ""),
        )
    attestation, separator, metadata = stripped.partition("\n---")
    if not separator:
        raise ValueError("neither a JSON note nor a git-ai authorship log")
    ai = 0
    for line in attestation.splitlines():
        if line[:1] in (" ", "\t") and line.strip():
            _prompt, _, ranges = line.strip().partition(" ")
            ai += _ranges(ranges)
    tools: set[str] = set()
    try:
        meta: Any = json.loads(metadata.strip() or "{}")
    except json.JSONDecodeError:
        meta = {}
    for prompt in (meta.get("prompts") or {}).values() if isinstance(meta, dict) else []:
        agent = prompt.get("agent_id") if isinstance(prompt, dict) else None
        if isinstance(agent, dict) and agent.get("tool"):
            tools.add(str(agent["tool"]))
    return ai, None, ",".join(sorted(tools))


def _blobs(git: Git, shas: list[str]) -> Iterator[bytes]:
    out = git.run("cat-file", "--batch", input="".join(f"{sha}\n" for sha in shas).encode())
    pos = 0
    for sha in shas:
        end = out.index(b"\n", pos)
        name, kind, size = [*out[pos:end].split(b" "), b"", b""][:3]
        if name.decode() != sha or kind != b"blob":
            yield b""
            pos = end + 1
            continue
        start = end + 1
        pos = start + int(size) + 1
        yield out[start : pos - 1]


def notes_refs(git: Git) -> dict[str, str]:
    """The notes refs of the repository (``refs_of`` keeps commits only; a notes ref points at one too,
    but is listed here on its own so the history walk never reads it)."""
    out = decode(git.run("for-each-ref", "--format=%(refname) %(objectname)", "refs/notes/"))
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def ai_attributions(
    git: Git, refs: dict[str, str], additions: dict[str, int], repository: str, problems: list[str]
) -> Iterator[CommitAIAttributionRecord]:
    """One record per commit in ``additions`` (sha -> lines added) that has a readable note."""
    if NOTES_REF not in refs:
        return
    pairs = []
    for line in decode(git.run("notes", f"--ref={NOTES_REF}", "list")).splitlines():
        blob, _, commit = line.strip().partition(" ")
        if SHA.match(blob) and SHA.match(commit) and commit in additions:
            pairs.append((blob, commit))
    unreadable = 0
    for (_blob, commit), raw in zip(pairs, _blobs(git, [b for b, _ in pairs]), strict=True):
        try:
            ai, stated, tool = parse_note(decode(raw))
        except (ValueError, json.JSONDecodeError):
            unreadable += 1
            continue
        total = stated if stated is not None else additions[commit]
        yield CommitAIAttributionRecord(
            sha=commit,
            source=SOURCE,
            lines_added=total,
            ai_lines_added=min(ai, total),
            repository=repository,
            detail=(("tool", tool),) if tool else (),
        )
    if unreadable:
        problems.append(f"{unreadable} notes under {NOTES_REF} are in no known format and were skipped")
