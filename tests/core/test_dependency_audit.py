"""The dependency audit (tools/depaudit.py, `python -m tools.audit_dependencies`, CI tooling) against a
PyPI-shaped JSON API served on 127.0.0.1: the per-version endpoint (pip-audit's), the project endpoint
only (what some networks serve), withdrawn and ignored advisories, and an index that cannot be asked."""

from __future__ import annotations

import json
import re
import socketserver
import threading
from importlib import metadata
from io import StringIO

import pytest

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse
from tools import depaudit
from tools.audit_dependencies import main as audit_main

ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
    "fixed_in": ["2.0.1"],
    "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
    "summary": "a planted advisory",
    "withdrawn": None,
}
WITHDRAWN = {**ADVISORY, "id": "PYSEC-2099-2", "aliases": [], "withdrawn": "2099-01-02T00:00:00Z"}


class FakePyPI:
    """``/pypi/<name>/json`` (the newest release's advisories) and, unless ``exact`` is False,
    ``/pypi/<name>/<version>/json`` (that version's)."""

    def __init__(self, server: FakeApiServer) -> None:
        self.server = server
        self.exact = True
        self.ignores_version = False  # the per-version URL answers for the newest release (a bad mirror)
        self.newest: dict[str, str] = {}  # name -> newest version (default: whatever is asked)
        self.vulns: dict[tuple[str, str], list[dict]] = {}  # (name, version) -> advisories
        self.missing: set[str] = set()
        self.requires_python: dict[str, str] = {}
        self.releases: dict[str, dict[str, list[dict]]] = {}  # name -> version -> files
        server.route("GET", r"/pypi/(?P<name>[^/]+)/json")(self._project)
        server.route("GET", r"/pypi/(?P<name>[^/]+)/(?P<version>[^/]+)/json")(self._version)

    @property
    def index(self) -> str:
        return f"{self.server.url}/pypi"

    def _answer(self, name: str, version: str) -> FakeResponse:
        info = {"name": name, "version": version, "requires_python": self.requires_python.get(name)}
        vulns = self.vulns.get((name, version), [])
        body = {"info": info, "urls": [], "vulnerabilities": vulns}
        if name in self.releases:
            body["releases"] = self.releases[name]
        return FakeResponse(body=body)

    def _project(self, request: FakeRequest, name: str) -> FakeResponse:
        if name in self.missing or name not in self.newest:
            return FakeResponse(404, {"message": "Not Found"})
        return self._answer(name, self.newest[name])

    def _version(self, request: FakeRequest, name: str, version: str) -> FakeResponse:
        if not self.exact or name in self.missing:
            return FakeResponse(404, {"message": "Not Found"})
        return self._project(request, name) if self.ignores_version else self._answer(name, version)


@pytest.fixture
def pypi():
    with FakeApiServer() as server:
        yield FakePyPI(server)


def test_exact_version_advisories_are_reported_and_withdrawn_ones_are_not(pypi):
    pypi.vulns[("alpha", "2.0.0")] = [ADVISORY, WITHDRAWN]
    report = depaudit.audit({"alpha": "2.0.0", "beta": "1.0"}, index=pypi.index)
    alpha, beta = report.packages
    assert (alpha.name, alpha.coverage) == ("alpha", "exact")
    assert [a.id for a in alpha.advisories] == ["PYSEC-2099-1"]
    assert alpha.advisories[0].fixed_in == ("2.0.1",)
    assert (beta.coverage, beta.advisories) == ("exact", [])
    assert [p.name for p in report.vulnerable] == ["alpha"]
    lines = depaudit.render(report)
    assert any(line.startswith("VULNERABLE alpha 2.0.0: PYSEC-2099-1 (CVE-2099-0001") for line in lines)
    assert lines[-1] == "1 known vulnerability in 1 package"
    # pip-audit's endpoint was asked, not the project's
    assert pypi.server.count("GET", "/pypi/alpha/2.0.0/json") == 1
    assert pypi.server.count("GET", "/pypi/alpha/json") == 0


def test_project_endpoint_only_newest_release_is_authoritative_older_is_partial(pypi):
    pypi.exact = False
    pypi.newest.update(alpha="2.0.0", beta="3.1.0", gamma="3.1.0", delta="1.0", epsilon="3.1.0")
    unfixed = {**ADVISORY, "id": "PYSEC-2099-3", "aliases": [], "fixed_in": []}
    backported = {**ADVISORY, "id": "PYSEC-2099-4", "aliases": [], "fixed_in": ["2.4.2", "3.1.1"]}
    pypi.vulns[("alpha", "2.0.0")] = [ADVISORY]
    pypi.vulns[("beta", "3.1.0")] = [unfixed, backported]
    pypi.vulns[("gamma", "3.1.0")] = [backported]
    pypi.vulns[("epsilon", "3.1.0")] = [backported]
    pypi.requires_python["gamma"] = ">=3.99"
    wheel, yanked = [{"filename": "x.whl", "yanked": False}], [{"filename": "x.whl", "yanked": True}]
    versions = ("2.4.1", "2.4.2", "2.4.3", "2.4.5rc1", "2.5.0", "3.1.0")
    pypi.releases["beta"] = dict.fromkeys(versions, wheel) | {"2.4.4": yanked}
    report = depaudit.audit(
        {"alpha": "2.0.0", "beta": "2.4.2", "gamma": "2.4.1", "delta": "1.0", "epsilon": "3.0.5"},
        index=pypi.index,
    )
    by_name = {p.name: p for p in report.packages}
    assert by_name["alpha"].coverage == "newest release"
    assert [a.id for a in by_name["alpha"].advisories] == ["PYSEC-2099-1"]
    # 2.4.2 already has the 2.4 series' fix for -4; the unfixed -3 of the newest release is counted
    assert (by_name["beta"].coverage, by_name["beta"].newest) == ("partial", "3.1.0")
    assert [a.id for a in by_name["beta"].advisories] == ["PYSEC-2099-3"]
    # 2.4.1 is below the 2.4 series' fix: counted
    assert [a.id for a in by_name["gamma"].advisories] == ["PYSEC-2099-4"]
    assert re.fullmatch(r"Python 3\.\d+\.\d+ \(it needs >=3\.99\)", by_name["gamma"].held_by)
    assert by_name["beta"].held_by == ""
    # the newest final, not yanked release of its 2.4 series
    assert (by_name["beta"].newer_in_series, by_name["gamma"].newer_in_series) == ("2.4.3", None)
    # 3.0.5 is above 2.4.2, but that fix is another series': counted
    assert [a.id for a in by_name["epsilon"].advisories] == ["PYSEC-2099-4"]
    assert (by_name["delta"].coverage, by_name["delta"].advisories) == ("newest release", [])
    lines = depaudit.render(report)
    beta_line = next(line for line in lines if line.startswith("partly     beta 2.4.2: "))
    assert "(3.1.0)" in beta_line and beta_line.endswith("; UPGRADE: 2.4.3 is newer in its series")
    assert lines[0].endswith("2 newest release, 3 partial")


def test_an_index_answering_a_version_url_for_another_version_is_not_taken_as_exact(pypi):
    pypi.ignores_version = True
    pypi.newest.update(alpha="3.0.0", beta="1.0")
    pypi.vulns[("alpha", "3.0.0")] = [{**ADVISORY, "fixed_in": []}]
    report = depaudit.audit({"alpha": "2.0.0", "beta": "1.0"}, index=pypi.index)
    alpha, beta = report.packages
    assert (alpha.coverage, alpha.newest) == ("partial", "3.0.0")
    assert [a.id for a in alpha.advisories] == ["PYSEC-2099-1"]
    assert beta.coverage == "exact"
    assert pypi.server.count("GET", "/pypi/alpha/json") == 0  # its answer was used as the project's


def test_ignored_by_id_or_alias_and_unknown_packages(pypi):
    pypi.vulns[("alpha", "2.0.0")] = [ADVISORY]
    pypi.missing.add("private-pkg")
    report = depaudit.audit(
        {"alpha": "2.0.0", "private-pkg": "1.0"},
        index=pypi.index,
        ignore=["ghsa-aaaa-bbbb-cccc"],
        local=["sextant"],
    )
    by_name = {p.name: p for p in report.packages}
    assert by_name["alpha"].advisories == []
    assert [a.id for a in by_name["alpha"].ignored] == ["PYSEC-2099-1"]
    assert by_name["private-pkg"].coverage == "not on the index"
    assert by_name["sextant"].coverage == "local"
    assert report.vulnerable == []
    lines = depaudit.render(report)
    assert "ignored    alpha 2.0.0: PYSEC-2099-1 (--ignore-vuln)" in lines
    assert any(line.startswith("not found  private-pkg 1.0: not on ") for line in lines)
    assert lines[-1] == "No known vulnerabilities found."


def test_an_index_that_cannot_be_asked_is_an_error_naming_it(pypi):
    fetch = depaudit.http_fetch(attempts=3, pause=0.01)
    # a 503 and a dropped connection are tried again; the third answer counts
    pypi.server.fault("GET", r"/pypi/alpha/2\.0\.0/json", status=503, times=1)
    pypi.server.fault("GET", r"/pypi/alpha/2\.0\.0/json", drop=True, times=1)
    assert depaudit.audit({"alpha": "2.0.0"}, index=pypi.index, fetch=fetch).packages[0].coverage == "exact"
    assert pypi.server.count("GET", "/pypi/alpha/2.0.0/json") == 3
    pypi.server.fault("GET", r"/pypi/alpha/2\.0\.0/json", status=500, times=3)
    gave_up = r"/pypi/alpha/2\.0\.0/json: HTTP 500 .*\(after 3 attempts\)"
    with pytest.raises(depaudit.AuditError, match=gave_up):
        depaudit.audit({"alpha": "2.0.0"}, index=pypi.index, fetch=fetch)
    pypi.server.fault("GET", r"/pypi/alpha/2\.0\.0/json", status=403, times=1)  # not temporary: at once
    with pytest.raises(depaudit.AuditError, match=r"/pypi/alpha/2\.0\.0/json: HTTP 403"):
        depaudit.audit({"alpha": "2.0.0"}, index=pypi.index, fetch=fetch)
    pypi.server.route("GET", r"/html/(?P<name>[^/]+)/(?P<version>[^/]+)/json")(
        lambda request, name, version: FakeResponse(body="<html>sign in</html>")
    )
    with pytest.raises(depaudit.AuditError, match="not JSON"):
        depaudit.audit({"alpha": "2.0.0"}, index=f"{pypi.server.url}/html", fetch=fetch)
    with pytest.raises(depaudit.AuditError, match=r"must be an http\(s\) URL, not 'file:///etc'"):
        depaudit.audit({"alpha": "2.0.0"}, index="file:///etc", fetch=fetch)
    index = pypi.index
    port = index.split(":")[2].split("/")[0]
    pypi.server.stop()
    unreachable = rf"127\.0\.0\.1:{port}/pypi/alpha/2\.0\.0/json: cannot connect .*\(after 3 attempts\)"
    with pytest.raises(depaudit.AuditError, match=unreachable):
        depaudit.audit({"alpha": "2.0.0"}, index=index, fetch=fetch)


def test_installed_packages_are_this_environment_without_the_project_itself():
    packages, local = depaudit.installed_packages()
    assert packages["django"] == metadata.version("django")
    assert packages["psycopg"] == metadata.version("psycopg")
    assert "sextant" in local and "sextant" not in packages


def test_command_fails_on_a_known_vulnerability_and_passes_when_it_is_ignored(pypi):
    django_version = metadata.version("django")
    pypi.vulns[("django", django_version)] = [ADVISORY]
    out, err = StringIO(), StringIO()
    assert audit_main(["--index-url", pypi.index], stdout=out, stderr=err) == 1
    assert f"known vulnerabilities in: django {django_version}" in err.getvalue()
    assert f"VULNERABLE django {django_version}: PYSEC-2099-1" in out.getvalue()
    installed, local = depaudit.installed_packages()
    assert out.getvalue().startswith(f"Audited {len(installed) + len(local)} installed distributions")

    out = StringIO()
    assert (
        audit_main(
            ["--index-url", pypi.index, "--ignore-vuln", "CVE-2099-0001", "--format", "json"],
            stdout=out,
            stderr=StringIO(),
        )
        == 0
    )
    report = json.loads(out.getvalue())
    django = next(p for p in report["packages"] if p["name"] == "django")
    assert django["vulnerabilities"] == [] and django["ignored"][0]["id"] == "PYSEC-2099-1"


def test_command_strict_fails_on_partly_audited_packages_and_exit_2_when_unreachable(pypi):
    pypi.exact = False
    installed, _ = depaudit.installed_packages()
    pypi.newest.update(installed)
    pypi.newest["django"] = "99.0"
    assert audit_main(["--index-url", pypi.index], stdout=StringIO(), stderr=StringIO()) == 0
    out, err = StringIO(), StringIO()
    assert audit_main(["--index-url", pypi.index, "--strict"], stdout=out, stderr=err) == 1
    assert "--strict: not fully audited: django " in err.getvalue()
    partly = [line for line in out.getvalue().splitlines() if line.startswith("partly ")]
    assert len(partly) == 1 and "held back by " in partly[0]
    assert "sextant requires Django<5.3,>=5.2" in partly[0]
    index = pypi.index
    pypi.server.stop()
    err = StringIO()
    assert audit_main(["--index-url", index], stdout=StringIO(), stderr=err) == 2
    assert re.search(r"dependency audit could not run: .*cannot connect", err.getvalue())


def test_a_cut_off_answer_is_tried_again_and_then_an_error_not_a_traceback() -> None:
    """A CDN that closes the connection mid-body (http.client.IncompleteRead) is a temporary failure."""
    served: list[bytes] = []

    class CutOff(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            served.append(self.request.recv(65536))
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
            self.request.sendall(head + b"{")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), CutOff) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        index = f"http://127.0.0.1:{server.server_address[1]}/pypi"
        try:
            fetch = depaudit.http_fetch(attempts=2, pause=0.01)
            cut_off = r"broken answer \(IncompleteRead\) \(after 2 attempts\)"
            with pytest.raises(depaudit.AuditError, match=cut_off):
                depaudit.audit({"alpha": "1.0"}, index=index, fetch=fetch)
        finally:
            server.shutdown()
    assert len(served) == 2
