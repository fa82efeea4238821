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
    majmin_share,
    rendered,
    shown_at,
)
from chords_support import synth

from models.chords import input_level, runtime
from models.chords.input_level import (
    MAX_FILE_GAIN_DB,
    MAX_LIVE_GAIN_DB,
    TARGET_PEAK_DB,
    LiveLevel,
    file_gain,
    peak_of,
)
from models.chords.live import LiveRecognizer
from models.chords.performance import Note, Performance, Segment


def _db(x: float) -> float:
    return 20 * math.log10(x)


def _at_peak(x: np.ndarray, db: float) -> np.ndarray:
    return (x / np.abs(x).max() * 10 ** (db / 20)).astype(np.float32)


def test_a_quiet_file_is_lifted_to_the_target_and_a_loud_one_is_left_alone() -> None:
    assert _db(file_gain(10 ** (-30 / 20))) == pytest.approx(TARGET_PEAK_DB + 30)
    assert file_gain(10 ** (-6 / 20)) == 1.0 and file_gain(1.5) == 1.0
    assert _db(file_gain(10 ** (-80 / 20))) == pytest.approx(MAX_FILE_GAIN_DB)
    for silent in (0.0, math.nan, math.inf, -1.0):
        assert file_gain(silent) == 1.0


def test_the_peak_skips_samples_that_are_not_numbers() -> None:
    x = np.array([0.1, np.nan, -0.3, np.inf, -np.inf], np.float32)
    assert peak_of(x) == pytest.approx(0.3)
    assert peak_of(np.zeros(0)) == 0.0 and peak_of(np.full(3, np.nan)) == 0.0


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
def test_a_quiet_live_input_is_lifted_and_recognised() -> None:
    audio, perf = rendered()
    quiet = _at_peak(audio, -30.0)
    rec = LiveRecognizer(RATE)
    shown = []
    for i in range(0, quiet.shape[0], 256):
        e = rec.push(quiet[i: i + 256])
        if e is not None:
            shown.append((e.since, e.label))
    assert _db(rec._level.gain) == pytest.approx(MAX_LIVE_GAIN_DB)
    ref = [(seg.start, seg.end, seg.label) for seg in perf.segments]
    assert majmin_share(ref, shown_at(shown)) >= 0.8
