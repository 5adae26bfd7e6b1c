"""The sequencer on both backends, in-process: hooks run inside its transaction and see each
numbered event exactly once; a failing hook rolls its batch back (no number given, tried
again later with the same numbers); sequencers racing on PostgreSQL number every event once
and without gaps; the retention purge removes only what is older than the period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.migrate import upgrade
from propylon.db.tables import Event
from propylon.directory.events import DomainEvent, Outbox
from propylon.feed.model import SequencedEvent
from propylon.feed.sequencer import Sequencer
from propylon.runtime import Runtime, build_runtime
from tests.conftest import drop_backend, make_backend


@pytest.fixture(params=["sqlite", "postgres"])
async def rt(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    backend = make_backend(request.param, tmp_path)
    runtime = build_runtime(backend.settings())
    try:
        await upgrade(runtime.db)
        yield runtime
    finally:
        await runtime.close()
        drop_backend(backend)


async def _emit(rt: Runtime, tenant_id: str, n: int, when: datetime | None = None) -> None:
    async with rt.db.write() as s:
        outbox = Outbox(tenant_id)
        for i in range(n):
            outbox.emit(DomainEvent("user.updated", "user", f"user_{i}", {"i": i}))
        await outbox.flush(s, when or rt.clock())


async def _tenant(rt: Runtime, slug: str) -> str:
    return (await ops.create_tenant(rt, CLI, slug=slug, name=slug, domains=[], seats=None)).id


async def _numbers(rt: Runtime) -> list[int | None]:
    async with rt.db.read() as s:
        return list(await s.scalars(select(Event.gseq).order_by(Event.tenant_id, Event.seq)))


async def test_hooks_see_each_event_once_inside_the_numbering_transaction(rt: Runtime) -> None:
    a, b = await _tenant(rt, "seq-a"), await _tenant(rt, "seq-b")
    seen: list[SequencedEvent] = []
    visible: list[int | None] = []

    async def hook(s: AsyncSession, batch: list[SequencedEvent], now: datetime) -> None:
        seen.extend(batch)
        # the numbers are already written in the hook's own transaction
        visible.extend(await s.scalars(select(Event.gseq).where(Event.id == batch[-1].id)))

    rt.feed_hooks.append(hook)
    await _emit(rt, a, 3)
    await _emit(rt, b, 2)
    await _emit(rt, a, 2)
    assert await rt.feed.sequencer.drain() == 7
    assert await rt.feed.sequencer.drain() == 0  # nothing twice
    assert [e.seq for e in seen] == list(range(1, 8))
    assert [(e.tenant_id, e.tenant_seq) for e in seen] == sorted(
        (e.tenant_id, e.tenant_seq) for e in seen
    )
    assert visible == [seen[-1].seq]
    assert seen[0].envelope()["subject"] == {"type": "user", "id": "user_0"}


async def test_a_failing_hook_rolls_the_numbering_back_and_is_retried(rt: Runtime) -> None:
    t = await _tenant(rt, "seq-fail")
    calls: list[list[int]] = []

    async def flaky(s: AsyncSession, batch: list[SequencedEvent], now: datetime) -> None:
        calls.append([e.seq for e in batch])
        if len(calls) == 1:
            raise RuntimeError("receiver table unavailable")

    rt.feed_hooks.append(flaky)
    await _emit(rt, t, 3)
    with pytest.raises(RuntimeError):
        await rt.feed.sequencer.drain()
    assert await _numbers(rt) == [None, None, None]
    assert await rt.feed.sequencer.drain() == 3
    assert calls == [[1, 2, 3], [1, 2, 3]]
    assert await _numbers(rt) == [1, 2, 3]


async def test_racing_sequencers_number_every_event_once_without_gaps(rt: Runtime) -> None:
    tenants = [await _tenant(rt, f"seq-race-{i}") for i in range(3)]
    handed: list[int] = []

    async def record(s: AsyncSession, batch: list[SequencedEvent], now: datetime) -> None:
        handed.extend(e.seq for e in batch)

    rivals = [
        Sequencer(rt.db, [record], rt.clock, poll_seconds=1, batch_size=7, retry_max_seconds=1)
        for _ in range(3)
    ]

    async def write_all() -> None:
        await asyncio.gather(*(_emit(rt, t, 5) for t in tenants for _ in range(3)))

    await asyncio.gather(write_all(), *(r.drain() for r in rivals))
    await asyncio.gather(*(r.drain() for r in rivals))
    assert sorted(handed) == list(range(1, 46))
    async with rt.db.read() as s:
        rows = (await s.execute(select(Event.tenant_id, Event.seq, Event.gseq))).all()
    for t in tenants:
        mine = sorted((g, seq) for tid, seq, g in rows if tid == t)
        assert [seq for _, seq in mine] == list(range(1, 16))


async def test_retention_purge_removes_only_events_older_than_the_period(rt: Runtime) -> None:
    t = await _tenant(rt, "seq-purge")
    old = datetime.now(UTC) - timedelta(days=40)
    await _emit(rt, t, 3, when=old)
    await _emit(rt, t, 2)
    await _emit(rt, t, 1)  # not numbered yet: never purged
    await rt.feed.sequencer.drain()
    async with rt.db.write() as s:
        await s.execute(update(Event).where(Event.seq == 6).values(gseq=None, created_at=old))
    assert await rt.feed.purge() == 3
    assert await rt.feed.purge() == 0
    async with rt.db.read() as s:
        kept = list(await s.scalars(select(Event.seq).order_by(Event.seq)))
    assert kept == [4, 5, 6]


async def test_reads_certify_nothing_while_a_committed_event_stays_unnumbered(
    rt: Runtime,
) -> None:
    """A stuck sequencer (a failing hook) leaves streams without a committed event: the
    follower's reads then move no position, so no heartbeat says the view is fresh."""
    t = await _tenant(rt, "seq-stall")
    follower = rt.feed.follower
    await follower.start()
    await follower.read_once()
    before = follower.position
    assert before is not None
    await _emit(rt, t, 1, when=datetime.now(UTC) - timedelta(seconds=30))
    await follower.read_once()
    assert follower.position == before
    await rt.feed.sequencer.drain()
    assert await follower.read_once() == 1
    assert follower.position is not None and follower.position.at > before.at
    assert follower.position.seq == before.seq + 1
