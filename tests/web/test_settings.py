"""Settings pages: data sources (encrypted token, test connection, sync now, live status), teams and
memberships (edit, CSV import), AI tools and ROI knobs, users and roles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from metrics.core import crypto
from metrics.core.models import AITool, DataSource, Organization, Team, TeamMembership
from metrics.ingestion.models import PullRequest, SyncRun
from metrics.web.models import UserProfile
from tests.conftest import GitRepo
from tests.web.conftest import Org

pytestmark = pytest.mark.django_db


def merged_repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit("initial", date="2025-06-01T09:00:00+00:00")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.commit("add search", date="2025-06-02T09:00:00+00:00")
    git_repo.git("checkout", "-q", "main")
    git_repo.merge(
        "feature", "Merge pull request #1 from acme/feature\n\nAdd search", date="2025-06-03T09:00:00+00:00"
    )
    return git_repo


def add_git_source(client: Client, path: Path, name: str = "local") -> DataSource:
    response = client.post(
        "/settings/sources/", {"kind": "git", "name": name, "path": str(path), "interval": "30"}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return DataSource.objects.get(name=name)


def test_empty_state_and_add_form(admin_client: Client) -> None:
    html = admin_client.get("/settings/sources/").content.decode()
    assert "No data sources yet" in html and "Add a data source" in html


def test_git_source_test_connection_sync_now_and_status(admin_client: Client, git_repo: GitRepo) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    assert source.sync_interval_minutes == 30
    tested = admin_client.post(f"/settings/sources/{source.pk}/test/", follow=True).content.decode()
    assert "local: the connection works." in tested

    synced = admin_client.post(f"/settings/sources/{source.pk}/sync/", follow=True).content.decode()
    assert "local: synced (" in synced
    assert PullRequest.objects.filter(number=1, state="merged").exists()
    status = admin_client.get(f"/settings/sources/{source.pk}/status/")
    assert status["Cache-Control"] == "no-store"
    run = json.loads(status.content)["run"]
    assert run["status"] == "succeeded" and run["counts"]["records"] > 0 and "task_id" not in run["counts"]
    assert "Synced just now" in admin_client.get("/").content.decode()


def test_sync_now_from_the_page_script_answers_json(admin_client: Client, git_repo: GitRepo) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    response = admin_client.post(f"/settings/sources/{source.pk}/sync/", HTTP_ACCEPT="application/json")
    assert json.loads(response.content) == {"source": source.pk}
    assert SyncRun.objects.get(data_source=source).status == SyncRun.Status.SUCCEEDED


def test_sync_now_with_workers_queues_the_task(
    admin_client: Client, git_repo: GitRepo, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        response = admin_client.post(f"/settings/sources/{source.pk}/sync/", follow=True)
    assert "sync queued" in response.content.decode()
    assert len(callbacks) == 1 and not SyncRun.objects.exists()


def test_failed_connection_and_failed_sync_name_the_problem(admin_client: Client, git_repo: GitRepo) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    DataSource.objects.filter(pk=source.pk).update(options={"path": "/nonexistent/repo"})
    tested = admin_client.post(f"/settings/sources/{source.pk}/test/", follow=True).content.decode()
    assert "local: the connection failed:" in tested and "/nonexistent/repo" in tested
    synced = admin_client.post(f"/settings/sources/{source.pk}/sync/", follow=True).content.decode()
    assert "local: the sync failed:" in synced
    assert SyncRun.objects.get(data_source=source).status == SyncRun.Status.FAILED
    assert "failed" in admin_client.get("/settings/sources/").content.decode()


def test_token_is_stored_encrypted_and_never_shown(admin_client: Client) -> None:
    token = "ghp_supersecretvalue1234567890"
    response = admin_client.post(
        "/settings/sources/",
        {"kind": "github", "name": "acme-gh", "org": "acme", "token": token},
        follow=True,
    )
    html = response.content.decode()
    assert "Added acme-gh." in html and token not in html and "token stored, encrypted" in html
    source = DataSource.objects.get(name="acme-gh")
    assert token not in source.secret_encrypted and crypto.decrypt(source.secret_encrypted) == token
    new = "ghp_anothersecret0987654321"
    html = admin_client.post(
        f"/settings/sources/{source.pk}/token/", {"token": new}, follow=True
    ).content.decode()
    assert "new token stored (encrypted)" in html and new not in html
    source.refresh_from_db()
    assert crypto.decrypt(source.secret_encrypted) == new


def test_bad_source_form_is_400_and_does_not_echo_the_token(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/sources/", {"kind": "github", "name": "gh", "token": "ghp_echo_me"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "a github source needs exactly one of --org ORG or --repo OWNER/REPO" in html
    assert "ghp_echo_me" not in html and not DataSource.objects.exists()


def test_pause_and_resume(admin_client: Client, git_repo: GitRepo) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    admin_client.post(f"/settings/sources/{source.pk}/toggle/")
    source.refresh_from_db()
    assert not source.enabled


def test_status_endpoint_is_admin_only(client: Client, git_repo: GitRepo, admin_client: Client) -> None:
    source = add_git_source(admin_client, merged_repo(git_repo).path)
    viewer = get_user_model().objects.create_user(username="v")
    client.force_login(viewer)
    assert client.get(f"/settings/sources/{source.pk}/status/").status_code == 403
    assert client.post(f"/settings/sources/{source.pk}/sync/").status_code == 403


# --- teams -----------------------------------------------------------------------------------------------


def test_create_rename_and_move_a_team(admin_client: Client, org: Org) -> None:
    response = admin_client.post("/settings/teams/", {"name": "Payments", "parent": str(org.product.pk)})
    assert response["Location"] == "/settings/teams/payments/"
    payments = Team.objects.get(slug="payments")
    assert payments.parent == org.product
    admin_client.post("/settings/teams/payments/", {"action": "save", "name": "Payments Core", "parent": ""})
    payments.refresh_from_db()
    assert (payments.name, payments.parent, payments.slug) == ("Payments Core", None, "payments")


def test_a_team_cannot_move_below_itself(admin_client: Client, org: Org) -> None:
    response = admin_client.post(
        "/settings/teams/product/", {"action": "save", "name": "Product", "parent": str(org.checkout.pk)}
    )
    assert response.status_code == 400
    assert "a team cannot be its own parent" in response.content.decode()
    org.product.refresh_from_db()
    assert org.product.parent is None


def test_duplicate_team_name_is_400(admin_client: Client, org: Org) -> None:
    response = admin_client.post("/settings/teams/", {"name": "checkout"})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_add_and_end_a_membership(admin_client: Client, org: Org) -> None:
    admin_client.post(
        "/settings/teams/platform/",
        {"action": "add", "identity": "zoe@example.com", "person_name": "Zoe Zimmer", "start": "2025-06-01"},
    )
    membership = TeamMembership.objects.get(team=org.platform, person__display_name="Zoe Zimmer")
    assert f"{membership.start:%Y-%m-%d}" == "2025-06-01"
    html = admin_client.get("/settings/teams/platform/").content.decode()
    assert "Zoe Zimmer" in html and "zoe@example.com" in html
    admin_client.post(
        "/settings/teams/platform/", {"action": "end", "membership": membership.pk, "end": "2025-07-01"}
    )
    membership.refresh_from_db()
    assert f"{membership.end:%Y-%m-%d}" == "2025-07-01"
    bad = admin_client.post(
        "/settings/teams/platform/", {"action": "end", "membership": membership.pk, "end": "2025-01-01"}
    )
    assert bad.status_code == 400 and "it cannot end before" in bad.content.decode()


def test_ending_a_membership_needs_a_day_and_none_is_pre_filled(admin_client: Client, org: Org) -> None:
    """No 'Leaves' date of today beside every member (it read as if everyone left today): the field is
    empty, and an end without a day is refused, nothing changed."""
    membership = TeamMembership.objects.filter(team=org.platform, end__isnull=True).first()
    assert membership is not None
    html = admin_client.get("/settings/teams/platform/").content.decode()
    assert '<input type="date" name="end" required' in html and 'name="end" value=' not in html
    refused = admin_client.post("/settings/teams/platform/", {"action": "end", "membership": membership.pk})
    assert refused.status_code == 400 and "choose the last day of" in refused.content.decode()
    membership.refresh_from_db()
    assert membership.end is None


def test_csv_import(admin_client: Client, org: Org) -> None:
    good = SimpleUploadedFile(
        "teams.csv",
        b"team,parent_team,name,email,start\nBilling,Product,Yan Yu,yan@example.com,2025-01-01\n",
        content_type="text/csv",
    )
    html = admin_client.post("/settings/teams/import/", {"file": good}, follow=True).content.decode()
    assert "Imported 1 memberships of 1 people in 1 teams from teams.csv" in html
    assert Team.objects.get(name="Billing").parent == org.product
    bad = SimpleUploadedFile("bad.csv", b"team,email,start\nBilling,,2025-01-01\nOps,ops@example.com,soon\n")
    html = admin_client.post("/settings/teams/import/", {"file": bad}, follow=True).content.decode()
    assert "bad.csv: nothing was imported." in html and "line 2" in html and "line 3" in html
    assert not Team.objects.filter(name="Ops").exists()


# --- AI tools and costs, users and roles -------------------------------------------------------------------


def test_ai_tools_and_roi_knobs(admin_client: Client, org: Org) -> None:
    admin_client.post(
        "/settings/costs/",
        {"action": "add", "name": "GitHub Copilot", "monthly_seat_cost": "19", "currency": "usd"},
    )
    tool = AITool.objects.get(name="GitHub Copilot")
    assert (str(tool.monthly_seat_cost), tool.currency) == ("19.00", "USD")
    bad = admin_client.post(
        "/settings/costs/",
        {"action": "add", "name": "Cursor", "monthly_seat_cost": "-1", "currency": "dollars"},
    )
    assert bad.status_code == 400
    assert (
        "use a number from 0 to 100000" in bad.content.decode()
        and "three-letter currency" in bad.content.decode()
    )
    response = admin_client.post(
        "/settings/costs/",
        {"action": "knobs", "loaded_hourly_cost": "120", "engineering_hours_per_pr": "6"},
        follow=True,
    )
    assert "Saved; ROI recomputed." in response.content.decode()
    settings = Organization.objects.get().settings
    assert (settings["loaded_hourly_cost"], settings["engineering_hours_per_pr"]) == (120.0, 6.0)
    nonsense = admin_client.post(
        "/settings/costs/", {"action": "knobs", "loaded_hourly_cost": "abc", "engineering_hours_per_pr": "0"}
    )
    assert nonsense.status_code == 400 and "&#x27;abc&#x27; is not a number" in nonsense.content.decode()
    admin_client.post("/settings/costs/", {"action": "delete", "tool": tool.pk})
    assert not AITool.objects.exists()


def test_create_users_and_change_roles(admin_client: Client, org: Org) -> None:
    response = admin_client.post(
        "/settings/users/",
        {
            "username": "mia",
            "email": "mia@example.com",
            "password": "correct-horse-battery-9",
            "role": "manager",
            "teams": [str(org.checkout.pk)],
        },
    )
    assert response.status_code == 302
    mia = get_user_model().objects.get(username="mia")
    assert mia.check_password("correct-horse-battery-9")
    assert list(mia.sextant_profile.teams.all()) == [org.checkout]
    html = admin_client.get("/settings/users/").content.decode()
    assert "sees people of: Checkout" in html and "correct-horse" not in html

    admin_client.post(f"/settings/users/{mia.pk}/", {"role": "executive"})
    profile = UserProfile.objects.get(user=mia)
    assert profile.role == "executive" and not profile.teams.exists()
    assert not mia.groups.filter(name="manager").exists()
    admin_client.post(f"/settings/users/{mia.pk}/", {"action": "active"})
    mia.refresh_from_db()
    assert not mia.is_active


def test_user_form_errors_are_400(admin_client: Client, org: Org) -> None:
    response = admin_client.post("/settings/users/", {"username": "", "password": "1", "role": "manager"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "a user needs a name to log in with" in html and "too short" in html
    no_team = admin_client.post(
        "/settings/users/", {"username": "max", "password": "correct-horse-battery-9", "role": "manager"}
    )
    assert no_team.status_code == 400 and "a manager needs at least one team" in no_team.content.decode()
    assert not get_user_model().objects.filter(username="max").exists()
