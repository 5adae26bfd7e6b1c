"""Connection ids chosen before the connection exists.

The setup portal shows an IdP admin the values to paste (ACS URL, entity id, redirect URI),
which name the connection's id, before the IdP's answer lets the connection be created: the
page picks the id (:func:`draft_id`, nothing stored) and the creation takes it, once."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.errors import InvalidInput
from propylon.ids import Kind, new_id

_SHAPE = re.compile(r"[a-z]+_[a-z2-7]{24}")


def draft_id(kind: Kind, value: str | None) -> str:
    """``value`` when it has the shape of a new id of ``kind``, else a new one."""
    if value is not None and is_new_id_shape(kind, value):
        return value
    return new_id(kind)


def is_new_id_shape(kind: Kind, value: str) -> bool:
    return value.startswith(f"{kind.value}_") and _SHAPE.fullmatch(value) is not None


async def check_new_id(s: AsyncSession, table: Any, kind: Kind, value: str | None) -> str:
    """The id a new row of ``table`` takes: ``value`` (the shape of a new id of ``kind``, not
    used yet) or, without one, a new id."""
    if value is None:
        return new_id(kind)
    if not is_new_id_shape(kind, value):
        raise InvalidInput(f"connection_id must be a new {kind.value}_ id")
    if await s.get(table, value) is not None:
        raise InvalidInput("this connection was created already")
    return value
