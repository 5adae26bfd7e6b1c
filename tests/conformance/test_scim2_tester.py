"""scim2-tester (https://scim2-tester.readthedocs.io) against the live server, in-process.

``check_server`` reads the discovery endpoints, composes the resource models from what
``/Schemas`` and ``/ResourceTypes`` publish, then runs creation, query, attribute selection,
replacement, PATCH add/remove/replace of every attribute and deletion for User and Group.
Every check must succeed; the only exceptions are listed in :func:`_open_choice` and each is
a point the RFCs leave to the service provider, checked precisely rather than waved through.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from scim2_tester import CheckResult, Status, check_server

from tests.conformance.conftest import HttpxSyncSCIMClient
from tests.conftest import Directory

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def _run(directory: Directory) -> list[CheckResult]:
    headers = {"Authorization": f"Bearer {directory.token}"}
    with httpx.Client(base_url=directory.base_url, headers=headers, timeout=30) as http:
        return check_server(HttpxSyncSCIMClient(http))


def _dump(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def _members_differ_only_by_display(data: Any) -> bool:
    """``expected`` (what was patched) and ``actual`` (what GET returned) are the same members
    except for ``display``, which the client left unset and the server filled in."""
    if not isinstance(data, dict) or data.get("urn") != "members":
        return False
    expected = [_dump(m) for m in data.get("expected") or []]
    actual = [_dump(m) for m in data.get("actual") or []]
    if not expected or len(expected) != len(actual):
        return False
    for sent, got in zip(expected, actual, strict=True):
        if sent.get("display") is not None or not got.get("display"):
            return False
        if {**sent, "display": None} != {**got, "display": None}:
            return False
    return True


def _open_choice(result: CheckResult) -> bool:
    # 1. RFC 7644 §3.4.2/§3.4.3 let a client query the server root (``GET /``, ``POST
    #    /.search``) across resource types; Propylon does not offer it and answers 501 "Not
    #    Implemented" (§3.12), which scim2-tester itself reports as SKIPPED, not as an error.
    if (
        result.status == Status.SKIPPED
        and result.title == "search_with_attributes"
        and "several resource types at once is not supported" in (result.reason or "")
    ):
        return True
    # 2. Group ``members[].display`` is computed by Propylon from the member's current
    #    displayName (as in the RFC 7643 §8.4 example) and published as readOnly (RFC 7643
    #    §8.7.1 defines no members.display; §4.2 makes members' sub-attributes non-client-
    #    owned). scim2-tester therefore PATCHes members without display, then compares the
    #    returned members for strict equality, so the server-assigned display makes it report
    #    an error. Nothing in scim2-tester configures that comparison; we accept exactly this
    #    difference and nothing else.
    return (
        result.status == Status.ERROR
        and result.resource_type == "Group"
        and result.title in ("check_add_attribute", "check_replace_attribute")
        and _members_differ_only_by_display(result.data)
    )


def _describe(result: CheckResult) -> str:
    return (
        f"[{result.status.name}] {result.resource_type or '-'} {result.title}: "
        f"{result.reason}"
    )


async def test_every_scim2_tester_check_passes(directory: Directory) -> None:
    results = await asyncio.to_thread(_run, directory)

    failures = [r for r in results if r.status not in PASSING and not _open_choice(r)]
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
