from __future__ import annotations

from multiprocessing import shared_memory

from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.audio.ringbuffer import SpscRing
from strumspace_desktop.audio.shared_block import SharedBlock


def make_ring(capacity: int = 8) -> SpscRing:
    buf = memoryview(bytearray(SpscRing.nbytes(capacity, 6)))
    return SpscRing(buf, 0, capacity, 6)


def test_fifo_order_and_full() -> None:
    ring = make_ring(4)
    assert all(ring.push(i, i * 2) for i in range(4))
    assert not ring.push(99)  # full: refused, nothing overwritten
    assert [r[:2] for r in ring.pop_all()] == [(0, 0), (1, 2), (2, 4), (3, 6)]
    assert len(ring) == 0


@given(st.lists(st.integers(min_value=1, max_value=20), max_size=40))
def test_wraps_around_without_loss(batches: list[int]) -> None:
    ring = make_ring(32)
    sent = received = 0
    for batch in batches:
        for _ in range(batch):
            assert ring.push(sent)
            sent += 1
        got = ring.pop_all()
        assert [int(r[0]) for r in got] == list(range(received, sent))
        received = sent


def test_shared_between_two_views() -> None:
    block = SharedBlock.create()
    # A second mapping in this process (attach() is for the engine process: it also
    # takes the segment off this process's resource tracker).
    other = SharedBlock(shared_memory.SharedMemory(name=block.name), owner=False)
    try:
        assert block.commands.push(7, 1, 2, 3, 4, 5)
        assert other.commands.pop_all() == [(7, 1, 2, 3, 4, 5)]
        other.status[3] = 1.5
        assert block.status[3] == 1.5
    finally:
        other.close()
        block.close()


def test_capacity_must_be_power_of_two() -> None:
    buf = memoryview(bytearray(SpscRing.nbytes(6, 6)))
    try:
        SpscRing(buf, 0, 6, 6)
    except ValueError:
        return
    raise AssertionError("a capacity of 6 was accepted")
