"""The docker/ files: valid YAML with the services the README promises, every setting documented."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

from tests import redis_dbs

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_every_service_with_health_checks_and_volumes() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    assert set(compose["services"]) == {"web", "worker", "beat", "postgres", "redis"}
    assert compose["services"]["web"]["command"] == ["web"]
    assert {"sextant-data", "postgres-data", "redis-data"} <= set(compose["volumes"])
    for name in ("postgres", "redis", "worker"):
        assert "test" in compose["services"][name]["healthcheck"]


def test_dockerfile_runs_as_non_root_with_a_health_check() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^USER sextant$", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert text.count("FROM ") == 2  # multi-stage


def test_env_example_lists_every_setting_read_from_the_environment() -> None:
    settings_text = (ROOT / "metrics" / "settings.py").read_text()
    names = set(re.findall(r'env(?:_bool|_int|_secret)?\("([A-Z_]+)"', settings_text))
    documented = set(
        re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / "docker" / ".env.example").read_text(), re.MULTILINE)
    )
    assert names - documented == set()


def test_entrypoint_is_valid_shell() -> None:
    subprocess.run(["sh", "-n", str(ROOT / "docker" / "entrypoint.sh")], check=True)


def _production_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """docker/.env.example's settings, with what it leaves to the operator filled in (a random secret
    key and encryption key) and the services pointed at this machine's."""
    from cryptography.fernet import Fernet

    example = dict(
        re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / "docker" / ".env.example").read_text(), re.MULTILINE)
    )
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        **example,
        "DJANGO_SETTINGS_MODULE": "metrics.settings",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "SEXTANT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "CACHE_URL": redis_dbs.DEPLOYMENT,
        "CELERY_BROKER_URL": redis_dbs.DEPLOYMENT,
        "SEXTANT_VAR_DIR": str(var_dir),
        **overrides,
    }


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_under_the_production_settings_of_env_example(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    assert (env["HTTPS"], env["DEBUG"], env["BEHIND_PROXY"]) == ("true", "false", "true")
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    # the check can fail: without TLS the same settings get Django's HTTPS warnings
    no_tls = {"HTTPS": "false", "SECURE_HSTS_SECONDS": "0", "SECURE_SSL_REDIRECT": "false"}
    plain = _check_deploy(_production_env(tmp_path, **no_tls))
    assert plain.returncode != 0
    assert "security.W004" in plain.stderr and "security.W012" in plain.stderr
