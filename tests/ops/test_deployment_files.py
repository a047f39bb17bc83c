"""The docker/ files: valid YAML with the services the README promises, every setting documented."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

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
