"""compose.yaml parses, runs the image with PostgreSQL and Redis, and sets only variables the
settings (or the entrypoint) know."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from propylon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
ENTRYPOINT = (ROOT / "scripts" / "entrypoint").read_text()


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_compose_runs_propylon_with_postgres_and_redis() -> None:
    services = _compose()["services"]
    assert set(services) == {"propylon", "postgres", "redis"}
    env = services["propylon"]["environment"]
    assert env["PROPYLON_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["PROPYLON_DATABASE_URL"]
    assert env["PROPYLON_REDIS_URL"].startswith("redis://redis:")
    assert set(services["propylon"]["depends_on"]) == {"postgres", "redis"}
    assert all("healthcheck" in services[s] for s in ("postgres", "redis"))


def test_every_variable_is_a_setting_or_the_entrypoints() -> None:
    env = _compose()["services"]["propylon"]["environment"]
    known = {f"PROPYLON_{name.upper()}" for name in Settings.model_fields}
    for name in env:
        if name.startswith("PROPYLON_"):
            assert name in known, f"{name} is no setting"
        else:
            assert re.search(rf"\${{{name}:-", ENTRYPOINT), f"the entrypoint does not read {name}"


def test_the_secret_key_comes_from_a_compose_secret_the_entrypoint_reads() -> None:
    doc = _compose()
    assert doc["services"]["propylon"]["secrets"] == ["propylon_secret_key"]
    assert "file" in doc["secrets"]["propylon_secret_key"]
    assert "PROPYLON_SECRET_KEY" not in doc["services"]["propylon"]["environment"]
    assert "/run/secrets/propylon_secret_key" in ENTRYPOINT
    assert "/propylon_secret_key" in (ROOT / ".gitignore").read_text().split()
