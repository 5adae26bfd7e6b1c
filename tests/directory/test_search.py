"""Filters compiled to SQL, run against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import bindparam, insert, select

from propylon.db.engine import Database
from propylon.db.migrate import upgrade
from propylon.db.tables import Group, GroupMember, Tenant, User
from propylon.directory.compiled import Compiled
from propylon.directory.errors import InvalidQuery
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA
from propylon.directory.scope import page
from propylon.directory.search import group_filter, group_sort_key, user_filter, user_sort_key
from propylon.scim.filter import parse_filter, parse_sort_by

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
ENT = ENTERPRISE_USER_SCHEMA


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


USERS: list[dict[str, Any]] = [
    {
        "id": "u1",
        "user_name": "BJensen",
        "display_name": "Babs Jensen",
        "given_name": "Barbara",
        "family_name": "Jensen",
        "department": "Sales",
        "active": True,
        "external_id": "ext-1",
        "email": "bjensen@example.com",
        "created_at": ts("2024-01-01T00:00:00"),
        "updated_at": ts("2024-06-01T12:00:00"),
        "doc": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "userName": "BJensen",
            "externalId": "ext-1",
            "displayName": "Babs Jensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "nickName": "Babs",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": True,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@jensen.org", "type": "home"},
            ],
            ENT: {"department": "Sales", "employeeNumber": "701", "manager": {"value": "u2"}},
        },
    },
    {
        "id": "u2",
        "user_name": "jsmith",
        "display_name": "John Smith",
        "given_name": None,
        "family_name": "Smith",
        "department": "Eng",
        "active": False,
        "external_id": "EXT-2",
        "email": "john@example.org",
        "created_at": ts("2024-03-01T00:00:00"),
        "updated_at": ts("2024-03-02T00:00:00"),
        "doc": {
            "userName": "jsmith",
            "externalId": "EXT-2",
            "displayName": "John Smith",
            "name": {"familyName": "Smith"},
            "nickName": "",
            "userType": "Contractor",
            "active": False,
            "emails": [{"value": "john@example.org", "type": "work"}],
            ENT: {"department": "Eng"},
        },
    },
    {
        "id": "u3",
        "user_name": "a_b%c",
        "display_name": None,
        "given_name": None,
        "family_name": None,
        "department": None,
        "active": True,
        "external_id": None,
        "email": None,
        "created_at": ts("2025-01-01T00:00:00"),
        "updated_at": ts("2025-01-01T00:00:00"),
        "doc": {
            "userName": "a_b%c",
            "title": "100% Guide",
            "preferredLanguage": None,
            "addresses": [{"type": "work", "locality": "Oslo"}],
            "emails": [],
        },
    },
]
GROUPS: list[dict[str, Any]] = [
    {
        "id": "g1",
        "display_name": "Admins",
        "external_id": None,
        "doc": {"displayName": "Admins"},
        "created_at": ts("2024-01-01T00:00:00"),
    },
    {
        "id": "g2",
        "display_name": "Sales Team",
        "external_id": None,
        "doc": {"displayName": "Sales Team"},
        "created_at": ts("2024-02-01T00:00:00"),
    },
    {
        "id": "g3",
        "display_name": "Empty",
        "external_id": "gx",
        "doc": {"displayName": "Empty", "externalId": "gx"},
        "created_at": ts("2024-03-01T00:00:00"),
    },
]
MEMBERS = [("g1", "u1", "User"), ("g2", "u1", "User"), ("g2", "u2", "User"), ("g1", "g2", "Group")]


async def _seed(db: Database) -> None:
    now = ts("2024-01-01T00:00:00")
    async with db.write() as s:
        await s.execute(
            insert(Tenant).values(
                id="t1", slug="t1", name="T", event_seq=0, created_at=now, updated_at=now
            )
        )
        for u in USERS:
            await s.execute(
                insert(User).values(
                    tenant_id="t1", user_name_ci=u["user_name"].lower(), version=1, **u
                )
            )
        for g in GROUPS:
            await s.execute(
                insert(Group).values(
                    tenant_id="t1",
                    display_name_ci=g["display_name"].lower(),
                    version=1,
                    updated_at=g["created_at"],
                    **g,
                )
            )
        for gid, mid, mtype in MEMBERS:
            await s.execute(
                insert(GroupMember).values(
                    group_id=gid, member_id=mid, member_type=mtype, tenant_id="t1", created_at=now
                )
            )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    name = f"propylon_test_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("search") / "db.sqlite"
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        database = Database(f"{PG_SERVER}/{name}")
    try:
        await upgrade(database)
        await _seed(database)
        yield database
    finally:
        await database.dispose()
        if request.param == "postgresql":
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


async def _users(db: Database, text: str) -> set[str]:
    where = user_filter(parse_filter(text, "User"), db.dialect).expr
    async with db.read() as s:
        return set((await s.scalars(select(User.id).where(where))).all())


async def _groups(db: Database, text: str) -> set[str]:
    where = group_filter(parse_filter(text, "Group"), db.dialect).expr
    async with db.read() as s:
        return set((await s.scalars(select(Group.id).where(where))).all())


ALL = {"u1", "u2", "u3"}
USER_CASES: list[tuple[str, set[str]]] = [
    # eq / case rules from the schema
    ('userName eq "bjensen"', {"u1"}),
    ('USERNAME EQ "BJENSEN"', {"u1"}),
    ('id eq "u2"', {"u2"}),
    ('externalId eq "ext-2"', set()),
    ('externalId eq "EXT-2"', {"u2"}),
    ('name.familyName eq "jensen"', {"u1"}),
    (f'{ENT}:department eq "sales"', {"u1"}),
    ('department eq "Eng"', {"u2"}),
    (f'{ENT}:manager.value eq "u2"', {"u1"}),
    (f'{ENT}:employeeNumber eq "701"', {"u1"}),
    ('meta.resourceType eq "User"', ALL),
    # ne: true when absent
    ('title ne "Tour Guide"', {"u2", "u3"}),
    ('displayName ne "john smith"', {"u1", "u3"}),
    ('emails.value ne "john@example.org"', {"u1", "u3"}),
    ("active ne true", {"u2"}),
    # co / sw / ew, with LIKE wildcards escaped
    ('userName co "_"', {"u3"}),
    ('userName co "%"', {"u3"}),
    ('title co "%"', {"u3"}),
    ('userName sw "J"', {"u2"}),
    ('userName ew "SEN"', {"u1"}),
    ('displayName co "smith"', {"u2"}),
    ('title sw "tour"', {"u1"}),
    ('name.givenName sw "Bar"', {"u1"}),
    ('externalId sw "ext"', {"u1"}),
    # gt / ge / lt / le on strings (lexicographic) and dateTimes
    ('userName gt "j"', {"u2"}),
    ('userName lt "b"', {"u3"}),
    ('userName ge "bjensen"', {"u1", "u2"}),
    ('userName le "bjensen"', {"u1", "u3"}),
    ('title gt "a"', {"u1"}),
    ('meta.created gt "2024-02-01T00:00:00Z"', {"u2", "u3"}),
    ('meta.created ge "2024-03-01T00:00:00Z"', {"u2", "u3"}),
    ('meta.created lt "2024-03-01T01:00:00+01:00"', {"u1"}),
    ('meta.created le "2024-03-01T00:00:00+00:00"', {"u1", "u2"}),
    ('meta.created eq "2024-03-01T00:00:00Z"', {"u2"}),
    ('meta.lastModified gt "2024-06-01T11:59:59Z"', {"u1", "u3"}),
    # pr and null
    ("title pr", {"u1", "u3"}),
    ("nickName pr", {"u1"}),
    ("preferredLanguage pr", set()),
    ("preferredLanguage eq null", ALL),
    ("title ne null", {"u1", "u3"}),
    ("name pr", {"u1", "u2"}),
    ("emails pr", {"u1", "u2"}),
    ("emails.type pr", {"u1", "u2"}),
    ("displayName pr", {"u1", "u2"}),
    # booleans
    ("active eq false", {"u2"}),
    ("active eq true", {"u1", "u3"}),
    ("emails.primary eq true", {"u1"}),
    ("emails.primary ne true", {"u2", "u3"}),
    # multi-valued and complex attribute filters
    ('emails.value co "example"', {"u1", "u2"}),
    ('emails co "jensen.org"', {"u1"}),
    ('emails[type eq "work" and value co "example.com"]', {"u1"}),
    ('emails[type eq "home"]', {"u1"}),
    ('emails[not (type eq "home")]', {"u1", "u2"}),
    ('emails[type eq "work"].value eq "JOHN@example.org"', {"u2"}),
    ('addresses[type eq "work" and locality eq "oslo"]', {"u3"}),
    # groups via group_members
    ('groups.value eq "g1"', {"u1"}),
    ('groups eq "g2"', {"u1", "u2"}),
    ('groups.display eq "sales team"', {"u1", "u2"}),
    ('groups[value eq "g2" and display sw "Sales"]', {"u1", "u2"}),
    ("groups pr", {"u1", "u2"}),
    ("not (groups pr)", {"u3"}),
    # logic and precedence
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        {"u1"},
    ),
    ('title pr or userType eq "Contractor"', ALL),
    ('userName eq "jsmith" or userName eq "a_b%c" and title pr', {"u2", "u3"}),
    ('(userName eq "jsmith" or userName eq "a_b%c") and title pr', {"u3"}),
    ('not (userName eq "jsmith") and not (title pr)', set()),
    ("not(active eq true)", {"u2"}),
]


@pytest.mark.parametrize(("text", "expected"), USER_CASES)
async def test_user_filters(db: Database, text: str, expected: set[str]) -> None:
    assert await _users(db, text) == expected


GROUP_CASES: list[tuple[str, set[str]]] = [
    ('displayName eq "admins"', {"g1"}),
    ('displayName sw "S"', {"g2"}),
    ('displayName ne "Empty"', {"g1", "g2"}),
    ('externalId eq "gx"', {"g3"}),
    ('meta.created lt "2024-02-01T00:00:00Z"', {"g1"}),
    ('members.value eq "u2"', {"g2"}),
    ('members eq "g2"', {"g1"}),
    ("members pr", {"g1", "g2"}),
    ("not (members pr)", {"g3"}),
    ('members[value eq "u1" and type eq "user"]', {"g1", "g2"}),
    ('members[type eq "Group"]', {"g1"}),
    ('members.display co "babs"', {"g1", "g2"}),
    ('members.display eq "sales team"', {"g1"}),
    ('members.value ne "u1"', {"g3"}),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_CASES)
async def test_group_filters(db: Database, text: str, expected: set[str]) -> None:
    assert await _groups(db, text) == expected


@pytest.mark.parametrize(
    ("sort_by", "order"),
    [
        ("userName", ["u3", "u1", "u2"]),
        ("emails", ["u1", "u2", "u3"]),
        ("emails.type", ["u1", "u2", "u3"]),
        ("title", ["u3", "u1", "u2"]),
        ("meta.created", ["u1", "u2", "u3"]),
        (f"{ENT}:department", ["u2", "u1", "u3"]),
        ("name.familyName", ["u1", "u2", "u3"]),
    ],
)
async def test_user_sort(db: Database, sort_by: str, order: list[str]) -> None:
    key = user_sort_key(parse_sort_by(sort_by, "User"), db.dialect).expr
    async with db.read() as s:
        rows = await s.scalars(select(User.id).order_by(key.asc().nulls_last(), User.id))
        assert list(rows.all()) == order


async def test_group_sort(db: Database) -> None:
    key = group_sort_key(parse_sort_by("displayName", "Group"), db.dialect).expr
    async with db.read() as s:
        rows = await s.scalars(select(Group.id).order_by(key.desc()))
        assert list(rows.all()) == ["g2", "g3", "g1"]


@pytest.mark.parametrize("text", ['groups.type eq "direct"', 'meta.location eq "x"'])
def test_unsupported_raise_invalid_query(text: str) -> None:
    dialect: Literal["sqlite"] = "sqlite"
    parsed = parse_filter(text, "User")  # valid SCIM, but not evaluable in SQL
    with pytest.raises(InvalidQuery):
        user_filter(parsed, dialect)


def test_sort_by_relationship_is_refused() -> None:
    with pytest.raises(InvalidQuery):
        user_sort_key(parse_sort_by("groups.value", "User"), "sqlite")


_TENANT_USERS = select(User.__table__).where(User.__table__.c.tenant_id == bindparam("tenant"))


async def _page(
    db: Database, where: Compiled | None, order_by: Compiled | None, *, offset: int, limit: int
) -> tuple[int, list[Any]]:
    async with db.read() as s:
        return await page(
            s,
            _TENANT_USERS,
            where=where,
            order_by=order_by,
            descending=False,
            offset=offset,
            limit=limit,
            tiebreak=[User.id],
            params={"tenant": "t1"},
        )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (('userName eq "BJensen"', {"u1"}), ('userName eq "A_B%C"', {"u3"})),
        (('title co "Tour"', {"u1"}), ('title co "0% G"', {"u3"})),
        (
            ('meta.created gt "2024-01-01T00:00:00Z"', {"u2", "u3"}),
            ('meta.created gt "2030-01-01T00:00:00Z"', set()),
        ),
    ],
)
async def test_a_reused_statement_binds_the_next_filters_values(
    db: Database, first: tuple[str, set[str]], second: tuple[str, set[str]]
) -> None:
    compiled = [user_filter(parse_filter(text, "User"), db.dialect) for text, _ in (first, second)]
    assert compiled[0].shape == compiled[1].shape  # so the second runs the first's statement
    for where, (_, expected) in zip(compiled, (first, second), strict=True):
        total, rows = await _page(db, where, None, offset=0, limit=10)
        assert ({r.id for r in rows}, total) == (expected, len(expected))


async def test_pages_of_one_reused_statement_walk_the_whole_listing(db: Database) -> None:
    key = user_sort_key(parse_sort_by("userName", "User"), db.dialect)
    seen = []
    for offset in range(3):
        total, rows = await _page(db, None, key, offset=offset, limit=1)
        assert total == 3
        seen += [r.id for r in rows]
    assert seen == ["u3", "u1", "u2"]
