"""Tests for strumspace_desktop.core.timing: concrete cases and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from strumspace_desktop.core.timing import (
    BBT,
    MAX_BPM,
    MIN_BPM,
    PPQ,
    Meter,
    TempoChange,
    TempoMap,
    TimeSignatureChange,
    TimeSignatureMap,
    format_bbt,
    format_clock,
    samples_per_beat,
)

SAMPLE_RATES = st.sampled_from([22050, 44100, 48000, 96000])
BPMS = st.floats(min_value=MIN_BPM, max_value=MAX_BPM, allow_nan=False)
TICKS = st.integers(min_value=-8 * PPQ * 4, max_value=2_000 * PPQ * 4)
DENOMINATORS = st.sampled_from([1, 2, 4, 8, 16, 32, 64])


@st.composite
def tempo_maps(draw: st.DrawFn) -> TempoMap:
    gaps = draw(st.lists(st.integers(min_value=1, max_value=64 * PPQ), max_size=8))
    ticks = [0]
    for gap in gaps:
        ticks.append(ticks[-1] + gap)
    return TempoMap([TempoChange(t, draw(BPMS)) for t in ticks])


@st.composite
def signature_maps(draw: st.DrawFn) -> TimeSignatureMap:
    gaps = draw(st.lists(st.integers(min_value=1, max_value=40), max_size=6))
    bars = [0]
    for gap in gaps:
        bars.append(bars[-1] + gap)
    return TimeSignatureMap(
        [
            TimeSignatureChange(b, draw(st.integers(min_value=1, max_value=17)), draw(DENOMINATORS))
            for b in bars
        ]
    )


# --- concrete cases -------------------------------------------------------------------


def test_120_bpm_at_48k_a_beat_is_24000_samples() -> None:
    tempo = TempoMap.constant(120.0)
    assert tempo.sample_at_tick(PPQ, 48_000) == 24_000
    assert tempo.sample_at_tick(4 * PPQ, 48_000) == 96_000
    assert tempo.tick_at_sample(24_000, 48_000) == PPQ
    assert tempo.seconds_at_tick(PPQ) == 0.5
    assert samples_per_beat(120.0, 4, 48_000) == 24_000.0


def test_eighth_note_beats_are_half_a_quarter() -> None:
    assert samples_per_beat(120.0, 8, 48_000) == 12_000.0
    assert samples_per_beat(60.0, 2, 44_100) == 88_200.0


def test_tempo_change_midway() -> None:
    # 4 beats at 120 (2 s), then 60 bpm: each further beat takes 1 s.
    tempo = TempoMap([TempoChange(0, 120.0), TempoChange(4 * PPQ, 60.0)])
    assert tempo.seconds_at_tick(4 * PPQ) == pytest.approx(2.0)
    assert tempo.seconds_at_tick(6 * PPQ) == pytest.approx(4.0)
    assert tempo.tick_at_seconds(3.0) == pytest.approx(5 * PPQ)
    assert tempo.sample_at_tick(6 * PPQ, 48_000) == 192_000
    assert tempo.bpm_at_tick(4 * PPQ - 1) == 120.0
    assert tempo.bpm_at_tick(4 * PPQ) == 60.0


def test_negative_ticks_use_the_first_tempo() -> None:
    tempo = TempoMap([TempoChange(0, 120.0), TempoChange(PPQ, 60.0)])
    assert tempo.seconds_at_tick(-4 * PPQ) == pytest.approx(-2.0)
    assert tempo.sample_at_tick(-PPQ, 48_000) == -24_000
    assert tempo.tick_at_seconds(-1.0) == pytest.approx(-2 * PPQ)
    assert tempo.bpm_at_tick(-1) == 120.0


def test_sample_rounding_is_to_nearest() -> None:
    tempo = TempoMap.constant(120.0)  # one tick lasts exactly 25 samples at 48 kHz
    assert tempo.sample_at_tick(0.5, 48_000) == 13  # 12.5 rounds up
    assert tempo.sample_at_tick(0.49, 48_000) == 12
    assert tempo.sample_at_tick(-0.49, 48_000) == -12


@pytest.mark.parametrize(
    "changes",
    [
        [],
        [TempoChange(10, 120.0)],
        [TempoChange(0, 19.9)],
        [TempoChange(0, 300.5)],
        [TempoChange(0, math.nan)],
        [TempoChange(0, 120.0), TempoChange(0, 100.0)],
        [TempoChange(0, 120.0), TempoChange(960, 100.0), TempoChange(480, 90.0)],
    ],
)
def test_invalid_tempo_maps_are_rejected(changes: list[TempoChange]) -> None:
    with pytest.raises(ValueError):
        TempoMap(changes)


def test_bpm_limits_are_inclusive() -> None:
    TempoMap([TempoChange(0, 20.0), TempoChange(1, 300.0)])


def test_4_4_bbt() -> None:
    meters = TimeSignatureMap.constant(4, 4)
    assert meters.bbt_at_tick(0) == BBT(1, 1, 0)
    assert meters.bbt_at_tick(2 * 4 * PPQ + PPQ + 480) == BBT(3, 2, 480)
    assert format_bbt(meters.bbt_at_tick(2 * 4 * PPQ + PPQ + 480)) == "3:2:480"
    assert meters.tick_at_bbt(BBT(3, 2, 480)) == 9 * PPQ + 480
    assert meters.bar_start_tick(2) == 8 * PPQ


def test_6_8_bars() -> None:
    meters = TimeSignatureMap.constant(6, 8)
    meter = meters.meter_at_bar(0)
    assert meter.ticks_per_beat == 480
    assert meter.ticks_per_bar == 2880  # three quarter notes
    assert meters.bar_start_tick(1) == 2880
    assert meters.bbt_at_tick(2880 + 5 * 480 + 7) == BBT(2, 6, 7)
    assert meters.bbt_at_tick(2880 + 6 * 480) == BBT(3, 1, 0)
    # At 120 bpm a 6/8 bar lasts 1.5 s = 72000 samples at 48 kHz.
    tempo = TempoMap.constant(120.0)
    assert tempo.sample_at_tick(meters.bar_start_tick(1), 48_000) == 72_000
    assert samples_per_beat(120.0, 8, 48_000) * 6 == 72_000


def test_meter_changes() -> None:
    # Two bars of 4/4, then 3/4 from bar index 2, then 7/8 from bar index 4.
    meters = TimeSignatureMap(
        [TimeSignatureChange(0, 4, 4), TimeSignatureChange(2, 3, 4), TimeSignatureChange(4, 7, 8)]
    )
    assert meters.bar_start_tick(2) == 8 * PPQ
    assert meters.bar_start_tick(3) == 11 * PPQ
    assert meters.bar_start_tick(4) == 14 * PPQ
    assert meters.bar_start_tick(5) == 14 * PPQ + 7 * 480
    assert meters.bbt_at_tick(11 * PPQ - 1) == BBT(3, 3, PPQ - 1)
    assert meters.bbt_at_tick(14 * PPQ + 480) == BBT(5, 2, 0)
    assert meters.meter_at_tick(14 * PPQ) == Meter(7, 8)
    with pytest.raises(ValueError):
        meters.tick_at_bbt(BBT(3, 4, 0))  # 3/4 has no fourth beat
    with pytest.raises(ValueError):
        meters.tick_at_bbt(BBT(5, 1, 480))  # an eighth-note beat has 480 ticks


def test_count_in_bars_are_numbered_zero_and_below() -> None:
    meters = TimeSignatureMap([TimeSignatureChange(0, 3, 4), TimeSignatureChange(1, 4, 4)])
    assert meters.bbt_at_tick(-1) == BBT(0, 3, PPQ - 1)
    assert meters.bbt_at_tick(-3 * PPQ) == BBT(0, 1, 0)
    assert meters.bbt_at_tick(-3 * PPQ - 1) == BBT(-1, 3, PPQ - 1)
    assert meters.bar_start_tick(-1) == -3 * PPQ
    assert meters.tick_at_bbt(BBT(-1, 1, 0)) == -6 * PPQ
    assert format_bbt(BBT(-1, 1, 0)) == "-1:1:000"


def test_fractional_ticks_show_the_tick_they_are_in() -> None:
    meters = TimeSignatureMap.constant(4, 4)
    assert meters.bbt_at_tick(479.9) == BBT(1, 1, 479)
    assert meters.bbt_at_tick(-0.25) == BBT(0, 4, PPQ - 1)


@pytest.mark.parametrize(
    "changes",
    [
        [],
        [TimeSignatureChange(1, 4, 4)],
        [TimeSignatureChange(0, 4, 3)],
        [TimeSignatureChange(0, 4, 128)],
        [TimeSignatureChange(0, 0, 4)],
        [TimeSignatureChange(0, 4, 4), TimeSignatureChange(0, 3, 4)],
    ],
)
def test_invalid_signature_maps_are_rejected(changes: list[TimeSignatureChange]) -> None:
    with pytest.raises(ValueError):
        TimeSignatureMap(changes)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0:00.000"),
        (1.5, "0:01.500"),
        (61.25, "1:01.250"),
        (59.9996, "1:00.000"),
        (3725.001, "62:05.001"),
        (-1.5, "-0:01.500"),
        (-0.0001, "0:00.000"),
    ],
)
def test_format_clock(seconds: float, text: str) -> None:
    assert format_clock(seconds) == text


def test_format_clock_rejects_nan() -> None:
    with pytest.raises(ValueError):
        format_clock(math.nan)


def test_samples_per_beat_validates() -> None:
    with pytest.raises(ValueError):
        samples_per_beat(120.0, 3, 48_000)
    with pytest.raises(ValueError):
        samples_per_beat(10.0, 4, 48_000)
    with pytest.raises(ValueError):
        samples_per_beat(120.0, 4, 0)


# --- properties ------------------------------------------------------------------------


@given(tempo_maps(), TICKS)
def test_tick_seconds_round_trip(tempo: TempoMap, tick: int) -> None:
    assert tempo.tick_at_seconds(tempo.seconds_at_tick(tick)) == pytest.approx(
        tick, abs=1e-6, rel=1e-9
    )


@given(tempo_maps(), st.integers(min_value=-(10**6), max_value=10**9), SAMPLE_RATES)
def test_sample_tick_sample_is_exact(tempo: TempoMap, sample: int, rate: int) -> None:
    assert tempo.sample_at_tick(tempo.tick_at_sample(sample, rate), rate) == sample


@given(tempo_maps(), TICKS, SAMPLE_RATES)
@example(TempoMap([TempoChange(0, 20.0), TempoChange(1, 300.0)]), 1, 22050)
@example(TempoMap([TempoChange(0, 120.0), TempoChange(1, 20.0)]), 1, 22050)
def test_tick_sample_tick_is_within_half_a_sample(tempo: TempoMap, tick: int, rate: int) -> None:
    back = tempo.tick_at_sample(tempo.sample_at_tick(tick, rate), rate)
    # Rounding to a sample may cross a tempo change (segments are never shorter than
    # one tick, which lasts over 4 samples even at 300 BPM and 22,050 Hz), so the
    # half sample is measured at the faster of the two tempos.
    bpm = max(tempo.bpm_at_tick(tick), tempo.bpm_at_tick(back))
    half_sample_in_ticks = 0.5 / rate * bpm * PPQ / 60.0
    assert abs(back - tick) <= half_sample_in_ticks + 1e-6


@given(tempo_maps(), TICKS, st.integers(min_value=1, max_value=10 * PPQ))
def test_time_is_strictly_increasing(tempo: TempoMap, tick: int, step: int) -> None:
    assert tempo.seconds_at_tick(tick + step) > tempo.seconds_at_tick(tick)
    # Sample positions never go backwards (equal only within one sample).
    assert tempo.sample_at_tick(tick + step, 48_000) >= tempo.sample_at_tick(tick, 48_000)


@given(tempo_maps(), TICKS)
def test_elapsed_time_matches_the_segment_tempo(tempo: TempoMap, tick: int) -> None:
    # Over one tick inside a segment, time advances by exactly 60 / (bpm * PPQ).
    bpm = tempo.bpm_at_tick(tick)
    assume(tempo.bpm_at_tick(tick + 1) == bpm and tempo.bpm_at_tick(tick) == bpm)
    elapsed = tempo.seconds_at_tick(tick + 1) - tempo.seconds_at_tick(tick)
    assert elapsed == pytest.approx(60.0 / (bpm * PPQ), rel=1e-6)


@given(signature_maps(), TICKS)
def test_bbt_tick_round_trip(meters: TimeSignatureMap, tick: int) -> None:
    bbt = meters.bbt_at_tick(tick)
    meter = meters.meter_at_bar(bbt.bar - 1)
    assert 1 <= bbt.beat <= meter.numerator
    assert 0 <= bbt.tick < meter.ticks_per_beat
    assert meters.tick_at_bbt(bbt) == tick


@given(signature_maps(), TICKS, st.integers(min_value=1, max_value=5 * PPQ))
def test_bbt_is_monotonic(meters: TimeSignatureMap, tick: int, step: int) -> None:
    assert meters.bbt_at_tick(tick) < meters.bbt_at_tick(tick + step)


@given(signature_maps(), st.integers(min_value=-20, max_value=300))
def test_bars_tile_the_timeline(meters: TimeSignatureMap, bar: int) -> None:
    start = meters.bar_start_tick(bar)
    assert meters.bar_start_tick(bar + 1) - start == meters.meter_at_bar(bar).ticks_per_bar
    assert meters.bbt_at_tick(start) == BBT(bar + 1, 1, 0)
    assert meters.bbt_at_tick(start - 1).bar == bar


@given(BPMS, DENOMINATORS, SAMPLE_RATES)
def test_samples_per_beat_agrees_with_the_tempo_map(bpm: float, den: int, rate: int) -> None:
    tempo = TempoMap.constant(bpm)
    ticks_per_beat = Meter(4, den).ticks_per_beat
    exact = tempo.seconds_at_tick(ticks_per_beat) * rate
    assert samples_per_beat(bpm, den, rate) == pytest.approx(exact, rel=1e-12)


@given(st.floats(min_value=-36_000, max_value=36_000, allow_nan=False))
def test_format_clock_parses_back(seconds: float) -> None:
    text = format_clock(seconds)
    sign = -1 if text.startswith("-") else 1
    minutes, rest = text.lstrip("-").split(":")
    value = sign * (int(minutes) * 60 + float(rest))
    assert len(rest) == 6
    assert value == pytest.approx(seconds, abs=0.0005 + 1e-9)
