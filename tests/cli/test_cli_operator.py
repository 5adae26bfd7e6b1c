"""What an operator meets at the command line: JSON errors, seats, the data directory, the
URL `serve` advertises, and help for every option."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    base.update({"HOME": str(home), "XDG_DATA_HOME": "", "PROPYLON_LOG_LEVEL": "warning"})
    return subprocess.run(
        [sys.executable, "-m", "propylon.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=home,
    )


def test_json_errors_are_one_document_on_stdout_with_non_zero_exit(tmp_path: Path) -> None:
    missing = cli(tmp_path, "tenant", "show", "nope", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {
        "error": {"code": "not_found", "message": "no tenant 'nope'"}
    }
    usage = cli(tmp_path, "tenant", "create", "--json")
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["error"]["code"] == "usage"
    assert "Traceback" not in usage.stderr


def test_zero_seats_means_zero_and_unlimited_needs_its_flag(tmp_path: Path) -> None:
    assert cli(tmp_path, "tenant", "create", "zero", "--name", "Zero").returncode == 0
    zero = cli(tmp_path, "tenant", "set-seats", "zero", "0", "--json")
    assert json.loads(zero.stdout)["seats"] == 0
    assert "zero: 0 seats" in cli(tmp_path, "tenant", "set-seats", "zero", "0").stdout
    bare = cli(tmp_path, "tenant", "set-seats", "zero", "--json")
    assert bare.returncode != 0 and json.loads(bare.stdout)["error"]["code"] == "invalid_input"
    assert json.loads(cli(tmp_path, "tenant", "show", "zero", "--json").stdout)["seats"] == 0
    unlimited = cli(tmp_path, "tenant", "set-seats", "zero", "--unlimited", "--json")
    assert json.loads(unlimited.stdout)["seats"] is None


def test_human_output_shows_no_python_reprs(tmp_path: Path) -> None:
    cli(tmp_path, "tenant", "create", "reprs", "--name", "R", "--domain", "r.example.com")
    shown = cli(tmp_path, "tenant", "show", "reprs").stdout
    assert "domains: r.example.com" in shown
    assert "[" not in shown and "None" not in shown


def test_the_cli_finds_the_per_user_data_directory_from_anywhere(tmp_path: Path) -> None:
    cli(tmp_path, "tenant", "create", "anywhere", "--name", "A")
    elsewhere = tmp_path / "some" / "other" / "dir"
    elsewhere.mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    listed = subprocess.run(
        [sys.executable, "-m", "propylon.cli", "tenant", "list"],
        env={**base, "HOME": str(tmp_path), "XDG_DATA_HOME": ""},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=elsewhere,
    )
    assert "anywhere" in listed.stdout
    database = tmp_path / ".local" / "share" / "propylon" / "propylon.db"
    assert database.exists()
    assert f"SQLite {database}" in listed.stderr  # the CLI says which database it uses


def test_every_option_and_argument_has_help() -> None:
    from typer.main import get_command

    from propylon.cli.main import app

    undocumented: list[str] = []

    def walk(command: object, path: str) -> None:
        for param in getattr(command, "params", []):
            if param.name != "help" and not getattr(param, "help", None):
                undocumented.append(f"{path} {param.name}")
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")

    walk(get_command(app), "propylon")
    assert undocumented == []


def test_every_command_takes_json() -> None:
    from typer.main import get_command

    from propylon.cli.main import app

    without: list[str] = []

    def walk(command: object, path: str) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}")
        elif not any("--json" in getattr(p, "opts", []) for p in getattr(command, "params", [])):
            without.append(path)

    walk(get_command(app), "propylon")
    # serve and demo run a server (their output is the server's logs), not a command with a
    # result
    assert sorted(without) == ["propylon demo", "propylon serve"]


def test_serve_without_public_url_advertises_the_port_it_listens_on(tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    env = {**base, "HOME": str(tmp_path), "XDG_DATA_HOME": "", "PROPYLON_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "propylon.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        discovery = httpx.get(f"{url}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == url
        cli(tmp_path, "tenant", "create", "adv", "--name", "Adv")
        made = json.loads(cli(tmp_path, "scim", "create-directory", "adv", "--json").stdout)
        assert made["base_url"].startswith(f"{url}/scim/v2/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("command", [["api-key", "revoke", "nope"], ["migrate"]])
def test_commands_take_json(tmp_path: Path, command: list[str]) -> None:
    out = cli(tmp_path, *command, "--json")
    json.loads(out.stdout)  # one document, result or error
