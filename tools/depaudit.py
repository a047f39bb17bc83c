"""Dependency audit: every installed distribution against the advisories PyPI publishes (from OSV).

The same data source as ``pip-audit --vulnerability-service pypi``: PyPI's JSON API lists the known
vulnerabilities of a release.  ``GET <index>/<name>/<version>/json`` answers for the exact installed
version; that is authoritative.  Some networks (a mirror, a filtering proxy) serve only the project
endpoint ``GET <index>/<name>/json``, whose ``vulnerabilities`` belong to the newest release.  Then:

- installed == newest release: those advisories are exactly the installed version's (authoritative);
- an older version: an advisory of the newest release is counted against it too (unless a fix in the
  installed version's own release series is at or below it), and the package is reported as *partly
  audited*, because advisories fixed between the two versions cannot be read there, together with what
  holds it back and any newer release of its own major.minor series (where its fixes would arrive).

Plain Python, no Django: ``python manage.py audit_dependencies`` is the command around it.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

DEFAULT_INDEX = "https://pypi.org/pypi"


class AuditError(RuntimeError):
    """The index could not be asked (unreachable, an HTTP error, an answer that is not PyPI's JSON)."""


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    link: str


@dataclass
class PackageAudit:
    name: str
    version: str
    coverage: str  # "exact" | "newest release" | "partial" | "not on the index" | "local"
    newest: str | None = None
    advisories: list[Advisory] = field(default_factory=list)
    ignored: list[Advisory] = field(default_factory=list)
    held_by: str = ""  # why the newest release is not installed, when known
    newest_requires_python: str = ""
    newer_in_series: str | None = None  # a newer release with the same major.minor (partial only)

    @property
    def vulnerable(self) -> bool:
        return bool(self.advisories)


@dataclass
class Report:
    index: str
    packages: list[PackageAudit]

    @property
    def vulnerable(self) -> list[PackageAudit]:
        return [p for p in self.packages if p.vulnerable]

    @property
    def partial(self) -> list[PackageAudit]:
        return [p for p in self.packages if p.coverage == "partial"]

    def as_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "packages": [
                {
                    "name": p.name,
                    "version": p.version,
                    "coverage": p.coverage,
                    "newest": p.newest,
                    "held_by": p.held_by,
                    "newer_in_series": p.newer_in_series,
                    "vulnerabilities": [_advisory_json(a) for a in p.advisories],
                    "ignored": [_advisory_json(a) for a in p.ignored],
                }
                for p in self.packages
            ],
        }


def _advisory_json(a: Advisory) -> dict[str, object]:
    return {"id": a.id, "aliases": list(a.aliases), "fixed_in": list(a.fixed_in), "link": a.link}


def installed_packages() -> tuple[dict[str, str], list[str]]:
    """(name -> version of every distribution installed from an index, names installed from a local
    directory or VCS, such as this project's own editable install)."""
    found: dict[str, str] = {}
    local: list[str] = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        name = canonicalize_name(name)
        direct = dist.read_text("direct_url.json")
        if direct and _is_local(direct):
            local.append(name)
            continue
        found.setdefault(name, dist.version)  # the first on sys.path is the one imported
    # A project's own checkout may show up twice (its editable install and its *.egg-info on sys.path).
    return {n: v for n, v in found.items() if n not in local}, sorted(set(local))


def _is_local(direct_url: str) -> bool:
    try:
        info = json.loads(direct_url)
    except ValueError:
        return False
    return "dir_info" in info or "vcs_info" in info or str(info.get("url", "")).startswith("file:")


Fetch = Callable[[str], dict | None]  # URL -> parsed JSON, or None for HTTP 404


def http_fetch(timeout: float = 20.0, attempts: int = 3, pause: float = 0.5) -> Fetch:
    """GET and parse PyPI's JSON; None for 404.  A 429, a 5xx or a lost connection is tried again
    (``attempts`` in all, pausing ``pause`` s, then twice that), so a CDN hiccup does not fail CI."""

    def fetch(url: str) -> dict | None:
        for attempt in range(1, attempts + 1):
            try:
                return _get(url, timeout)
            except _Temporary as exc:
                if attempt == attempts:
                    raise AuditError(f"{url}: {exc} (after {attempts} attempts)") from None
                time.sleep(pause * 2 ** (attempt - 1))
        return None  # not reached

    return fetch


class _Temporary(Exception):
    pass


def _get(url: str, timeout: float) -> dict | None:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only
            body = answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        if exc.code == 429 or exc.code >= 500:
            raise _Temporary(f"HTTP {exc.code} {exc.reason}") from None
        raise AuditError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _Temporary(f"cannot connect ({getattr(exc, 'reason', exc)})") from None
    except http.client.HTTPException as exc:  # a cut-off answer (IncompleteRead), a bad status line
        raise _Temporary(f"broken answer ({type(exc).__name__})") from None
    try:
        data = json.loads(body)
    except ValueError:
        raise AuditError(f"{url}: the answer is not JSON") from None
    if not isinstance(data, dict) or "info" not in data:
        raise AuditError(f"{url}: the answer is not PyPI's JSON API (no 'info')")
    return data


def _advisories(data: dict) -> list[Advisory]:
    found = []
    for v in data.get("vulnerabilities") or []:
        if v.get("withdrawn"):
            continue
        found.append(
            Advisory(
                id=str(v.get("id", "?")),
                aliases=tuple(v.get("aliases") or ()),
                fixed_in=tuple(v.get("fixed_in") or ()),
                link=str(v.get("link") or ""),
            )
        )
    return found


def _fixed_for(advisory: Advisory, installed: Version) -> bool:
    """Whether a fix in the installed version's own release series is at or below it."""
    for text in advisory.fixed_in:
        try:
            fix = Version(text)
        except InvalidVersion:
            continue
        if fix.release[:2] == installed.release[:2] and fix <= installed:
            return True
    return False


def audit_package(name: str, version: str, index: str, fetch: Fetch) -> PackageAudit:
    quoted = urllib.parse.quote(name)
    exact = fetch(f"{index}/{quoted}/{urllib.parse.quote(version)}/json")
    if exact is not None and _same(str(exact["info"].get("version") or ""), version):
        return PackageAudit(name, version, "exact", version, _advisories(exact))
    # an index that ignores the version in the URL answered for its newest release: use it as that
    project = exact if exact is not None else fetch(f"{index}/{quoted}/json")
    if project is None:
        return PackageAudit(name, version, "not on the index")
    newest = str(project["info"].get("version") or "")
    advisories = _advisories(project)
    try:
        installed, newest_version = Version(version), Version(newest)
    except InvalidVersion:
        return PackageAudit(name, version, "partial", newest, advisories)
    if installed == newest_version:
        return PackageAudit(name, version, "newest release", newest, advisories)
    return PackageAudit(
        name,
        version,
        "partial",
        newest,
        [a for a in advisories if not _fixed_for(a, installed)],
        newer_in_series=_newer_in_series(project.get("releases") or {}, installed),
        newest_requires_python=str(project["info"].get("requires_python") or ""),
    )


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _newer_in_series(releases: Mapping[str, list], installed: Version) -> str | None:
    """The newest final, not yanked release of the installed version's major.minor, when newer: the
    fixes a series gets arrive there, and the project endpoint cannot say which it has."""
    best = None
    for text, files in releases.items():
        try:
            candidate = Version(text)
        except InvalidVersion:
            continue
        same_series = candidate.release[:2] == installed.release[:2]
        if candidate.is_prerelease or not same_series or candidate <= installed:
            continue
        if files and all(f.get("yanked") for f in files):
            continue
        best = max(best, candidate) if best else candidate
    return str(best) if best else None


def installed_requirements() -> list[tuple[str, Requirement]]:
    """(distribution, requirement) for every requirement of every installed distribution that applies
    here (this platform and Python; any of its extras, since which were asked for is not kept)."""
    found = []
    for dist in metadata.distributions():
        extras = ["", *(dist.metadata.get_all("Provides-Extra") or ())]
        for text in dist.requires or ():
            with suppress(InvalidRequirement):
                req = Requirement(text)
                if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras):
                    found.append((dist.metadata["Name"], req))
    return found


def _held_by(package: PackageAudit, requirements: list[tuple[str, Requirement]]) -> str:
    """Why the newest release is not installed: this Python, or an installed distribution's requirement."""
    reasons = []
    python = ".".join(map(str, sys.version_info[:3]))
    needs = package.newest_requires_python
    with suppress(InvalidSpecifier):
        if needs and not SpecifierSet(needs).contains(python):
            reasons.append(f"Python {python} (it needs {needs})")
    with suppress(InvalidVersion):
        newest = Version(package.newest or "")
        for dist, req in requirements:
            if canonicalize_name(req.name) == package.name and not req.specifier.contains(
                newest, prereleases=True
            ):
                reasons.append(f"{dist} requires {req.name}{req.specifier}")
    return "; ".join(sorted(set(reasons)))


def audit(
    packages: Mapping[str, str],
    *,
    index: str = DEFAULT_INDEX,
    ignore: Iterable[str] = (),
    fetch: Fetch | None = None,
    workers: int = 16,
    local: Iterable[str] = (),
) -> Report:
    """Audit ``packages`` (name -> version).  ``ignore``: advisory ids or aliases accepted on purpose.
    Raises AuditError when the index cannot be asked: an audit that did not run must not pass."""
    index = index.rstrip("/")
    if urllib.parse.urlsplit(index).scheme not in ("http", "https"):
        raise AuditError(f"the index must be an http(s) URL, not {index!r}")
    fetch = fetch or http_fetch()
    ignored_ids = {i.strip().upper() for i in ignore if i.strip()}
    names = sorted(packages)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        results = list(pool.map(lambda n: audit_package(n, packages[n], index, fetch), names))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on the first error, ask no further
    # Requirements are parsed here, in one thread: parsing markers compiles Python literals, which
    # CPython 3.11 cannot do in several threads at once ("AST constructor recursion depth mismatch").
    requirements = installed_requirements() if any(r.coverage == "partial" for r in results) else []
    for result in results:
        if result.coverage == "partial":
            result.held_by = _held_by(result, requirements)
        keep, skip = [], []
        for a in result.advisories:
            ids = {a.id.upper(), *(x.upper() for x in a.aliases)}
            (skip if ids & ignored_ids else keep).append(a)
        result.advisories, result.ignored = keep, skip
    results += [PackageAudit(n, "", "local") for n in local]
    return Report(index, sorted(results, key=lambda p: p.name))


def render(report: Report) -> list[str]:
    """The report as lines of text: the vulnerable packages first, then what was only partly audited."""
    counts = Counter(p.coverage for p in report.packages)
    lines = [
        f"Audited {len(report.packages)} installed distributions against {report.index}: "
        + ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
    ]
    for p in report.vulnerable:
        for a in p.advisories:
            fixed = ", ".join(a.fixed_in) or "no fixed version yet"
            alias = f" ({', '.join(a.aliases)})" if a.aliases else ""
            line = f"VULNERABLE {p.name} {p.version}: {a.id}{alias}; fixed in {fixed}; {a.link}"
            lines.append(line.rstrip("; "))
    for p in report.packages:
        for a in p.ignored:
            lines.append(f"ignored    {p.name} {p.version}: {a.id} (--ignore-vuln)")
    for p in report.partial:
        held = f"; held back by {p.held_by}" if p.held_by else ""
        series = f"; UPGRADE: {p.newer_in_series} is newer in its series" if p.newer_in_series else ""
        lines.append(
            f"partly     {p.name} {p.version}: the index serves advisories only for the newest release "
            f"({p.newest}); those were applied, advisories fixed in between could not be read{held}{series}"
        )
    for p in report.packages:
        if p.coverage == "not on the index":
            lines.append(f"not found  {p.name} {p.version}: not on {report.index}, not audited")
    vulnerable = sum(len(p.advisories) for p in report.vulnerable)
    lines.append(
        f"{vulnerable} known vulnerabilit{'y' if vulnerable == 1 else 'ies'} in "
        f"{len(report.vulnerable)} package{'' if len(report.vulnerable) == 1 else 's'}"
        if vulnerable
        else "No known vulnerabilities found."
    )
    return lines
