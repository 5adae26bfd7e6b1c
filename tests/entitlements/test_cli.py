"""The ``propylon roles`` contract: JSON out, errors as ``{"error": …}`` with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Server, new_directory
from tests.entitlements.helpers import suffix


async def test_roles_cli_declares_dry_runs_saves_and_lists_versions(
    server: Server, tmp_path: Path
) -> None:
    s = suffix()
    d = await new_directory(server)
    out = server.cli_json("roles", "catalog", "add", "role", f"auditor-{s}", "--description", "x")
    assert out["kind"] == "role" and out["name"] == f"auditor-{s}"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"defaults": {"roles": [f"auditor-{s}"]}}))
    dry = server.cli_json("roles", "rules", "set", d.tenant_slug, "--file", str(rules), "--dry-run")
    assert dry["dry_run"] is True and dry["evaluated"] == 0
    saved = server.cli_json("roles", "rules", "set", d.tenant_slug, "--file", str(rules))
    assert saved["version"] == 1 and saved["rules"]["defaults"]["roles"] == [f"auditor-{s}"]
    removed = server.cli(
        "roles", "catalog", "remove", "role", f"auditor-{s}", "--json", check=False
    )
    assert removed.returncode != 0
    assert "granted by the rules" in json.loads(removed.stdout)["error"]["message"]
