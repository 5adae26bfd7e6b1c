"""schemathesis (https://schemathesis.readthedocs.io) against the OpenAPI document a live
server serves: requests generated from the schema, edge values included (huge integers,
odd strings, wrong types), and none may get a 5xx.

A server of its own per backend, since the fuzzer creates tenants and apps with whatever
names it likes. Creating a SAML or OIDC connection, a webhook endpoint or a Shared Signals
stream is left out: a generated metadata URL, issuer or endpoint would make the server fetch
from or post to an arbitrary host, and tests reach loopback only. A fixed seed and a bound on
examples per operation (15) keep a run repeatable and about a minute long.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import drop_backend, make_backend, start_server, stop_server

SCHEMATHESIS = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
NO_OUTBOUND = (
    "create_connection_api_v1_tenants__tenant__saml_connections_post",
    "create_oidc_connection_api_v1_tenants__tenant__oidc_connections_post",
    # a Shared Signals stream's endpoint is POSTed to (verification, stream-updated SETs)
    "create_stream_ssf_stream_post",
    "update_stream_ssf_stream_patch",
    "replace_stream_ssf_stream_put",
    # the event stream never ends by design (tests/feed pin its inputs: bounded types,
    # an ASCII Last-Event-ID)
    "stream_events_api_v1_events_stream_get",
    # a webhook endpoint's URL is POSTed to by the delivery worker
    "create_endpoint_api_v1_webhooks_post",
    "update_endpoint_api_v1_webhooks__endpoint_id__patch",
)


def _run(
    *args: str, env: dict[str, str], timeout: int, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
async def test_no_generated_request_gets_a_server_error(backend_name: str, tmp_path: Path) -> None:
    backend = make_backend(backend_name, tmp_path)
    # a generated domain proof asks a closed port on loopback, never the system's resolvers
    url, proc = start_server(backend, {"PROPYLON_DNS_NAMESERVERS": "127.0.0.1:9"})
    try:
        env = {**os.environ, **backend.env, "PROPYLON_PUBLIC_URL": url}
        cli = [sys.executable, "-m", "propylon.cli"]
        key = json.loads(_run(*cli, "api-key", "create", "--json", env=env, timeout=60).stdout)
        _run(*cli, "tenant", "create", "acme", "--name", "Acme", "--json", env=env, timeout=60)
        fuzz = await asyncio.to_thread(
            _run,
            *SCHEMATHESIS,
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {key['key']}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--workers",
            "1",
            *(arg for op in NO_OUTBOUND for arg in ("--exclude-operation-id", op)),
            env=env,
            timeout=600,
            cwd=tmp_path,  # its cache directory goes there
        )
        assert fuzz.returncode == 0, fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
        counts = re.search(r"(\d+) generated, (\d+) passed", fuzz.stdout)
        assert counts is not None and counts[1] == counts[2] and int(counts[1]) > 500
    finally:
        stop_server(proc)
        drop_backend(backend)
