"""Query parameters of RFC 7644 §3.4.2 (filter, sort, pagination, attribute selection) and
the ListResponse message (§3.4.2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from propylon.directory.query import AttrPath, Filter
from propylon.scim.errors import InvalidFilter, InvalidValue
from propylon.scim.filter import DEFAULT_LIMITS, FilterLimits, parse_filter, parse_sort_by

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ResourceType = Literal["User", "Group"]


def _split(value: Any, name: str) -> list[str] | None:
    """A comma-separated string (query parameter) or an array of strings (``.search`` body,
    RFC 7644 §3.4.3); anything else is ``invalidValue``."""
    if value is None:
        return None
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(a, str) for a in value):
        items = value
    else:
        raise InvalidValue(f"{name} must be a string or an array of strings")
    out = [a.strip() for a in items if a.strip()]
    return out or None


def _int(value: Any, name: str) -> int | None:
    """An integer (RFC 7644 §3.4.2.4): a JSON integer or, in a query string, its digits."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(f"{name} must be an integer") from None


def _str(value: Any, name: str, error: type[InvalidValue | InvalidFilter]) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise error(f"{name} must be a string")


@dataclass(frozen=True)
class Selection:
    """``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5)."""

    attributes: list[str] | None = None
    excluded: list[str] | None = None

    @classmethod
    def parse(cls, attributes: Any, excluded: Any) -> Selection:
        return cls(_split(attributes, "attributes"), _split(excluded, "excludedAttributes"))


MAX_START_INDEX = 2**31


@dataclass(frozen=True)
class ListQuery:
    filter: Filter | None
    sort_by: AttrPath | None
    descending: bool
    start_index: int
    count: int
    selection: Selection

    @property
    def offset(self) -> int:
        return self.start_index - 1

    @classmethod
    def parse(
        cls,
        params: dict[str, Any],
        resource_type: ResourceType,
        *,
        default_count: int,
        max_count: int,
        limits: FilterLimits = DEFAULT_LIMITS,
    ) -> ListQuery:
        """From query parameters or a ``SearchRequest`` body (§3.4.3); names are matched
        case-insensitively as IdPs vary (``startIndex``, ``startindex``). A value of the
        wrong JSON type is refused, never ignored (a ``filter`` that is not a string would
        otherwise list the whole directory)."""
        p = {k.lower(): v for k, v in params.items()}
        text = _str(p.get("filter"), "filter", InvalidFilter)
        flt = parse_filter(text, resource_type, limits) if text and text.strip() else None
        sort_text = _str(p.get("sortby"), "sortBy", InvalidValue)
        sort = parse_sort_by(sort_text, resource_type) if sort_text else None
        order = (_str(p.get("sortorder"), "sortOrder", InvalidValue) or "ascending").lower()
        if order not in ("ascending", "descending"):
            raise InvalidValue("sortOrder must be 'ascending' or 'descending'")
        # §3.4.2.4: startIndex < 1 is interpreted as 1; count < 0 as 0; above max, capped.
        # A startIndex past any directory's size gives the same empty page as the largest
        # one the databases' integers take (SQLite refuses an OFFSET beyond 2^63).
        start = min(max(_int(p.get("startindex"), "startIndex") or 1, 1), MAX_START_INDEX)
        count = _int(p.get("count"), "count")
        count = default_count if count is None else min(max(count, 0), max_count)
        selection = Selection.parse(p.get("attributes"), p.get("excludedattributes"))
        return cls(flt, sort, order == "descending", start, count, selection)


def list_response(total: int, start: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
