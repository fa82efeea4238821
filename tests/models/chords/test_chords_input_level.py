"""Quiet recordings are lifted to the level the chord model was trained at: the gain
rules, the live envelope, and the real model on a quiet FluidSynth render (a held chord
is named until its release, not dropped to no-chord as its sound decays)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from chords_runtime_support import (
    RATE,
    REAL_MODEL_REASON,
    is_real_model,
    live_display,
    majmin_share,
    rendered,
    segment_at,
    shown_at,
)
from chords_support import synth

from models.chords import input_level, runtime
from models.chords.input_level import (
    MAX_FILE_GAIN_DB,
    MAX_LIVE_GAIN_DB,
    TARGET_PEAK_DB,
    LiveLevel,
    PeakTrack,
    lift,
)
from models.chords.performance import Note, Performance, Segment


def _db(x: float) -> float:
    return 20 * math.log10(x)


def _at_peak(x: np.ndarray, db: float) -> np.ndarray:
    return (x / np.abs(x).max() * 10 ** (db / 20)).astype(np.float32)


def _curve(x: np.ndarray, sr: int = 1000, block: int = 777) -> input_level.GainCurve:
    track = PeakTrack(sr)
    for i in range(0, x.size, block):
        track.push(x[i: i + block])
    return track.gain_curve()


def test_a_quiet_passage_is_lifted_to_the_target_and_a_loud_one_is_left_alone() -> None:
    assert _db(float(lift(np.array([10 ** (-30 / 20)]))[0])) == pytest.approx(
        TARGET_PEAK_DB + 30)
    assert list(lift(np.array([10 ** (-6 / 20), 1.5, 0.0]))) == [1.0, 1.0, 1.0]
    assert _db(float(lift(np.array([10 ** (-80 / 20)]))[0])) == pytest.approx(
        MAX_FILE_GAIN_DB)
    sr = 1000
    rng = np.random.default_rng(0)
    quiet = (rng.uniform(-1, 1, sr * 40) * 10 ** (-30 / 20)).astype(np.float32)
    curve = _curve(quiet)
    assert _db(curve.at(20 * sr)) == pytest.approx(18.0, abs=0.3)
    assert curve.apply(quiet, 0) == pytest.approx(quiet * curve.at(0), rel=1e-3)
    loud = quiet * 10 ** (29 / 20)
    assert _curve(loud).is_flat
    assert _curve(np.zeros(sr * 5, np.float32)).is_flat
    # a loud first half and a second half 25 dB softer: the soft half is lifted once
    # the loud one is more than PASSAGE_S away, the gain changes gradually
    both = np.concatenate([loud[: 20 * sr], quiet[20 * sr:] * 10 ** (4 / 20)])
    curve = _curve(both)
    assert curve.at(5 * sr) == 1.0 and curve.at(20 * sr + 7 * sr) == pytest.approx(1.0)
    assert _db(curve.at(35 * sr)) == pytest.approx(14.0, abs=0.3)
    gains = [_db(curve.at(t)) for t in np.arange(27.5 * sr, 29.5 * sr, 50)]
    assert gains == sorted(gains) and max(np.diff(gains)) < 3.0
    # the curve does not depend on how the pass cut the blocks, nor its application
    np.testing.assert_allclose(_curve(both, block=64).log_gain, curve.log_gain)
    parts = [curve.apply(both[i: i + 333], i) for i in range(0, both.size, 333)]
    np.testing.assert_allclose(np.concatenate(parts), curve.apply(both, 0), rtol=1e-6,
                               atol=1e-7)
    # samples that are not numbers count as silence
    bad = quiet.copy()
    bad[::100] = np.nan
    assert _db(_curve(bad).at(20 * sr)) == pytest.approx(18.0, abs=0.3)


def test_the_live_gain_follows_an_envelope_the_same_for_any_block_size() -> None:
    sr = 48000
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(sr * 3) * 0.003).astype(np.float32)
    x[sr: sr + 100] *= 20  # a loud click after a second
    outs = []
    for block in (256, 1000, 4096, x.size):
        level = LiveLevel(sr)
        outs.append(np.concatenate([level.apply(x[i: i + block])
                                    for i in range(0, x.size, block)]))
    for y in outs[1:]:
        np.testing.assert_allclose(y, outs[0], rtol=1e-6, atol=1e-9)
    y = outs[0]
    # before the click, quiet noise gets the most gain; the click itself is never
    # boosted above the target, and afterwards the envelope falls slowly
    assert _db(float(np.abs(y[:sr]).max() / np.abs(x[:sr]).max())) == pytest.approx(
        MAX_LIVE_GAIN_DB, abs=0.01)
    assert np.abs(y[sr: sr + 100]).max() <= 10 ** (TARGET_PEAK_DB / 20) * 1.0001
    level = LiveLevel(sr)
    level.apply(np.full(10, 0.1, np.float32))
    level.apply(np.zeros(sr * 4, np.float32))
    assert _db(level.envelope / 0.1) == pytest.approx(-4 * input_level.LIVE_RELEASE_DB_PER_S,
                                                      abs=0.01)
    # silence gets no gain, a loud input none either
    assert np.array_equal(LiveLevel(sr).apply(np.zeros(64, np.float32)), np.zeros(64))
    loud = np.full(64, 0.5, np.float32)
    assert np.array_equal(LiveLevel(sr).apply(loud), loud)


def _held_chord(seconds: float = 6.0) -> tuple[np.ndarray, float]:
    """A C major piano chord held ``seconds`` after a 0.5 s lead-in (FluidR3_GM), mono;
    and the note-off time."""
    start, end = 0.5, 0.5 + seconds
    notes = [Note(start, end, p, 90, 0) for p in (48, 52, 55, 60, 64)]
    perf = Performance(notes, [Segment(0.0, start, "N"), Segment(start, end, "C:maj"),
                               Segment(end, end + 1.5, "N")], end + 1.5)
    return synth().render(perf, {0: 0}).mean(axis=1), end


def _named_until(analysis: runtime.Analysis, label: str) -> float:
    return max((s.end for s in analysis.segments if s.label == label), default=0.0)


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_a_quiet_held_chord_is_named_until_its_release(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio, off = _held_chord()
    quiet = _at_peak(audio, -30.0)
    lifted = runtime.analyze(quiet, RATE)
    assert _named_until(lifted, "C:maj") >= off - 0.3
    # the same recording at the model's level gives the same chords
    level = runtime.analyze(_at_peak(audio, TARGET_PEAK_DB), RATE)
    assert [s.label for s in lifted.segments] == [s.label for s in level.segments]
    # a file is read twice (its peak first): the same answer as the array
    path = tmp_path / "quiet.wav"
    sf.write(path, quiet, RATE, subtype="FLOAT")
    from_file = runtime.analyze_file(path)
    assert [(s.label, round(s.end, 3)) for s in from_file.segments] == [
        (s.label, round(s.end, 3)) for s in lifted.segments]
    # without the lift the model takes the decaying chord for no-chord early
    monkeypatch.setattr(input_level, "MAX_FILE_GAIN_DB", 0.0)
    assert _named_until(runtime.analyze(quiet, RATE), "C:maj") < off - 1.0


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_a_soft_passage_of_a_loud_recording_is_lifted(monkeypatch: pytest.MonkeyPatch) -> None:
    audio, perf = rendered(repeats=4, texture="hold")
    x = _at_peak(audio.mean(axis=1), -1.0)
    half = x.size // 2
    x[half:] *= 10 ** (-35 / 20)
    # from PASSAGE_S after the loud half, the soft half is heard at the model's level
    t0 = half / RATE + input_level.PASSAGE_S
    ref = [(max(s.start, t0), s.end, s.label) for s in perf.segments if s.end > t0]
    assert majmin_share(ref, segment_at(runtime.analyze(x, RATE).segments)) >= 0.95
    monkeypatch.setattr(input_level, "MAX_FILE_GAIN_DB", 0.0)
    assert majmin_share(ref, segment_at(runtime.analyze(x, RATE).segments)) < 0.7  # 0.49


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_a_quiet_live_input_is_lifted_and_recognised() -> None:
    audio, perf = rendered()
    quiet = _at_peak(audio, -30.0)
    shown, rec = live_display(quiet)
    assert _db(rec._level.gain) == pytest.approx(MAX_LIVE_GAIN_DB)
    ref = [(seg.start, seg.end, seg.label) for seg in perf.segments]
    assert majmin_share(ref, shown_at(shown)) >= 0.8
