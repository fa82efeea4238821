"""TiMidity++ over FreePats (the independent validation family): notes sound where the
performance puts them, at the pitch asked for, and the set that uses it keeps to
held-out programs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from models.chords import manifest as mf
from models.chords import soundfonts as sfs
from models.chords.performance import Note, Performance, Segment
from models.chords.render import SynthPool, render_clip
from models.chords.synth_offline import SoundFontLoadError
from models.chords.synth_timidity import TimiditySynth

RATE = 22050
FREEPATS = sfs.SOUNDFONTS_BY_NAME["FreePats"]


def _perf(pitches: list[int], start: float, end: float, tail: float = 1.0,
          program_channel: int = 0) -> Performance:
    notes = [Note(start, end, p, 100, program_channel) for p in pitches]
    segs = [Segment(0.0, start, "N"), Segment(start, end, "C:maj"),
            Segment(end, end + tail, "N")]
    return Performance(notes, segs, end + tail)


@pytest.fixture(scope="module")
def synth() -> TimiditySynth:
    return TimiditySynth(Path(FREEPATS.path), RATE)


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    k = int(np.argmax(spec))
    # parabolic interpolation between bins
    a, b, c = np.log(spec[k - 1: k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / x.size


def test_freepats_is_installed_and_its_program_list_matches_the_config() -> None:
    assert FREEPATS.installed, "install the Debian packages timidity and freepats"
    text = Path(FREEPATS.path).read_text()
    bank0 = text.split("bank 0", 1)[1]
    programs = tuple(int(m) for m in re.findall(r"^\s*(\d+)\s+Tone_000/", bank0, re.M))
    assert programs == sfs.FREEPATS_PROGRAMS


def test_notes_sound_from_their_start_and_the_clip_has_the_performance_length(
        synth: TimiditySynth) -> None:
    perf = _perf([60, 64, 67], 0.5, 1.5)
    audio = synth.render(perf, {0: 0})
    assert audio.shape == (round(perf.duration * RATE), 2) and audio.dtype == np.float32
    level = np.abs(audio).max(axis=1)
    first = int(np.argmax(level > 1e-3)) / RATE
    assert 0.49 <= first <= 0.52  # no dropped lead-in silence (--preserve-silence)
    assert level[: int(0.48 * RATE)].max() < 5e-4  # 16-bit dither
    assert np.sqrt(np.mean(audio[int(0.6 * RATE): int(1.4 * RATE)] ** 2)) > 0.01
    # the same clip twice is the same audio (a fresh TiMidity process per clip)
    assert np.array_equal(audio, synth.render(perf, {0: 0}))


def test_detune_bends_the_pitch(synth: TimiditySynth) -> None:
    perf = _perf([69], 0.1, 1.6, tail=0.2)  # A4 on a church organ: a steady tone
    seg = slice(int(0.5 * RATE), int(1.5 * RATE))
    flat = synth.render(perf, {0: 19})[seg].mean(axis=1)
    sharp = synth.render(perf, {0: 19}, detune_cents=40.0)[seg].mean(axis=1)
    harmonic = _peak_hz(flat) / 440.0  # the loudest partial of an A4
    assert harmonic == pytest.approx(round(harmonic), rel=0.01)
    cents = 1200 * np.log2(_peak_hz(sharp) / _peak_hz(flat))
    assert cents == pytest.approx(40.0, abs=8.0)


def test_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SoundFontLoadError, match="freepats"):
        TimiditySynth(tmp_path / "nope.cfg", RATE)


def test_freepats_is_the_independent_validation_family() -> None:
    # The Csound bank shares samples with the test family (DATA.md); FreePats shares
    # none with either, so `valid_freepats` validates on timbres heard nowhere else.
    data = mf.build("valid_freepats", 60)
    assert data["split"] == "valid" and set(data["soundfonts"]) == {"FreePats"}
    assert sfs.split_of_soundfont("FreePats") == "valid"
    cats = [c["category"] for c in data["clips"]]
    # the held-out organs, strings and mallets are not among its patches
    assert set(cats) == {"guitar", "piano", "electric_piano", "pad"}
    assert cats.count("guitar") == 30
    for clip in data["clips"]:
        assert clip["soundfont"] == "FreePats"
        for ch, prog in clip["programs"].items():
            if ch == "9":
                continue
            assert prog in sfs.FREEPATS_PROGRAMS
            cat = clip["category"] if ch == "0" else "bass"
            assert prog in sfs.PROGRAMS[cat]["heldout"]
    # the same recipe as `valid`: every template first, then random walks
    assert [c["source"]["kind"] for c in data["clips"]].count("template") == 40
    # no training set draws FreePats, and the committed manifest is this one
    assert "FreePats" not in {sf.name for sf in sfs.soundfonts_for("train")}
    assert "FreePats" not in {sf.name for sf in sfs.soundfonts_for("valid")}
    assert {c["soundfont"] for c in mf.build("train", 60)["clips"]} <= {
        "FluidR3_GM", "FluidR3Mono_GM", "MuseScore_General_Lite", "OPL3_FM"}
    committed = mf.load(mf.MANIFEST_DIR / "valid_freepats.json")
    assert committed["clips"] == data["clips"]


def test_the_retired_freepats_training_set_is_refused() -> None:
    with pytest.raises(mf.ManifestError, match="unknown set"):
        mf.build("train_freepats", 3)
    assert "train_freepats" not in mf.set_names()
    # its seeds stay reserved
    assert mf.SET_SEEDS["train_freepats"] not in {
        v for k, v in mf.SET_SEEDS.items() if k != "train_freepats"}


def test_a_freepats_clip_renders_through_the_pool_with_its_labels() -> None:
    entry = mf.build("valid_freepats", 3)["clips"][2]
    pool = SynthPool(RATE)
    try:
        audio, perf = render_clip(entry, pool)
    finally:
        pool.close()
    assert audio.ndim == 1 and audio.shape[0] == round(perf.duration * RATE)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01
    first_chord = next(s for s in perf.segments if s.label != "N")
    onset = int(first_chord.start * RATE)
    assert np.abs(audio[onset: onset + RATE // 2]).max() > 10 * np.abs(
        audio[: max(1, onset - RATE // 20)]).max(initial=1e-6)
