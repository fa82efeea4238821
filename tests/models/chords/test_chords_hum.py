"""Mains hum: found (50 and 60 Hz, alone and under music, never in clean music, noise
or silence), notched out without touching the notes, and the analyzer and the live
display reading chords, not hum."""

from __future__ import annotations

import numpy as np
import pytest
from chords_runtime_support import (
    RATE,
    REAL_MODEL_REASON,
    is_real_model,
    live_display,
    mains_hum,
    majmin_share,
    rendered,
    segment_at,
    shown_at,
)

from models.chords import hum, runtime
from models.chords.hum import Hum, HumDetector, HumFilter, LiveHumRemover


def _db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-30))


def _db_below(x: np.ndarray, hz: float) -> float:
    """The level of ``x`` below ``hz`` (where the notches are), in dB."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    keep = np.fft.rfftfreq(x.size, 1 / RATE) < hz
    return float(10 * np.log10(spec[keep].sum() / x.size ** 2 * 2 + 1e-30))


def _song(peak_db: float | None = None) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    audio, perf = rendered()
    x = audio.mean(axis=1)
    if peak_db is not None:
        x = x / np.abs(x).max() * 10 ** (peak_db / 20)
    return x.astype(np.float32), [(s.start, s.end, s.label) for s in perf.segments]


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_alone_is_found_with_its_harmonics(mains: float) -> None:
    found = hum.detect(mains_hum(10 * RATE, RATE, mains, -50.0), RATE)
    assert found is not None
    assert found.mains_hz == pytest.approx(mains, abs=0.04)
    k = {round(f / found.mains_hz) for f in found.harmonics}
    assert {1, 2, 3, 4, 5} <= k and len(k) >= 20


@pytest.mark.parametrize(("mains", "hum_db"), [(50.0, -30.0), (60.0, -40.0)])
def test_hum_under_music_is_found(mains: float, hum_db: float) -> None:
    x, _ = _song()
    found = hum.detect(x + mains_hum(x.size, RATE, mains, hum_db), RATE)
    assert found is not None and found.mains_hz == pytest.approx(mains, abs=0.04)


def test_music_noise_and_silence_have_no_hum() -> None:
    x, _ = _song()
    assert hum.detect(x, RATE) is None
    for template, program in (("jazz/ii_V_I", 24), ("folk/drone", 19), ("rock/blues12", 33)):
        audio, _ = rendered(template=template, program=program)
        assert hum.detect(audio.mean(axis=1), RATE) is None
    rng = np.random.default_rng(0)
    assert hum.detect(0.1 * rng.standard_normal(10 * RATE).astype(np.float32), RATE) is None
    assert hum.detect(np.zeros(10 * RATE, np.float32), RATE) is None
    assert hum.detect(np.zeros(0, np.float32), RATE) is None
    # too short to tell (under two spectra, 2.8 s)
    assert hum.detect(mains_hum(2 * RATE, RATE), RATE) is None


def test_any_block_size_and_damaged_samples_give_the_same_answer() -> None:
    x = mains_hum(8 * RATE, RATE, 60.0, -40.0)
    whole = hum.detect(x, RATE)
    det = HumDetector(RATE)
    for i in range(0, x.size, 777):
        det.push(x[i: i + 777])
    assert det.hum == whole
    x[1000:1100] = np.nan
    x[5000] = np.inf
    assert hum.detect(x, RATE) is not None
    # any sample rate (resampled), the Nyquist frequency bounding the notches
    for sr in (8000, 192000):
        import soxr

        y = soxr.resample(mains_hum(8 * RATE, RATE), RATE, sr)
        found = hum.detect(y, sr)
        assert found is not None and found.mains_hz == pytest.approx(50.0, abs=0.04)
        HumFilter(found, sr).apply(y.astype(np.float32))


def test_the_notches_take_the_hum_out_and_leave_the_notes() -> None:
    found = Hum(50.0, tuple(50.0 * k for k in range(1, 41)))
    settled = slice(2 * RATE, None)  # the notches ring in for about a second
    # below 2 kHz, where the 40 notches are; a steady mains, and one that wanders by
    # 0.03 Hz (the k-th harmonic by k times as much, the notches' widths grow less)
    for wander, down in ((0.0, 35.0), (0.03, 20.0)):
        h = mains_hum(6 * RATE, RATE, 50.0, -20.0, wander=wander)
        notch = HumFilter(found, RATE)
        out = np.concatenate([notch.apply(h[i: i + 1024]) for i in range(0, h.size, 1024)])
        assert _db_below(out[settled], hum.F_MAX) < _db_below(h[settled], hum.F_MAX) - down
    # a chord in tune (C E G, a fifth and an octave, 6 partials each): not touched
    t = np.arange(4 * RATE) / RATE
    chord = sum(np.sin(2 * np.pi * f * p * t) / p
                for f in (130.81, 261.63, 329.63, 392.0) for p in range(1, 7))
    chord = (0.1 * chord / np.abs(chord).max()).astype(np.float32)
    kept = HumFilter(found, RATE).apply(chord)
    assert abs(_db(kept[RATE:]) - _db(chord[RATE:])) < 0.5
    # no harmonics, no change
    assert HumFilter(Hum(50.0, ()), RATE).apply(chord) is chord


@pytest.mark.parametrize("block", [1024, 4 * RATE])
def test_hum_there_from_the_first_sample_is_notched_from_the_first_sample(
        block: int) -> None:
    # Started from rest, the notches let it through for about a second (-3 dB in the
    # first quarter second); primed by its first block, they are settled at once. (A
    # first block shorter than one mains period, 20 ms, cannot prime them.)
    for mains in (50.0, 60.0):
        h = mains_hum(4 * RATE, RATE, mains, -20.0, wander=0.0)
        notch = HumFilter(Hum(mains, tuple(mains * k for k in range(1, 2000 // int(mains)
                                                                       + 1))), RATE)
        out = np.concatenate([notch.apply(h[i: i + block]) for i in range(0, h.size, block)])
        quarter = RATE // 4
        assert _db_below(out[:quarter], hum.F_MAX) < _db_below(h[:quarter], hum.F_MAX) - 30
        assert _db(out[:quarter]) < _db(out[2 * RATE:]) + 3


def test_the_tuning_is_measured_without_the_hum() -> None:
    x, _ = _song()
    y = x + mains_hum(x.size, RATE, 50.0, -30.0)
    first = runtime._first_pass([y], float(RATE))
    assert first.hum is not None
    # the hum's lines sit 35 cents sharp of G and D: they pulled the estimate
    assert first.tuning_cents == pytest.approx(0.0, abs=2.0)
    assert runtime._first_pass([mains_hum(8 * RATE, RATE, 50.0, -30.0)],
                               float(RATE)).tuning_cents is None


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_hum_alone_is_no_chord(monkeypatch: pytest.MonkeyPatch) -> None:
    h = mains_hum(8 * RATE, RATE, 50.0, -50.0)
    a = runtime.analyze(h, RATE)
    assert [s.label for s in a.segments] == ["N"] and a.tuning_cents is None
    assert a.hum_hz == pytest.approx(50.0, abs=0.04)
    assert runtime.analyze(_song()[0], RATE).hum_hz is None
    monkeypatch.setattr(hum, "PRESENT", 1.1)  # no hum is ever found
    # unnotched, the 50 Hz series (G1 and its harmonics) reads as a chord on G
    read = {s.label for s in runtime.analyze(h, RATE).segments} - {"N"}
    assert read and {label.split(":")[0] for label in read} == {"G"}


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
@pytest.mark.parametrize(("mains", "hum_db", "peak_db", "before"), [
    (50.0, -30.0, None, 0.903), (60.0, -30.0, None, 0.835), (50.0, -50.0, -30.0, 0.932)])
def test_chords_are_read_through_hum(monkeypatch: pytest.MonkeyPatch, mains: float,
                                     hum_db: float, peak_db: float | None,
                                     before: float) -> None:
    x, ref = _song(peak_db)
    y = x + mains_hum(x.size, RATE, mains, hum_db)
    assert majmin_share(ref, segment_at(runtime.analyze(y, RATE).segments)) >= 0.97
    monkeypatch.setattr(hum, "PRESENT", 1.1)
    assert majmin_share(ref, segment_at(runtime.analyze(y, RATE).segments)) < 0.95


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_the_live_display_turns_from_hum_to_no_chord() -> None:
    shown, rec = live_display(mains_hum(8 * RATE, RATE, 50.0, -50.0))
    assert rec.current.is_no_chord and shown[-1][0] < 4.0
    assert rec._dehum.hum is not None


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_the_live_display_reads_chords_through_hum(monkeypatch: pytest.MonkeyPatch) -> None:
    x, ref = _song()
    y = x + mains_hum(x.size, RATE, 50.0, -30.0)
    after = [(max(s, 4.0), e, lab) for s, e, lab in ref if e > 4.0]  # hum found by then
    assert majmin_share(after, shown_at(live_display(y)[0])) >= 0.92  # 0.945
    monkeypatch.setattr(hum, "PRESENT", 1.1)
    assert majmin_share(after, shown_at(live_display(y)[0])) < 0.88  # 0.815


def test_live_notches_grow_and_reset() -> None:
    remover = LiveHumRemover(RATE)
    x = mains_hum(10 * RATE, RATE, 50.0, -40.0)
    out = np.concatenate([remover.apply(x[i: i + 512]) for i in range(0, x.size, 512)])
    assert remover.hum is not None and remover.hum.mains_hz == pytest.approx(50.0, abs=0.04)
    assert _db(out[-3 * RATE:]) < _db(x[-3 * RATE:]) - 20.0
    have = set(remover.hum.harmonics)
    # silence: nothing new is found, and what was found stays notched
    for _ in range(10):
        remover.apply(np.zeros(RATE, np.float32))
    assert remover.hum is not None and have <= set(remover.hum.harmonics)
    remover.reset()
    assert remover.hum is None
