"""Querying from the server root (RFC 7644 §3.4.2, §3.4.3): one filter over Users and Groups.

The filter is read once per resource type; a type whose schema lacks an attribute the filter
names contributes nothing (the filter cannot match it), and only a filter no type accepts is
``invalidFilter``. Results list users, then groups; ``startIndex``/``count`` page across both.
"""

from __future__ import annotations

from typing import Any

from propylon.scim import groups, users
from propylon.scim.errors import InvalidFilter
from propylon.scim.filter import FilterLimits
from propylon.scim.listing import ListQuery, list_response
from propylon.scim.service import ScimRequest, ScimResponse, Unit, run


async def search_all(req: ScimRequest, params: dict[str, Any]) -> ScimResponse:
    settings = req.rt.settings

    async def op(unit: Unit) -> ScimResponse:
        queries: list[tuple[Any, ListQuery]] = []
        first_error: InvalidFilter | None = None
        for module, kind in ((users, "User"), (groups, "Group")):
            try:
                q = ListQuery.parse(
                    params,
                    kind,  # type: ignore[arg-type]
                    default_count=settings.scim_default_page_size,
                    max_count=settings.scim_max_results,
                    limits=FilterLimits.of(settings),
                )
            except InvalidFilter as exc:
                first_error = first_error or exc
                continue
            queries.append((module, q))
        if not queries:
            assert first_error is not None
            raise first_error
        start, count = queries[0][1].start_index, queries[0][1].count
        offset, remaining, total = start - 1, count, 0
        resources: list[dict[str, Any]] = []
        for module, q in queries:
            n, page = await module.query(unit, q, offset=offset, limit=remaining)
            total += n
            resources += page
            remaining -= len(page)
            offset = max(offset - n, 0)
        unit.audit.status = 200
        unit.audit.diff = {"filter": params.get("filter"), "results": total}
        return ScimResponse(200, list_response(total, start, resources))

    return await run(req, "scim.search", op, read_only=True)
