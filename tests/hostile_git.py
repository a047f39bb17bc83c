"""Builders for hostile git repositories (issue 15): forged commit objects and repository config that
would run commands.  Used by the connector tests and the import_git hostile suite."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import GitRepo

# Every way a repository's own config, attributes or hooks could make git run a command while Sextant
# reads it.  Each command writes a marker file named after the setting that ran it.
HOSTILE_CONFIG = {
    "core.fsmonitor": "fsmonitor",
    "diff.external": "diff-external",
    "core.pager": "pager",
    "pager.log": "pager-log",
    "diff.evil.textconv": "textconv",
    "diff.evil.command": "diff-driver",
    "filter.evil.clean": "filter-clean",
    "filter.evil.smudge": "filter-smudge",
    "filter.evil.process": "filter-process",
    "alias.log": "alias",  # written as "!cmd" below: aliases can never shadow git's own commands
    "gpg.program": "gpg",
    "core.sshCommand": "ssh",
    "core.askPass": "askpass",
    "credential.helper": "credential",
    "core.alternateRefsCommand": "alternate-refs",
}
HOOKS = ("post-checkout", "post-index-change", "reference-transaction", "pre-auto-gc", "fsmonitor-watchman")


def forge_commit(repo: GitRepo, raw_headers: bytes, message: bytes, *, parent: str | None = None) -> str:
    """Write a commit object with any header and message bytes (git hash-object, as a forger would)."""
    tree = repo.git("rev-parse", f"{parent or 'HEAD'}^{{tree}}")
    head = b"tree " + tree.encode() + b"\n"
    if parent:
        head += b"parent " + parent.encode() + b"\n"
    raw = head + raw_headers + b"\n" + message
    return repo.git("hash-object", "-t", "commit", "--stdin", "-w", input=raw)


def ident(name: bytes, email: bytes, when: bytes) -> bytes:
    return name + b" <" + email + b"> " + when


def make_hostile(repo: GitRepo, markers: Path) -> None:
    """Arm ``repo``: config, attributes and hooks that each write ``markers/<name>`` when run.

    Also a promisor remote over ``ext::``: an object git cannot find locally would be "fetched" lazily
    by running a shell command (see :func:`drop_object`).
    """
    markers.mkdir(parents=True, exist_ok=True)
    for key, name in HOSTILE_CONFIG.items():
        command = f"touch {markers / name}"
        repo.git("config", key, f"!{command}" if key.startswith("alias.") else command)
    repo.git("config", "log.showSignature", "true")
    repo.git("config", "color.ui", "always")
    repo.git("config", "core.repositoryformatversion", "1")
    repo.git("config", "extensions.partialClone", "origin")
    repo.git("config", "remote.origin.promisor", "true")
    repo.git("config", "remote.origin.url", f"ext::sh -c touch% {markers / 'lazy-fetch'}")
    repo.git("config", "protocol.ext.allow", "always")
    (repo.path / ".gitattributes").write_text("* diff=evil filter=evil\n")
    hooks = repo.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {markers / ('hook-' + hook)}\n")
        (hooks / hook).chmod(0o755)


def drop_object(repo: GitRepo, sha: str) -> None:
    """Delete one loose object, as a partial clone lacks it (git would ask the promisor remote)."""
    (repo.path / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
