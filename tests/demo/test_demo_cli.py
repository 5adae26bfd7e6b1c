"""``propylon demo`` never runs against a production database by accident: with PostgreSQL
configured it refuses (the test IdP would let anyone sign in as anyone), before touching it,
unless PROPYLON_TEST_IDP_FORCE says this is a test installation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.demo.test_demo_walk import demo_env


def test_demo_refuses_postgres_unless_forced(tmp_path: Path) -> None:
    env = demo_env(tmp_path) | {
        # nothing listens there: a refusal must come before any connection
        "PROPYLON_DATABASE_URL": "postgresql+asyncpg://propylon@127.0.0.1:9/propylon",
    }
    out = subprocess.run(
        [sys.executable, "-m", "propylon.cli", "demo", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "PROPYLON_TEST_IDP_FORCE" in out.stderr
    assert not (tmp_path / "demo.json").exists()
