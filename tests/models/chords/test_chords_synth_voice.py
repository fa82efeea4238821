"""The sung tune (synth_voice.py, Csound's FOF) and the sets that carry it."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
from chords_support import CI_SOUNDFONT, RATE

from models.chords import manifest as mf
from models.chords.melody import LEAD_CH, MELODY_STREAM, lead_line
from models.chords.performance import Note
from models.chords.render import SynthPool, performance_of, render_clip
from models.chords.synth_voice import (
    FORMANTS,
    HELD_OUT_VOICES,
    TRAIN_VOICES,
    Voice,
    VoiceSynth,
    mix,
    score,
)


def _tune(seed: int = 3) -> list[Note]:
    entry = mf.build("valid", seed + 1)["clips"][seed]
    return lead_line(mf.progression_of(entry), mf.style_of(entry),
                     np.random.default_rng([int(entry["seed"]), MELODY_STREAM]))


def _sung_pitches(audio: np.ndarray, notes: list[Note], seconds: float) -> np.ndarray:
    """Median sung pitch minus written pitch (semitones) per note, by pYIN."""
    f0, voiced, _ = librosa.pyin(audio[: int(seconds * RATE)], fmin=70, fmax=1200, sr=RATE,
                                 hop_length=256)
    t = librosa.times_like(f0, sr=RATE, hop_length=256)
    errors = []
    for n in notes:
        if n.end > seconds:
            break
        sel = (t > n.start + 0.12) & (t < n.end - 0.02) & voiced
        if sel.sum() >= 3:
            errors.append(float(np.median(librosa.hz_to_midi(f0[sel]))) - n.pitch)
    return np.array(errors)


@pytest.mark.parametrize(("kind", "octave"), [("alto", 0), ("bass", -12)])
def test_the_voice_sings_the_written_notes(kind: str, octave: int) -> None:
    notes = _tune()
    audio = VoiceSynth(RATE).render(notes, Voice(kind=kind), 12.0, seed=1)
    assert audio.shape == (12 * RATE,) and np.isfinite(audio).all()
    errors = _sung_pitches(audio, notes, 12.0) - octave
    # Vibrato and glides move the pitch; its median stays on the note.
    assert len(errors) >= 10 and np.mean(np.abs(errors) < 0.5) > 0.9


def test_a_detuned_band_gets_a_detuned_singer() -> None:
    notes = _tune()
    audio = VoiceSynth(RATE).render(notes, Voice(kind="alto"), 12.0, seed=1, detune_cents=40)
    assert abs(float(np.median(_sung_pitches(audio, notes, 12.0))) - 0.4) < 0.15


def test_vowels_change_the_spectrum_not_the_pitch() -> None:
    note = [Note(0.2, 1.8, 64, 100, LEAD_CH)]
    synth, tilt_db = VoiceSynth(RATE), []
    for vowel in ("a", "i"):
        table = {k: FORMANTS["soprano"][vowel] for k in FORMANTS["soprano"]}
        voice_formants = {**FORMANTS, "soprano": table}
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("models.chords.synth_voice.FORMANTS", voice_formants)
            audio = synth.render(note, Voice(kind="soprano", vibrato_cents=0.0), 2.0, seed=1)
        held = audio[int(0.6 * RATE): int(0.6 * RATE) + RATE // 2]
        spectrum = np.abs(np.fft.rfft(held))
        freqs = np.fft.rfftfreq(len(held), 1 / RATE)
        second = spectrum[(freqs > 1900) & (freqs < 2400)] ** 2
        first = spectrum[(freqs > 600) & (freqs < 1300)] ** 2
        tilt_db.append(10 * np.log10(second.sum() / first.sum()))
        assert abs(float(np.median(_sung_pitches(audio, note, 2.0)))) < 0.3
    # "i" has its second formant at 2.1 kHz, "a" its first two at 0.8 and 1.15 kHz.
    assert tilt_db[1] > tilt_db[0] + 30


def test_the_score_is_the_same_every_time_and_glides_when_legato() -> None:
    notes = [Note(0.5, 1.0, 64, 90, LEAD_CH), Note(1.02, 1.5, 67, 90, LEAD_CH),
             Note(2.5, 3.0, 60, 90, LEAD_CH)]
    a = score(notes, Voice(), np.random.default_rng(4))
    assert a == score(notes, Voice(), np.random.default_rng(4))
    rows = [line.split() for line in a.splitlines()]
    assert len(rows) == 3 and all(len(r) == 1 + 45 for r in rows)
    hz = [float(r[5]) for r in rows]
    starts = [float(r[6]) for r in rows]
    assert starts[1] == pytest.approx(hz[0])  # sung on one breath: a glide up
    assert starts[2] == pytest.approx(hz[2])  # after a rest: a fresh attack


def test_the_mix_puts_the_voice_at_its_level_over_the_band() -> None:
    rng = np.random.default_rng(0)
    band = (0.1 * rng.standard_normal((RATE, 2))).astype(np.float32)
    sung = np.zeros(RATE, np.float32)
    sung[RATE // 2:] = np.sin(np.arange(RATE // 2) * 0.05)
    out = mix(band, sung, 6.0)
    voice = (out - band).mean(axis=1)[RATE // 2:]
    band_rms = np.sqrt(np.mean(band.mean(axis=1) ** 2))
    assert 20 * np.log10(np.sqrt(np.mean(voice**2)) / band_rms) == pytest.approx(6.0, abs=0.1)
    assert np.array_equal(mix(band, np.zeros(RATE, np.float32), 6.0), band)


def test_a_voice_set_sings_over_its_sources_band_with_held_out_voices() -> None:
    valid, voice = mf.build("valid", 6), mf.build("valid_voice", 6)
    assert voice["split"] == "valid" and voice["set"] == "valid_voice"
    kinds = set()
    for a, b in zip(valid["clips"], voice["clips"], strict=True):
        assert b["id"].startswith("valid_voice-") and b["seed"] == a["seed"]
        assert {k: v for k, v in b.items() if k not in ("id", "voice")} == \
            {k: v for k, v in a.items() if k != "id"}
        assert str(LEAD_CH) not in b["programs"]  # sung, not played
        kinds.add(b["voice"]["kind"])
        assert performance_of(a) == performance_of(b)
    assert kinds == set(HELD_OUT_VOICES)


def test_the_voice_training_set_sings_with_training_voices_only() -> None:
    data = mf.build("train_voice", 40)
    voices = [Voice.from_json(c["voice"]) for c in data["clips"]]
    assert {v.kind for v in voices} == set(TRAIN_VOICES)
    assert not {v.kind for v in voices} & set(HELD_OUT_VOICES)
    assert len({v.formant_scale for v in voices}) > 30
    # The draw comes last: the band is train_wide's recipe, its streams untouched.
    assert all("voice" not in c for c in mf.build("train_wide", 3)["clips"])


def test_render_clip_adds_the_sung_tune_to_the_band() -> None:
    entry = next(c for c in mf.build("train_voice", 40)["clips"]
                 if c["soundfont"] == CI_SOUNDFONT)
    pool = SynthPool(RATE, fresh=True)
    try:
        with_voice, perf = render_clip(entry, pool, with_augment=False)
        band, _ = render_clip({k: v for k, v in entry.items() if k != "voice"}, pool,
                              with_augment=False)
    finally:
        pool.close()
    assert perf.segments == performance_of(entry).segments
    voice = with_voice - band
    sung = np.abs(voice) > 1e-4
    level = 20 * np.log10(np.sqrt(np.mean(voice[sung] ** 2))
                          / np.sqrt(np.mean(band[np.abs(band) > 1e-4] ** 2)))
    # The level is set against the stereo band's mean; mono within a dB or so.
    assert level == pytest.approx(entry["voice"]["level_db"], abs=1.5)


def test_an_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown voice kind"):
        Voice.from_json({"kind": "countertenor"})
    assert dataclasses.asdict(Voice.from_json({"kind": "bass"}))["kind"] == "bass"


@pytest.mark.parametrize("name", sorted(mf.VOICE_EVAL_SETS))
def test_voice_sets_are_in_the_set_names(name: str) -> None:
    assert name in mf.set_names()
