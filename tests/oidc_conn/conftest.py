"""The OpenID Provider the connection tests discover (oidc-provider, ``tests/interop``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.oidc_op import Op, has_oidc_provider, start_op


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Op]:
    """An OpenID Provider whose discovery document connections are checked against."""
    if not has_oidc_provider():
        pytest.skip("needs node and oidc-provider (scripts/test)")
    running = start_op(tmp_path_factory.mktemp("op"), clients=[], users=[])
    try:
        yield running
    finally:
        running.stop()
