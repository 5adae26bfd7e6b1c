"""An independent OpenID Provider for the tests: panva's ``oidc-provider`` from npm, run by
``tests/interop/oidc_provider/server.js`` on a loopback port (``scripts/test`` installs it with
``npm ci``).

``start_op(tmp_path, clients, users)`` starts it and returns an :class:`Op`: its issuer URL,
its process, ``restart_with_keys`` (the same issuer and port, another signing key set: an IdP's
key rotation) and ``stop``. Clients are oidc-provider client metadata (``client_id``,
``client_secret`` or ``jwks``, ``redirect_uris``, ``token_endpoint_auth_method``,
``backchannel_logout_uri``, ...); users carry their claims (``sub``, ``email``, ...). An
authorization request whose ``login_hint`` names a user signs that user in without a form.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import Backend, start_server, stop_server

HERE = Path(__file__).parent / "oidc_provider"
SERVER_JS = HERE / "server.js"
START_TIMEOUT = 30.0


def has_oidc_provider() -> bool:
    """Whether node and the installed ``oidc-provider`` package are there (``scripts/test``)."""
    return shutil.which("node") is not None and (HERE / "node_modules/oidc-provider").is_dir()


def signing_jwks(*algs: str) -> dict[str, Any]:
    """A private JWK Set with one new key per algorithm (RS256 by default), each with a fresh
    ``kid``: what the OP signs ID tokens and logout tokens with."""
    keys = []
    for alg in algs or ("RS256",):
        params = {"kid": secrets.token_hex(8), "use": "sig", "alg": alg}
        if alg.startswith(("RS", "PS")):
            key: RSAKey | ECKey = RSAKey.generate_key(2048, params, private=True)
        else:
            curve = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
            key = ECKey.generate_key(curve, params, private=True)
        keys.append(key.as_dict(private=True))
    return {"keys": keys}


def public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """The public half of a private JWK Set (for a ``private_key_jwt`` client's ``jwks``)."""
    private = ("d", "p", "q", "dp", "dq", "qi", "oth")
    return {"keys": [{k: v for k, v in key.items() if k not in private} for key in jwks["keys"]]}


@dataclass
class Op:
    """A running oidc-provider; ``url`` is its issuer identifier."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    config_path: Path
    jwks_path: Path
    log_path: Path
    config: dict[str, Any] = field(repr=False)

    @property
    def issuer(self) -> str:
        return self.url

    def metadata(self) -> dict[str, Any]:
        doc: dict[str, Any] = httpx.get(
            f"{self.url}/.well-known/openid-configuration", timeout=5
        ).json()
        return doc

    def log(self) -> str:
        """What the OP wrote on stderr (a failed back-channel logout, warnings)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """End this OP's process (only it), waiting a bounded time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def restart_with_keys(self, jwks: dict[str, Any]) -> None:
        """Stop, and start again on the same port with ``jwks`` as the signing key set: the
        same issuer, a rotated JWKS (its sessions and codes do not survive)."""
        self.restart(jwks=jwks)

    def restart(
        self,
        *,
        clients: list[dict[str, Any]] | None = None,
        users: list[dict[str, Any]] | None = None,
        jwks: dict[str, Any] | None = None,
    ) -> None:
        """Stop, and start again with the same issuer (port) and whatever is given instead of
        the current clients, users or signing keys: a client can only name Propylon's
        ``redirect_uri`` once the connection exists, which needs the OP's discovery first."""
        self.stop()
        if jwks is not None:
            self.jwks_path.write_text(json.dumps(jwks))
        if clients is not None:
            self.config["clients"] = clients
        if users is not None:
            self.config["users"] = users
        self.config["port"] = self.port
        self.config_path.write_text(json.dumps(self.config))
        self.process, url, _ = _launch(self.config_path, self.log_path)
        assert url == self.url, (url, self.url)


def _launch(config_path: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    """Start ``server.js`` and wait (bounded) for the line saying where it listens."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            ["node", str(SERVER_JS), str(config_path)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "NODE_ENV": "test"},
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n") and proc.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    if line.endswith(b"\n"):
        announced = json.loads(line)
        return proc, str(announced["issuer"]), int(announced["port"])
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
    raise RuntimeError(f"oidc-provider did not start: {log_path.read_text(errors='replace')}")


def start_op(
    tmp_path: Path,
    clients: list[dict[str, Any]],
    users: list[dict[str, Any]],
    jwks: dict[str, Any] | None = None,
    *,
    name: str = "op",
) -> Op:
    """Start an oidc-provider on a free loopback port; the caller stops it (``Op.stop``)."""
    directory = tmp_path / f"{name}-{secrets.token_hex(3)}"
    directory.mkdir()
    jwks_path = directory / "jwks.json"
    jwks_path.write_text(json.dumps(jwks or signing_jwks()))
    config = {
        "port": 0,
        "jwks_path": str(jwks_path),
        "clients": clients,
        "users": users,
        "cookie_keys": [secrets.token_hex(32)],
    }
    config_path = directory / "config.json"
    config_path.write_text(json.dumps(config))
    log_path = directory / "stderr.log"
    proc, url, port = _launch(config_path, log_path)
    return Op(url, port, proc, config_path, jwks_path, log_path, config)


@contextmanager
def google_stand_in(
    backend: Backend, tmp_path: Path, users: list[dict[str, Any]]
) -> Iterator[tuple[str, Op]]:
    """An oidc-provider standing in for Google (with ``users``) and a Propylon server of its
    own on ``backend`` configured for it (``PROPYLON_GOOGLE_*``, the OP knowing its
    callback): the server's URL and the OP, both stopped at the end."""
    google = start_op(tmp_path, clients=[], users=users, name="google")
    client_id, secret = "google-" + secrets.token_hex(4), "google-secret-" + secrets.token_hex(8)
    env = {
        "PROPYLON_GOOGLE_CLIENT_ID": client_id,
        "PROPYLON_GOOGLE_CLIENT_SECRET": secret,
        "PROPYLON_GOOGLE_ISSUER": google.url,
    }
    try:
        url, proc = start_server(backend, env)
        try:
            registered = {"client_secret": secret, "redirect_uris": [f"{url}/oidc/google/callback"]}
            google.restart(clients=[{"client_id": client_id, **registered}])
            yield url, google
        finally:
            stop_server(proc)
    finally:
        google.stop()
