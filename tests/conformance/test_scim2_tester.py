"""scim2-tester (https://scim2-tester.readthedocs.io) against the live server, in-process.

``check_server`` reads the discovery endpoints, composes the resource models from what
``/Schemas`` and ``/ResourceTypes`` publish, then runs creation, query, attribute selection,
replacement, PATCH add/remove/replace of every attribute and deletion for User and Group.
Every check must succeed.
"""

from __future__ import annotations

import asyncio

import httpx
from scim2_tester import CheckResult, Status, check_server

from tests.conformance.conftest import HttpxSyncSCIMClient
from tests.conftest import Directory

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def _run(directory: Directory) -> list[CheckResult]:
    headers = {"Authorization": f"Bearer {directory.token}"}
    with httpx.Client(base_url=directory.base_url, headers=headers, timeout=30) as http:
        return check_server(HttpxSyncSCIMClient(http))


def _describe(result: CheckResult) -> str:
    return f"[{result.status.name}] {result.resource_type or '-'} {result.title}: {result.reason}"


async def test_every_scim2_tester_check_passes(directory: Directory) -> None:
    results = await asyncio.to_thread(_run, directory)

    failures = [r for r in results if r.status not in PASSING]
    assert not failures, f"{len(failures)} scim2-tester checks failed:\n" + "\n".join(
        _describe(r) for r in failures
    )

    # It really exercised both resource types end to end, not just discovery.
    passed = {(r.resource_type, r.title) for r in results if r.status in PASSING}
    for resource_type in ("User", "Group"):
        for title in (
            "object_creation",
            "object_query",
            "object_replacement",
            "object_deletion",
            "check_add_attribute",
            "check_remove_attribute",
            "check_replace_attribute",
        ):
            assert (resource_type, title) in passed, (resource_type, title, sorted(passed))
