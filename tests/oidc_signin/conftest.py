"""The loopback OpenID Provider every test of this directory signs in through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc_signin.op import LoopbackOp


@pytest.fixture
def op() -> Iterator[LoopbackOp]:
    provider = LoopbackOp()
    yield provider
    provider.close()
