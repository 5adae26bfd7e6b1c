"""``propylon-sdk`` is a distribution of its own: its wheel builds from ``sdk/`` and imports
with none of the server's dependencies (FastAPI, Starlette, SQLAlchemy, ... are blocked in the
importing process, whose ``sys.path`` is the unpacked wheel and the site of ``httpx`` and
``cryptography`` only, without ``site``'s ``.pth`` files: no editable server install)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cryptography
import httpx

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.abc, sys
SERVER_ONLY = ("fastapi", "starlette", "sqlalchemy", "pydantic", "uvicorn", "authlib",
               "joserfc", "alembic", "asyncpg", "redis", "lxml", "typer")
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in SERVER_ONLY:
            raise ImportError("server dependency imported: " + name)
        return None
sys.meta_path.insert(0, Refuse())
import propylon, propylon.sdk
from propylon.sdk import Management, Propylon, PropylonMiddleware, Webhook, iter_events
import propylon.sdk.asgi, propylon.sdk.stream, propylon.sdk.view
assert propylon.__file__.startswith(sys.argv[1]), propylon.__file__
assert propylon.sdk.__file__.startswith(sys.argv[1]), propylon.sdk.__file__
print(sorted(m for m in sys.modules if m.startswith("propylon")))
"""


def test_the_sdk_wheel_builds_and_imports_without_the_servers_dependencies(
    tmp_path: Path,
) -> None:
    out = tmp_path / "dist"
    source = tmp_path / "source"  # built from a copy: no build/ left in the tree
    shutil.copytree(ROOT / "sdk", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    wheel = next(out.glob("propylon_sdk-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "propylon/sdk/client.py" in names and "propylon/sdk/py.typed" in names
    assert not [n for n in names if n.startswith("propylon/") and "/sdk/" not in n
                and n != "propylon/__init__.py"]  # fmt: skip
    metadata = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    )
    requires = sorted(
        line.split(":", 1)[1].split(">")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )
    assert requires == ["cryptography", "httpx"]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    deps = {str(Path(m.__file__).parent.parent) for m in (httpx, cryptography)}  # type: ignore[arg-type]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(site), *deps])}
    r = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(site)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "'propylon.sdk.client'" in r.stdout and "propylon.db" not in r.stdout


def test_the_server_package_maps_the_same_sdk_sources() -> None:
    link = ROOT / "src" / "propylon" / "sdk"
    assert link.resolve() == (ROOT / "sdk" / "src" / "propylon" / "sdk").resolve()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"propylon.sdk" = "sdk/src/propylon/sdk"' in pyproject
