"""The chosen stack's floor for the ``okta_500`` sequence: a server that does only what no SCIM
server on FastAPI + uvicorn + SQLAlchemy (asyncpg) + PostgreSQL can skip.

Per request it reads the HTTP request (uvicorn with uvloop/httptools, as ``propylon serve``),
routes it through a FastAPI app with plain Starlette routes (as Propylon's SCIM routes),
compares the bearer token with a string held in memory, runs the one SQL statement the
request needs through SQLAlchemy Core on a pooled connection in autocommit, built once (a
``SELECT`` by ``lower(user_name)`` for a filter, one committed ``INSERT`` for a POST, one batch
``INSERT`` of the members a PATCH adds), and answers JSON with ``json.dumps``.

It does none of the work a real SCIM server does: no schema validation or canonical form, no
filter grammar (a regular expression takes the one value), no token lookup or rate limit, no
uniqueness rules beyond the index, no audit trail, no outbox, no ETag, no metrics or access
log. Its time is what the chosen stack costs before any SCIM logic, so it bounds from below
what Propylon can reach on this machine in the same run.

Run as a process: ``python stack_floor.py --port N --dsn postgresql+asyncpg://… --token T``;
``--driver asyncpg`` sends the same statements on asyncpg directly, to show what leaving
SQLAlchemy's execution layer would save.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import secrets
import urllib.parse
from typing import Any, Protocol

import asyncpg
import uvicorn
from fastapi import FastAPI
from sqlalchemy import (
    Column,
    Executable,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

meta = MetaData()
users = Table(
    "floor_users",
    meta,
    Column("id", String, primary_key=True),
    Column("user_name_ci", String, nullable=False, unique=True),
    Column("doc", JSONB, nullable=False),
)
groups = Table(
    "floor_groups",
    meta,
    Column("id", String, primary_key=True),
    Column("name_ci", String, nullable=False, unique=True),
    Column("doc", JSONB, nullable=False),
)
members = Table(
    "floor_members",
    meta,
    Column("group_id", String, primary_key=True),
    Column("user_id", String, primary_key=True),
    Column("display", Text),
)
EQ = re.compile(r'^\s*(\w+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$')
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MEDIA = "application/scim+json"


class Db(Protocol):
    async def find(self, table: Table, column: str, value: str) -> list[Any]: ...

    async def insert(self, table: Table, rows: list[dict[str, Any]]) -> None: ...


@functools.cache
def _find(table: Table, column: str) -> Executable:
    return select(table.c.doc).where(table.c[column] == bindparam("value"))


@functools.cache
def _insert(table: Table) -> Executable:
    return insert(table)


class SqlAlchemyDb:
    """The chosen storage layer: SQLAlchemy Core on a pooled connection in autocommit, each
    statement built once (as Propylon's hot statements are), so only execution is paid."""

    def __init__(self, dsn: str) -> None:
        self.engine = create_async_engine(dsn, isolation_level="AUTOCOMMIT", pool_size=20)

    async def find(self, table: Table, column: str, value: str) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(_find(table, column), {"value": value})
            return [r[0] for r in result]

    async def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """One row, or a batch in one call."""
        async with self.engine.connect() as conn:
            await conn.execute(_insert(table), rows)


class AsyncpgDb:
    """For comparison only: the same statements as SQL text on an asyncpg pool directly (what
    leaving SQLAlchemy's execution layer would save)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.pool: asyncpg.Pool | None = None

    async def _pool(self) -> asyncpg.Pool:
        async def init(conn: asyncpg.Connection) -> None:
            await conn.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

        if self.pool is None:
            self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=20, init=init)
        return self.pool

    async def find(self, table: Table, column: str, value: str) -> list[Any]:
        sql = f"SELECT doc FROM {table.name} WHERE {column} = $1"
        async with (await self._pool()).acquire() as conn:
            return [r[0] for r in await conn.fetch(sql, value)]

    async def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        cols = list(rows[0])
        width = len(cols)
        tuples = ", ".join(
            "(" + ", ".join(f"${i * width + j + 1}" for j in range(width)) + ")"
            for i in range(len(rows))
        )
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES {tuples}"
        async with (await self._pool()).acquire() as conn:
            await conn.execute(sql, *[r[c] for r in rows for c in cols])


def build(db: Db, token: str) -> FastAPI:
    auth = f"Bearer {token}"

    def answer(status: int, body: Any) -> Response:
        return Response(json.dumps(body, separators=(",", ":")).encode(), status, media_type=MEDIA)

    def denied(request: Request) -> Response | None:
        if request.headers.get("authorization") != auth:
            return answer(401, {"status": "401"})
        return None

    async def search(request: Request, table: Table, column: str) -> Response:
        if (bad := denied(request)) is not None:
            return bad
        m = EQ.match(urllib.parse.unquote(request.query_params.get("filter", "")))
        if m is None:
            return answer(400, {"status": "400", "scimType": "invalidFilter"})
        docs = await db.find(table, column, m[2].lower())
        body = {"schemas": [LIST], "totalResults": len(docs), "Resources": docs}
        return answer(200, body)

    async def create(request: Request, table: Table, key: str, attr: str) -> Response:
        if (bad := denied(request)) is not None:
            return bad
        doc = json.loads(await request.body())
        doc["id"] = secrets.token_hex(16)
        values = {"id": doc["id"], key: str(doc[attr]).lower(), "doc": doc}
        await db.insert(table, [values])
        return answer(201, doc)

    async def list_users(request: Request) -> Response:
        return await search(request, users, "user_name_ci")

    async def list_groups(request: Request) -> Response:
        return await search(request, groups, "name_ci")

    async def post_user(request: Request) -> Response:
        return await create(request, users, "user_name_ci", "userName")

    async def post_group(request: Request) -> Response:
        return await create(request, groups, "name_ci", "displayName")

    async def patch_group(request: Request) -> Response:
        if (bad := denied(request)) is not None:
            return bad
        gid = request.path_params["gid"]
        ops = json.loads(await request.body())["Operations"]
        rows = [
            {"group_id": gid, "user_id": m["value"], "display": m.get("display")}
            for op in ops
            for m in op["value"]
        ]
        await db.insert(members, rows)
        return Response(status_code=204)

    app = FastAPI(
        routes=[
            Route("/Users", list_users, methods=["GET"]),
            Route("/Users", post_user, methods=["POST"]),
            Route("/Groups", list_groups, methods=["GET"]),
            Route("/Groups", post_group, methods=["POST"]),
            Route("/Groups/{gid}", patch_group, methods=["PATCH"]),
        ]
    )

    return app


async def create_schema(dsn: str) -> None:
    engine = create_async_engine(dsn)
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)
        await conn.run_sync(meta.create_all)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--driver", choices=("sqlalchemy", "asyncpg"), default="sqlalchemy")
    args = parser.parse_args()
    asyncio.run(create_schema(args.dsn))
    db: Db = SqlAlchemyDb(args.dsn) if args.driver == "sqlalchemy" else AsyncpgDb(args.dsn)
    app = build(db, args.token)
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
