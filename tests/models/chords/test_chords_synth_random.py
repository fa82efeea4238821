"""The random-timbre synthesizer (a training family of our own): notes sound at their
pitch and time, a clip's seed fixes its instruments and another seed changes them,
organs sound the sub-octave drawbar below the written note, and the set that uses it
keeps to training programs and renders through the pool."""

from __future__ import annotations

import numpy as np
import pytest

from models.chords import manifest as mf
from models.chords import soundfonts as sfs
from models.chords.performance import BASS_CH, DRUM_CH, Note, Performance, Segment
from models.chords.render import SynthPool, render_clip
from models.chords.synth_random import KINDS, RandomTimbreSynth, draw_timbre

RATE = 22050


def _perf(notes: list[Note], duration: float) -> Performance:
    return Performance(notes, [Segment(0.0, duration, "N")], duration)


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / RATE), spec


def _level_at(x: np.ndarray, hz: float) -> float:
    freqs, spec = _spectrum(x)
    band = (freqs > hz * 0.985) & (freqs < hz * 1.015)
    return float(spec[band].max())


@pytest.mark.parametrize("category", ["guitar", "piano", "electric_piano", "organ",
                                      "strings", "pad", "mallet"])
def test_a_note_sounds_at_its_pitch_and_time(category: str) -> None:
    synth = RandomTimbreSynth(RATE)
    note = Note(0.5, 1.7, 57, 100, 0)  # A3, 220 Hz
    for seed in range(3):
        out = synth.render(_perf([note], 2.5), {0: 0}, seed=seed, category=category)
        assert out.shape == (round(2.5 * RATE), 2) and out.dtype == np.float32
        assert np.array_equal(out[:, 0], out[:, 1]) and np.isfinite(out).all()
        mono = out[:, 0]
        assert not mono[: round(0.5 * RATE) - 1].any()  # nothing before the note-on
        body = mono[round(0.55 * RATE): round(1.05 * RATE)]
        assert np.abs(body).max() > 0.01
        # the note's own pitch class stands out: 220 Hz or one of its octaves is the
        # strongest partial among the semitones around it
        octaves = [_level_at(body, 220.0 * 2**o) for o in (-1, 0, 1, 2)]
        others = [_level_at(body, 220.0 * 2 ** (s / 12)) for s in (1, 2, 3, -1, -2, -3)]
        assert max(octaves) > 3 * max(others), (category, seed)
        # silent again within the release (sustained kinds) or the decay (struck ones)
        assert np.abs(mono[round(2.45 * RATE):]).max() < 0.05 * np.abs(body).max()


def test_a_seed_fixes_the_instruments_and_another_seed_changes_them() -> None:
    synth = RandomTimbreSynth(RATE)
    perf = _perf([Note(0.1, 0.9, 60, 90, 0), Note(0.1, 0.9, 64, 90, 0),
                  Note(0.1, 0.9, 36, 90, BASS_CH)], 1.2)
    a = synth.render(perf, {0: 25, BASS_CH: 33}, seed=5, category="guitar")
    b = synth.render(perf, {0: 25, BASS_CH: 33}, seed=5, category="guitar")
    c = synth.render(perf, {0: 25, BASS_CH: 33}, seed=6, category="guitar")
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    # detune moves every partial by the cents asked for
    tone = _perf([Note(0.0, 1.0, 69, 100, 0)], 1.0)
    sharp = synth.render(tone, {0: 19}, 40.0, seed=1, category="strings")[:, 0]
    assert _level_at(sharp, 440 * 2 ** (40 / 1200)) > 3 * _level_at(sharp, 440.0 * 0.97)


def test_drums_stay_silent_and_notes_past_the_end_are_cut() -> None:
    synth = RandomTimbreSynth(RATE)
    drums = synth.render(_perf([Note(0.1, 0.5, 36, 100, DRUM_CH)], 1.0), {DRUM_CH: 0})
    assert not drums.any()
    late = synth.render(_perf([Note(0.8, 3.0, 57, 100, 0)], 1.0), {0: 0}, seed=2)
    assert late.shape[0] == RATE and np.abs(late).max() > 0.01


def test_organs_can_sound_a_sub_octave_below_the_written_note() -> None:
    rng = np.random.default_rng(0)
    subs = 0
    for _ in range(40):
        t = draw_timbre("organ", rng)
        # the 16' or the 8' leads: within two drawbar steps (6 dB) of the loudest
        assert max(t.drawbars[0], t.drawbars[2]) >= t.drawbars.max() * 10 ** (-6.1 / 20)
        subs += t.drawbars[0] > t.drawbars[2]
    assert 5 < subs < 35  # sometimes, not always: the bass stays the written note
    for kind in KINDS:  # every kind draws without error
        draw_timbre(kind, rng)
    with pytest.raises(ValueError):
        draw_timbre("theremin", rng)


def test_the_synth_set_keeps_to_training_programs_and_renders_through_the_pool() -> None:
    data = mf.build("train_synth", 40)
    assert data["split"] == "train" and set(data["soundfonts"]) == {"RandomTimbre"}
    heldout = {p for pools in sfs.PROGRAMS.values() for p in pools["heldout"]}
    for clip in data["clips"]:
        assert clip["soundfont"] == "RandomTimbre"
        assert str(DRUM_CH) not in clip["programs"]
        assert not set(clip["programs"].values()) & heldout
    assert not {c["seed"] for c in data["clips"]} & {
        c["seed"] for c in mf.build("train_tonejs", 40)["clips"]}
    assert sfs.split_of_soundfont("RandomTimbre") == "train"
    assert sfs.SOUNDFONTS_BY_NAME["RandomTimbre"].installed
    pool = SynthPool(RATE)
    try:
        entry = data["clips"][0]
        audio, perf = render_clip(entry, pool)
        again, _ = render_clip(entry, pool)
    finally:
        pool.close()
    assert audio.ndim == 1 and audio.size == round(perf.duration * RATE)
    assert np.array_equal(audio, again) and np.abs(audio).max() > 0.05
