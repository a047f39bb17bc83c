"""Malformed vendor answers (issue 15, finding 11): a GitLab project without ``path_with_namespace``, a
list item without ``id``, became KeyError tracebacks; now a permanent one-line ConnectorError naming the
field, from the real python-gitlab client against the fake GitLab on 127.0.0.1."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.gitlab import GitLabConnector
from tests.fakes.gitlab import FakeGitLab, acme
from tests.fakes.server import FakeApiServer

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeGitLab:
    return acme(fresh_server)


def read(fake: FakeGitLab, **options: object) -> None:
    opts = {"api_url": fake.url, "max_retries": 1, **options}
    connector = GitLabConnector(SourceConfig(kind="gitlab", name="g", options=opts, secret=fake.token))
    list(connector.records())


def test_a_project_without_path_with_namespace_is_a_one_line_permanent_error(fake: FakeGitLab) -> None:
    fake.server.fault(
        "GET", r"/api/v4/projects/acme%2Fapi", status=200, headers=JSON, body={"id": 11, "name": "api"}
    )
    with pytest.raises(ConnectorError) as caught:
        read(fake, project="acme/api")
    message = str(caught.value)
    assert caught.value.permanent and "\n" not in message
    assert "GitLab" in message and "'path_with_namespace'" in message


def test_a_group_project_list_item_without_id_is_a_one_line_permanent_error(fake: FakeGitLab) -> None:
    fake.server.fault(
        "GET",
        r"/api/v4/groups/\d+/projects",
        status=200,
        headers=JSON,
        body=[{"path_with_namespace": "acme/api"}],
    )
    with pytest.raises(ConnectorError) as caught:
        read(fake, group="acme")
    assert caught.value.permanent and "'id'" in str(caught.value)


def test_a_project_answer_of_the_wrong_type_is_a_one_line_error(fake: FakeGitLab) -> None:
    fake.server.fault("GET", r"/api/v4/groups/\d+/projects", status=200, headers=JSON, body=[["x", "y"]])
    with pytest.raises(ConnectorError) as caught:
        read(fake, group="acme")
    assert caught.value.permanent and "malformed" in str(caught.value)
