"""Transport arithmetic: clicks on exact samples, count-in, loop, tempo changes."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.audio.transport import Transport
from strumspace_desktop.core.timing import samples_per_beat


def run(t: Transport, blocks: int, frames: int, start_clock: int = 0) -> list[tuple[int, int]]:
    """Absolute click positions (clock, accent) over `blocks` blocks."""
    clicks = []
    clock = start_clock
    for _ in range(blocks):
        t.advance(clock, frames)
        for i in range(t.click_count):
            clicks.append((clock + int(t.click_offsets[i]), int(t.click_accents[i])))
        clock += frames
    return clicks


@settings(max_examples=60, deadline=None)
@given(bpm=st.floats(20, 300), frames=st.sampled_from([64, 128, 256, 1000, 1024]),
       rate=st.sampled_from([44100, 48000, 96000]), den=st.sampled_from([2, 4, 8]),
       start=st.integers(0, 10**9))
def test_clicks_land_on_exact_beat_samples(bpm: float, frames: int, rate: int, den: int,
                                           start: int) -> None:
    t = Transport(rate)
    t.count_in_bars = 0
    t.set_tempo(0, bpm)
    t.set_meter(0, 3, den)
    t.play(start)
    spb = samples_per_beat(bpm, den, rate)
    n_blocks = int(spb * 7 / frames) + 2
    clicks = run(t, n_blocks, frames, start)
    assert len(clicks) >= 7
    for k, (clock, accent) in enumerate(clicks):
        # No drift, no rounding walk: the transport's own formula (with an odd start
        # and a beat of x.5 samples, round(start + k*spb) and start + round(k*spb) differ).
        assert clock == round(start + k * spb)
        assert accent == (1 if k % 3 == 0 else 0)


def test_count_in_then_play() -> None:
    t = Transport(48000)
    t.count_in_bars = 2
    t.set_tempo(0, 120)  # 24000 samples per beat
    t.play(1000)
    assert t.state == TransportState.COUNT_IN
    assert t.beat_at(1000) == -8
    clicks = run(t, 800, 256, 1000)
    first_eight = [c for c, _ in clicks[:8]]
    assert first_eight == [1000 + k * 24000 for k in range(8)]
    assert t.state == TransportState.PLAYING
    assert clicks[8][0] == 1000 + 8 * 24000 and clicks[8][1] == 1  # bar 1 accented


def test_loop_jumps_back_at_the_exact_sample() -> None:
    t = Transport(48000)
    t.count_in_bars = 0
    t.set_tempo(0, 120)
    t.set_loop(True, 4.0, 8.0)
    t.locate(0, 4.0)
    t.play(0)
    clicks = run(t, 2000, 256)
    # Beats 4,5,6,7 then back to 4: every click 24000 samples apart, no double click.
    gaps = {b[0] - a[0] for a, b in itertools.pairwise(clicks)}
    assert gaps == {24000}
    assert 0 <= t.beat_at(2000 * 256) - 4.0 < 4.0


def test_tempo_change_reanchors_without_jump() -> None:
    t = Transport(48000)
    t.count_in_bars = 0
    t.play(0)
    before = t.beat_at(36000)  # 1.5 beats at 120 BPM
    t.set_tempo(36000, 60)
    assert abs(t.beat_at(36000) - before) < 1e-9
    assert abs(t.beat_at(36000 + 48000) - (before + 1.0)) < 1e-9
    clicks = run(t, 400, 256, 36000)
    assert clicks[0][0] == 36000 + 24000  # beat 2 at the new tempo: half a beat later


def test_stop_keeps_position_and_second_stop_returns_to_start() -> None:
    t = Transport(48000)
    t.count_in_bars = 0
    t.play(0)
    t.stop(48000)
    assert t.state == TransportState.STOPPED and t.beat_at(0) == 2.0
    t.stop(48000)
    assert t.beat_at(0) == 0.0


def test_invalid_meter_is_ignored() -> None:
    t = Transport(48000)
    t.set_meter(0, 5, 3)
    assert (t.numerator, t.denominator) == (4, 4)
