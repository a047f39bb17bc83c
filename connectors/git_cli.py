"""Running git on repositories Sextant does not trust: the one place the git CLI is called.

A repository's own ``.git/config`` cannot be switched off, and several of its settings make git run a
command (``core.fsmonitor`` while reading the index, textconv and external diff drivers while diffing,
``gpg.program`` for ``log.showSignature``, a promisor remote over ``ext::`` when an object is missing).
Settings given with ``-c`` win over the repository's, so every command gets the overrides below; the
system and user configs are skipped (the results must not depend on the server account's settings),
inherited ``GIT_*`` variables are dropped (``GIT_DIR`` would read another repository), and no transport
is allowed at all: Sextant only reads what is on disk.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from connectors.base import ConnectorError

SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.askPass=",
    "core.alternateRefsCommand=",
    "credential.helper=",
    "diff.external=",
    "log.showSignature=false",
    "gpg.program=false",
    "color.ui=never",
    "protocol.allow=never",
    "core.quotepath=off",
)
# Read only from the environment of a git process, never from any config file.
SAFE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_ALLOW_PROTOCOL": "",  # beats the repository's protocol.<name>.allow; protocol.allow does not
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",  # reading never rewrites the index
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "LC_ALL": "C",  # git's messages are matched below and shown in errors
}
KEEP_ENV = frozenset({"GIT_EXEC_PATH"})  # where the server's own git installation lives


def git_env(path: Path) -> dict[str, str]:
    """The environment of every git process for the repository at ``path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in KEEP_ENV}
    env.update(SAFE_ENV)
    # git must not walk up from a plain folder into a repository that happens to contain it.
    env["GIT_CEILING_DIRECTORIES"] = str(path.resolve().parent)
    return env


def decode(raw: bytes) -> str:
    """Commit text is usually UTF-8; legacy messages without an encoding header are read as Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class GitError(ConnectorError):
    """A git command failed; ``stderr`` keeps everything it said (the message has its last line)."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


class Git:
    """A runner of git commands in one repository, with the safe configuration above."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = git_env(path)
        self.prefix = ["git", "--no-pager", "-C", str(path)]
        for setting in SAFE_CONFIG:
            self.prefix += ["-c", setting]

    def run(self, *args: str, input: bytes | None = None) -> bytes:
        try:
            done = subprocess.run(
                [*self.prefix, *args],
                input=input,
                capture_output=True,
                check=False,
                env=self.env,
                stdin=subprocess.DEVNULL if input is None else None,
            )
        except FileNotFoundError as exc:
            raise ConnectorError("the git command is not installed") from exc
        if done.returncode != 0:
            stderr = decode(done.stderr).strip()
            lines = stderr.splitlines()
            reason = lines[-1] if lines else "no message"
            raise GitError(f"git {args[0]} failed in {self.path}: {reason}", stderr)
        return done.stdout

    def try_run(self, *args: str) -> str | None:
        try:
            return decode(self.run(*args)).strip()
        except ConnectorError:
            return None
