"""Recorded-note rendering (the fourth training family): note files are found by name,
decoded from their onset, played at the pitch, time and level the performance asks
for, and the set that uses them keeps to training programs. The notes here are
generated tones written as MP3 and FLAC, so the same decoders as for the npm
recordings run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.chords import manifest as mf
from models.chords import soundfonts as sfs
from models.chords.performance import DRUM_CH, Note, Performance, Segment
from models.chords.render import SynthPool
from models.chords.synth_offline import SoundFontLoadError
from models.chords.synth_sampler import PEAK, SampleSynth, load_sample_set, midi_of

RATE = 22050


def _tone(midi: int, seconds: float = 2.0, rate: int = 44100, lead: float = 0.1
          ) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    hz = 440.0 * 2 ** ((midi - 69) / 12)
    x = 0.3 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 1.5)
    return np.concatenate([np.zeros(round(lead * rate)), x]).astype(np.float32)


@pytest.fixture(scope="module")
def notes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notes")
    guitar = root / "guitar"
    guitar.mkdir()
    sf.write(guitar / "A3.mp3", _tone(57), 44100, format="MP3")
    sf.write(guitar / "E4.flac", _tone(64), 44100)
    sf.write(guitar / "F2 v2.flac", _tone(41), 44100)  # a variant: not a note name
    (guitar / "README.md").write_text("not a note")
    bass = root / "bass"
    bass.mkdir()
    sf.write(bass / "E2.flac", _tone(40), 44100)
    return root


def _perf(notes: list[Note], duration: float) -> Performance:
    return Performance(notes, [Segment(0.0, duration, "N")], duration)


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1: k + 2] + 1e-12)
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / x.size)


def test_note_names_map_to_midi_pitches() -> None:
    assert midi_of("C4") == 60 and midi_of("A4") == 69
    assert midi_of("Cs3") == 49 and midi_of("C#3") == 49 and midi_of("Bb2") == 46
    assert midi_of("F2 v2") is None and midi_of("README") is None and midi_of("H2") is None


def test_a_sample_set_loads_note_files_from_their_onset(notes_root: Path) -> None:
    ss = load_sample_set([notes_root / "guitar"], RATE)
    assert ss.pitches.tolist() == [57, 64]  # the variant and the README are left out
    for s in ss.samples:
        assert s.dtype == np.float32
        assert np.abs(s).max() == pytest.approx(PEAK, rel=1e-3)
        # the 0.1 s of leading silence is gone: the tone starts within a few ms
        first = int(np.argmax(np.abs(s) > 0.01 * PEAK))
        assert first < round(0.01 * RATE)
    assert ss.nearest(60) == 0 and ss.nearest(62) == 1 and ss.nearest(30) == 0
    merged = load_sample_set([notes_root / "bass", notes_root / "guitar"], RATE)
    assert merged.pitches.tolist() == [40, 57, 64]


def test_notes_sound_at_their_pitch_time_and_level(notes_root: Path) -> None:
    synth = SampleSynth(notes_root, {25: ("guitar",), 33: ("bass",)}, RATE)
    note = Note(0.5, 1.5, 60, 100, 0)  # C4, three semitones above the A3 recording
    out = synth.render(_perf([note], 2.5), {0: 25})
    assert out.shape == (round(2.5 * RATE), 2) and out.dtype == np.float32
    assert np.array_equal(out[:, 0], out[:, 1])
    mono = out[:, 0]
    assert np.abs(mono[: round(0.49 * RATE)]).max() == 0.0  # nothing before the note-on
    body = mono[round(0.6 * RATE): round(1.4 * RATE)]
    assert _peak_hz(body) == pytest.approx(261.63, rel=0.003)
    # released: -60 dB within the release time after the note-off
    after = mono[round(1.5 * RATE + 0.13 * RATE):]
    assert np.abs(after).max() < 1e-3 * np.abs(body).max()
    # detune moves every note by the cents asked for
    sharp = synth.render(_perf([note], 2.5), {0: 25}, detune_cents=40.0)[:, 0]
    assert _peak_hz(sharp[round(0.6 * RATE): round(1.4 * RATE)]) == pytest.approx(
        261.63 * 2 ** (40 / 1200), rel=0.003)
    # a softer note is quieter, by the velocity curve
    soft = synth.render(_perf([Note(0.5, 1.5, 60, 50, 0)], 2.5), {0: 25})[:, 0]
    ratio = np.abs(soft).max() / np.abs(mono).max()
    assert ratio == pytest.approx((50 / 100) ** 1.5, rel=0.02)


def test_channels_use_their_programs_and_drums_stay_silent(notes_root: Path) -> None:
    synth = SampleSynth(notes_root, {25: ("guitar",), 33: ("bass",)}, RATE)
    notes = [Note(0.1, 1.0, 40, 100, 1), Note(0.1, 1.0, 36, 100, DRUM_CH)]
    out = synth.render(_perf(notes, 1.2), {1: 33, DRUM_CH: 0})[:, 0]
    assert _peak_hz(out[round(0.2 * RATE): round(0.9 * RATE)]) == pytest.approx(
        82.41, rel=0.005)
    drums_only = synth.render(_perf(notes[1:], 1.2), {DRUM_CH: 0})[:, 0]
    assert not drums_only.any()
    # a note past the end of the performance is cut at its end
    late = synth.render(_perf([Note(1.0, 3.0, 57, 100, 0)], 1.2), {0: 25})
    assert late.shape[0] == round(1.2 * RATE) and np.abs(late).max() > 0.1


def test_missing_or_broken_recordings_are_clear_errors(notes_root: Path,
                                                        tmp_path: Path) -> None:
    with pytest.raises(SoundFontLoadError, match="not installed"):
        SampleSynth(tmp_path / "nowhere", {25: ("guitar",)}, RATE)
    synth = SampleSynth(notes_root, {25: ("guitar",), 26: ("missing",)}, RATE)
    with pytest.raises(SoundFontLoadError, match="no program 40"):
        synth.render(_perf([Note(0.1, 0.5, 60, 100, 0)], 1.0), {0: 40})
    with pytest.raises(SoundFontLoadError, match="not installed"):
        synth.render(_perf([Note(0.1, 0.5, 60, 100, 0)], 1.0), {0: 26})
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "C4.mp3").write_bytes(b"ID3 not really an mp3" * 10)
    with pytest.raises(SoundFontLoadError, match=r"C4\.mp3"):
        load_sample_set([broken], RATE)
    silent = tmp_path / "silent"
    silent.mkdir()
    sf.write(silent / "C4.flac", np.zeros(1000, dtype=np.float32), RATE)
    with pytest.raises(SoundFontLoadError, match="silent"):
        load_sample_set([silent], RATE)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SoundFontLoadError, match="no recorded notes"):
        load_sample_set([empty], RATE)


def test_the_tonejs_set_draws_mapped_training_programs_mostly_guitar() -> None:
    data = mf.build("train_tonejs", 120)
    assert data["split"] == "train" and set(data["soundfonts"]) == {"ToneJS"}
    heldout = {p for pools in sfs.PROGRAMS.values() for p in pools["heldout"]}
    cats = [c["category"] for c in data["clips"]]
    assert max(set(cats), key=cats.count) == "guitar"
    assert cats.count("guitar") > len(cats) / 2
    for clip in data["clips"]:
        assert clip["soundfont"] == "ToneJS"
        assert str(DRUM_CH) not in clip["programs"]  # recordings hold no drum kit
        assert not clip["style"]["drums"]
        for ch, prog in clip["programs"].items():
            assert prog in sfs.TONEJS_INSTRUMENTS and prog not in heldout
            cat = clip["category"] if ch == "0" else "bass"
            assert prog in sfs.program_pool(cat, "train", wide=True)
    assert not {c["seed"] for c in data["clips"]} & {
        c["seed"] for c in mf.build("train_wide", 120)["clips"]}
    assert sfs.split_of_soundfont("ToneJS") == "train"
    assert "ToneJS" not in {sf.name for sf in sfs.soundfonts_for("train")}


def test_the_pool_renders_a_sampler_clip(notes_root: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The pool builds the sampler from the registry: point the registry at the notes.
    import dataclasses

    from models.chords import render

    font = dataclasses.replace(sfs.SOUNDFONTS_BY_NAME["ToneJS"], path=str(notes_root))
    monkeypatch.setitem(render.SOUNDFONTS_BY_NAME, "ToneJS", font)
    monkeypatch.setattr(render, "TONEJS_INSTRUMENTS", {25: ("guitar",), 33: ("bass",)})
    pool = SynthPool(RATE)
    try:
        synth = pool.get("ToneJS")
        assert isinstance(synth, SampleSynth)
        out = synth.render(_perf([Note(0.1, 0.6, 57, 100, 0)], 1.0), {0: 25})
    finally:
        pool.close()
    assert np.abs(out).max() > 0.1
