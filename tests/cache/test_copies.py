"""Per-process copies (``cache/copies.py``): kept only with a fan-out, bounded in age and
number, dropped on a message."""

from __future__ import annotations

from propylon.cache.copies import LocalCopies


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_copy_is_served_until_its_lifetime_ends() -> None:
    clock = Clock()
    copies: LocalCopies[str, int] = LocalCopies(30, enabled=True, clock=clock)
    copies.put("a", 1)
    clock.now += 29.9
    assert copies.get("a") == 1
    clock.now += 0.1
    assert copies.get("a") is None
    assert copies.get("a") is None  # and it is gone, not revived


async def test_a_message_drops_every_copy() -> None:
    copies: LocalCopies[str, int] = LocalCopies(30, enabled=True)
    copies.put("a", 1)
    copies.put("b", 2)
    await copies.on_message("a")
    assert copies.get("a") is None and copies.get("b") is None


async def test_without_fan_out_or_lifetime_nothing_is_kept() -> None:
    for copies in (LocalCopies[str, int](30, enabled=False), LocalCopies[str, int](0, True)):
        copies.put("a", 1)
        assert not copies.enabled and copies.get("a") is None


async def test_the_number_of_copies_is_bounded() -> None:
    copies: LocalCopies[int, int] = LocalCopies(30, enabled=True, max_entries=3)
    for i in range(3):
        copies.put(i, i)
    assert [copies.get(i) for i in range(3)] == [0, 1, 2]
    copies.put(3, 3)  # full: start over rather than grow
    assert [copies.get(i) for i in range(4)] == [None, None, None, 3]
