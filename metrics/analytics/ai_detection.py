"""AI-assistance and bot detection from commit and PR metadata.

Pure functions over strings.  Each finding is an :class:`Evidence` (tool, kind, matched text) so
that the product can always show *why* a PR counts as AI-assisted.  Trailers and authors are a
lower bound: many AI-assisted changes carry no mark at all (see detection coverage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (tool, pattern over "name <email>") — order matters: the first match names the tool.
_IDENTITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (tool, re.compile(pattern, re.IGNORECASE))
    for tool, pattern in (
        ("Claude Code", r"noreply@anthropic\.com|^claude\b|claude\[bot\]"),
        (
            "GitHub Copilot",
            r"copilot-swe-agent|\d+\+copilot@users\.noreply\.github\.com|^(github )?copilot\b",
        ),
        ("Cursor", r"cursoragent@cursor\.com|@cursor\.com>|^cursor( agent)?\b|cursor\[bot\]"),
        ("aider", r"aider@aider\.chat|\(aider\)\s*<|^aider\b"),
        ("Devin", r"devin-ai-integration|^devin ai\b"),
        ("Codex", r"chatgpt-codex-connector|codex@openai\.com|^codex\b"),
        ("Gemini", r"gemini-code-assist"),
        ("Jules", r"google-labs-jules"),
        ("Factory", r"factory-droid"),
        ("Windsurf", r"windsurf|codeium"),
        ("Amazon Q", r"amazon-q-developer"),
    )
)

_TRAILER = re.compile(
    r"^[ \t>*-]*co-authored-by:[ \t]*(?P<who>[^\r\n]+?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)
_GENERATED = re.compile(
    r"generated (?:with|by) \[?(?P<tool>claude code|cursor|aider|codex|github copilot|devin|gemini)\]?",
    re.IGNORECASE,
)
_GENERATED_TOOLS = {
    "claude code": "Claude Code",
    "cursor": "Cursor",
    "aider": "aider",
    "codex": "Codex",
    "github copilot": "GitHub Copilot",
    "devin": "Devin",
    "gemini": "Gemini",
}
_BRANCH_PREFIXES = {
    "copilot/": "GitHub Copilot",
    "codex/": "Codex",
    "cursor/": "Cursor",
    "claude/": "Claude Code",
    "devin/": "Devin",
    "jules/": "Jules",
}
_LABEL = re.compile(
    r"\b(ai[-_ ]?(assisted|generated)|claude|copilot|cursor|aider|devin|codex)\b", re.IGNORECASE
)
_LABEL_TOOLS = {
    "claude": "Claude Code",
    "copilot": "GitHub Copilot",
    "cursor": "Cursor",
    "aider": "aider",
    "devin": "Devin",
    "codex": "Codex",
}
_BOT_NAMES = re.compile(
    r"\[bot\]|^(dependabot|renovate|github-actions|pre-commit-ci|greenkeeper|snyk-bot|mergify|imgbot|"
    r"allcontributors|web-flow|semantic-release-bot)\b|^(dependabot|renovate)(-preview)?@|^bot@",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    tool: str
    kind: str  # trailer | author | branch | label | telemetry | explicit
    matched_text: str


# --- Agent-authored PRs: a coding agent opened the PR (it did the work; a human asked and reviews). ---
# Stored evidence is (kind, matched_text); ``is_agent_evidence`` re-reads it, so a PR's class follows from
# its stored evidence without a flag of its own.
# Labels an agent (or a team's automation) puts on the PRs it opens.
_AGENT_LABEL = re.compile(
    r"\b(ai[-_ ]?agent|agent[-_ ]?(authored|generated|pr)|coding[-_ ]agent|devin|jules|codex|"
    r"background[-_ ]agent)\b",
    re.IGNORECASE,
)
_AGENT_LABEL_TOOLS = {"devin": "Devin", "jules": "Jules", "codex": "Codex"}
# Session links the agents write into the PR description (Devin, Codex cloud tasks, Jules, Cursor).
_AGENT_LINK = re.compile(
    r"https://(?:app\.devin\.ai/sessions|chatgpt\.com/codex/tasks|jules\.google\.com/task|"
    r"(?:www\.)?cursor\.com/(?:agents|background-agent))[^\s)\]]*",
    re.IGNORECASE,
)
_AGENT_LINK_TOOLS = {"devin": "Devin", "codex": "Codex", "jules": "Jules", "cursor": "Cursor"}


def agent_session_evidence(body: str) -> list[Evidence]:
    """Agent session links in a PR description (``https://app.devin.ai/sessions/...``)."""
    found = []
    for match in _AGENT_LINK.finditer(body or ""):
        text = match.group(0)
        tool = next((t for word, t in _AGENT_LINK_TOOLS.items() if word in text.lower()), "unspecified")
        found.append(Evidence(tool, "trailer", text[:500]))
    return found


def is_agent_evidence(kind: str, matched_text: str) -> bool:
    """True if one piece of a PR's *own* evidence says a coding agent opened it.

    An agent branch prefix (``copilot/``, ``codex/``, ``cursor/``, ``claude/``, ``devin/``, ``jules/``), an
    agent account as the PR's author, an agent label, an agent session link, or telemetry naming an agent.
    Trailers in commits (``Co-authored-by: Claude``) mean AI-*assisted* human work, not an agent PR."""
    text = matched_text or ""
    if kind == "branch":
        return any(text.lower().startswith(prefix) for prefix in _BRANCH_PREFIXES)
    if kind == "author":  # the PR's own author is an AI identity: only an agent opens PRs as one
        return "(aider)" not in text.lower()  # aider marks a human's own identity: AI-assisted work
    if kind == "label":
        return bool(_AGENT_LABEL.search(text))
    if kind == "trailer":
        return bool(_AGENT_LINK.search(text))
    if kind == "telemetry":
        return "agent" in text.lower()
    return False


def ai_tool_for_identity(name: str, email: str) -> str | None:
    """The AI tool an identity stands for (``Cursor Agent <cursoragent@cursor.com>`` -> Cursor)."""
    text = f"{name.strip()} <{email.strip()}>"
    for tool, pattern in _IDENTITY_RULES:
        if pattern.search(text):
            return tool
    return None


def is_bot_identity(name: str, email: str = "", login: str = "") -> bool:
    """True for automation accounts (``[bot]`` suffix, dependabot, renovate, CI)."""
    return any(_BOT_NAMES.search(value.strip()) for value in (name, email, login) if value)


def commit_evidence(message: str, author_name: str = "", author_email: str = "") -> list[Evidence]:
    """Evidence in one commit: AI co-author trailers, "Generated with" lines and AI authors."""
    found: list[Evidence] = []
    for match in _TRAILER.finditer(message):
        who = match.group("who")
        name, _, email = who.partition("<")
        tool = ai_tool_for_identity(name, email.rstrip(">"))
        if tool:
            found.append(Evidence(tool, "trailer", match.group(0).strip()[:500]))
    for match in _GENERATED.finditer(message):
        found.append(Evidence(_GENERATED_TOOLS[match.group("tool").lower()], "trailer", match.group(0)[:500]))
    tool = ai_tool_for_identity(author_name, author_email)
    if tool:
        found.append(Evidence(tool, "author", f"{author_name} <{author_email}>"[:500]))
    return found


def pull_request_evidence(
    head_branch: str = "",
    labels: tuple[str, ...] | list[str] = (),
    author_name: str = "",
    author_email: str = "",
    author_login: str = "",
    body: str = "",
) -> list[Evidence]:
    """Evidence in a PR's own metadata: agent branch prefixes, labels, an AI author account, agent session
    links in the description."""
    found: list[Evidence] = []
    branch = head_branch.lower()
    for prefix, tool in _BRANCH_PREFIXES.items():
        if branch.startswith(prefix):
            found.append(Evidence(tool, "branch", head_branch[:500]))
    for label in labels:
        match = _LABEL.search(label)
        agent = _AGENT_LABEL.search(label)
        if match:
            word = match.group(1).lower()
            found.append(Evidence(_LABEL_TOOLS.get(word, "unspecified"), "label", label[:500]))
        elif agent:
            tool = _AGENT_LABEL_TOOLS.get(agent.group(1).lower(), "unspecified")
            found.append(Evidence(tool, "label", label[:500]))
    author_tool = ai_tool_for_identity(author_name or author_login, author_email)
    if author_tool:
        found.append(Evidence(author_tool, "author", f"{author_name or author_login} <{author_email}>"[:500]))
    return found + agent_session_evidence(body)
