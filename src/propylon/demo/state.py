"""What the demo host needs from the seed: its OAuth client, a management API key (the SDK's
event stream), the demo directory's SCIM token, kept in ``<data_dir>/demo.json`` (owner-only,
like the key file: it holds secrets)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from propylon.owner_only import secure_dir
from propylon.testidp.connections import DEMO_TENANT

STATE_FILE = "demo.json"
TENANT_SLUG = DEMO_TENANT
DOMAIN = "demo.example"


@dataclass(frozen=True)
class DemoState:
    tenant_id: str
    client_id: str
    client_secret: str
    api_key_id: str
    api_key: str
    directory_id: str
    scim_token: str
    connection_id: str
    groups: dict[str, str] = field(default_factory=dict)
    """Group display name → SCIM id, in the order the page offers them."""
    people: dict[str, str] = field(default_factory=dict)
    """The seeded people's emails (the test IdP's picker suggests them) → what they start
    with, in words."""


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def load_state(data_dir: Path) -> DemoState | None:
    """The saved state, or ``None`` when there is none (or it is not one)."""
    try:
        raw = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    names = {f.name for f in fields(DemoState)}
    if not isinstance(raw, dict) or not names <= set(raw):
        return None
    try:
        return DemoState(**{k: raw[k] for k in names})
    except TypeError:
        return None


def save_state(data_dir: Path, state: DemoState) -> Path:
    """Write the state owner-only (0600), replacing the file atomically."""
    secure_dir(data_dir)
    path = state_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(state), f, indent=2)
    tmp.replace(path)
    return path
