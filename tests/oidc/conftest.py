from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc.idp import Clock, Idp


@pytest.fixture
def idp() -> Iterator[Idp]:
    provider = Idp()
    yield provider
    provider.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()
