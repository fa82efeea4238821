"""The tuning estimate (synthetic tones, FluidSynth renders, noise) and the analyzer
reading a detuned recording as if in tune: the right chords at the right times, the
tuning in its JSON."""

from __future__ import annotations

import numpy as np
import pytest
from chords_runtime_support import (
    RATE,
    REAL_MODEL_REASON,
    is_real_model,
    live_display,
    majmin_share,
    segment_at,
    shown_at,
)
from chords_support import synth

from models.chords import live, runtime, tuning
from models.chords.performance import PlayStyle, perform
from models.chords.progressions import from_template
from models.chords.tuning import RecentTuning, TuningEstimator


def _tones(cents: float, sr: int = 22050, seconds: float = 4.0) -> np.ndarray:
    """C major triads and a bass line, 6 harmonics each, ``cents`` off A = 440 Hz."""
    t = np.arange(int(sr * seconds)) / sr
    out = np.zeros_like(t)
    for midi in (48, 60, 64, 67, 71, 74):
        f0 = 440 * 2 ** ((midi - 69 + cents / 100) / 12)
        for h in range(1, 7):
            if f0 * h < sr / 2:
                out += np.sin(2 * np.pi * f0 * h * t + midi) / h
    return (0.1 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize("cents", [-45.0, -20.0, 0.0, 7.0, 33.0, 45.0])
def test_the_tuning_of_harmonic_tones(cents: float) -> None:
    est = TuningEstimator(22050)
    est.push(_tones(cents))
    assert est.cents == pytest.approx(cents, abs=2.0) and est.strength > 0.8


def test_any_block_size_and_rate_give_the_same_estimate() -> None:
    x = _tones(21.0)
    whole = tuning.estimate(x, 22050)
    est = TuningEstimator(22050)
    for i in range(0, x.size, 1000):
        est.push(x[i: i + 1000])
    assert est.cents == pytest.approx(whole, abs=1e-6)
    import soxr

    assert tuning.estimate(soxr.resample(x, 22050, 48000), 48000) == pytest.approx(
        whole, abs=1.5)


def test_noise_silence_and_nothing_have_no_tuning() -> None:
    rng = np.random.default_rng(0)
    assert tuning.estimate(rng.standard_normal(22050 * 4).astype(np.float32), 22050) is None
    assert tuning.estimate(np.zeros(22050 * 4, np.float32), 22050) is None
    assert tuning.estimate(np.zeros(0, np.float32), 22050) is None
    x = _tones(0.0)
    x[100:200] = np.nan
    assert tuning.estimate(x, 22050) == pytest.approx(0.0, abs=2.0)


def _detuned(cents: float) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    prog = from_template("pop/axis", 2, repeats=2)
    style = PlayStyle(texture="strum", tempo=100.0, lead_in=1.0, tail=1.0, humanize_ms=0)
    perf = perform(prog, style, np.random.default_rng(0))
    audio = synth().render(perf, {0: 0}, detune_cents=cents).mean(axis=1)
    return audio, [(s.start, s.end, s.label) for s in perf.segments]


@pytest.mark.parametrize("cents", [-40.0, 0.0, 40.0])
def test_a_fluidsynth_render_s_tuning(cents: float) -> None:
    audio, _ = _detuned(cents)
    assert tuning.estimate(audio, RATE) == pytest.approx(cents, abs=6.0)


def _majmin(ref: list[tuple[float, float, str]], analysis: runtime.Analysis) -> float:
    return majmin_share(ref, segment_at(analysis.segments))


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_a_recording_played_sharp_is_read_in_tune(monkeypatch: pytest.MonkeyPatch) -> None:
    audio, ref = _detuned(48.0)
    a = runtime.analyze(audio, RATE)
    assert a.tuning_cents == pytest.approx(48.0, abs=4.0)
    assert _majmin(ref, a) >= 0.9
    # times are the recording's: the segments tile its duration, the changes land on
    # the reference's
    assert a.segments[-1].end == pytest.approx(audio.size / RATE)
    starts = [s.start for s in a.segments[1:]]
    for t, _, _ in ref[1:-1]:
        assert min(abs(t - s) for s in starts) < 0.15
    assert a.tempo == pytest.approx(100.0, rel=0.03) or a.tempo == pytest.approx(
        200.0, rel=0.03)
    # without the correction the model names most chords a semitone up (0.12)
    monkeypatch.setattr(tuning, "CORRECT_MIN_CENTS", 100.0)
    assert _majmin(ref, runtime.analyze(audio, RATE)) < 0.5


def test_a_recent_window_follows_a_player_who_retunes() -> None:
    est = RecentTuning(22050, window_s=6.0)
    whole = TuningEstimator(22050)
    for x in (_tones(30.0, seconds=8.0), _tones(-10.0, seconds=8.0)):
        est.push(x)
        whole.push(x)
    assert est.cents == pytest.approx(-10.0, abs=2.0)
    assert est.seconds == pytest.approx(6.0, abs=0.2)
    assert whole.cents is not None and whole.cents > 0.0  # the whole stream averages
    est.push(np.zeros(22050 * 7, np.float32))  # silence: nothing to go by
    assert est.cents is None


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_the_live_display_reads_a_sharp_player_in_tune(monkeypatch: pytest.MonkeyPatch) -> None:
    audio, ref = _detuned(48.0)
    after = [(max(s, 4.0), e, lab) for s, e, lab in ref if e > 4.0]  # tuning heard by then
    shown, rec = live_display(audio)
    assert rec.tuning_cents == pytest.approx(48.0, abs=5.0)
    assert majmin_share(after, shown_at(shown)) >= 0.95  # 0.979
    # the chords stay on the input's time line: changes where the reference has them
    changes = [t for t, _ in shown]
    for t, _, _ in after[1:]:
        assert min(abs(t - c) for c in changes) < 0.3
    # read as it comes, a semitone high
    monkeypatch.setattr(live, "CORRECT_MIN_CENTS", 100.0)
    shown, rec = live_display(audio)
    assert rec.tuning_cents == 0.0 and majmin_share(after, shown_at(shown)) < 0.5  # 0.03
    # in tune, nothing moves
    in_tune, _ = _detuned(0.0)
    monkeypatch.undo()
    assert live_display(in_tune)[1].tuning_cents == 0.0
