"""The wheel the image installs carries every file Propylon reads at run time: templates of
every area, the pages' static assets, data files (pyproject's package-data, as setuptools
globs it). An editable install reads the source tree and would not notice a gap."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "src" / "propylon"
NOT_SHIPPED = {"db/migrations/script.py.mako"}  # Alembic's template for writing migrations


def test_every_file_read_at_run_time_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["propylon"]
    shipped = {
        found
        for pattern in patterns
        for found in glob.glob(pattern, root_dir=PACKAGE, recursive=True)
    }
    files = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert files - NOT_SHIPPED - shipped == set()
