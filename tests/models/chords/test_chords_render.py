"""The performance renderer and offline FluidSynth: labels line up with the audio."""

from __future__ import annotations

import dataclasses
import itertools

import mir_eval.chord as mc
import numpy as np
import pytest
from chords_support import RATE, synth

from models.chords import augment
from models.chords.performance import (
    PATTERNS,
    Performance,
    PlayStyle,
    perform,
    random_style,
    voice,
)
from models.chords.progressions import from_template, random_walk
from models.chords.synth_offline import OfflineSynth
from models.chords.vocabulary import Chord, parse


def _check_segments(perf: Performance) -> None:
    segs = perf.segments
    assert segs[0].start == 0.0 and segs[-1].end == pytest.approx(perf.duration)
    for a, b in itertools.pairwise(segs):
        assert a.end == pytest.approx(b.start) and a.end > a.start
    mc.validate([s.label for s in segs], [s.label for s in segs])


@pytest.mark.parametrize("texture", list(PATTERNS))
def test_segments_tile_the_clip_and_start_at_each_chords_first_note(texture: str) -> None:
    rng = np.random.default_rng(1)
    prog = random_walk(rng, 12)
    for seed in range(3):
        style = dataclasses.replace(random_style(np.random.default_rng(seed), texture),
                                    bass=True, drums=True)
        perf = perform(prog, style, np.random.default_rng(seed))
        _check_segments(perf)
        chord_segs = [s for s in perf.segments if s.label != "N"]
        for seg in chord_segs:
            inside = [n for n in perf.notes if n.channel != 9
                      and seg.start - 1e-9 <= n.start < seg.end - 1e-9]
            assert inside and min(n.start for n in inside) == pytest.approx(seg.start)
            # Harmony and bass play the labelled chord's tones, every one of them but
            # perhaps a perfect fifth (left out of thin voicings, as players do).
            chord = parse(seg.label)
            heard = {n.pitch % 12 for n in inside}
            fifth = (chord.root + 7) % 12
            assert set(chord.pitch_classes) - {fifth} <= heard <= set(chord.pitch_classes)


def test_voicing_puts_the_labelled_bass_lowest_and_keeps_every_defining_tone() -> None:
    rng = np.random.default_rng(0)
    for root in range(12):
        for q in ("maj", "dim7", "hdim7", "aug", "maj6", "sus2", "min7"):
            for tone in range(len(Chord(root, q).intervals)):
                chord = Chord(root, q).with_bass_tone(tone)
                pitches = voice(chord, rng, 40, 76, 4)
                assert pitches[0] % 12 == chord.bass_pc and pitches[0] == min(pitches)
                pcs = {p % 12 for p in pitches}
                fifth = (root + 7) % 12
                assert set(chord.pitch_classes) - {fifth} <= pcs, chord.label()


def test_audio_of_each_chord_starts_at_its_label() -> None:
    """Render the clip with and without chord k: the difference (chord k's sound)
    must begin at its segment start, within FluidSynth's 64-sample block."""
    prog = from_template("jazz/ii_V_I", 0)
    style = PlayStyle(texture="block", tempo=150, humanize_ms=0, lead_in=0.3, tail=0.3)
    perf = perform(prog, style, np.random.default_rng(0))
    chord_segs = [s for s in perf.segments if s.label != "N"]
    sf = synth().soundfont  # fresh synths: bit-exact renders (see OfflineSynth)
    full = OfflineSynth(sf, RATE).render(perf, {0: 0})
    for k, seg in enumerate(chord_segs):
        before = Performance([n for n in perf.notes if n.start < seg.start - 1e-9],
                             perf.segments, perf.duration)
        diff = np.abs(full - OfflineSynth(sf, RATE).render(before, {0: 0})).max(axis=1)
        onset = int(np.flatnonzero(diff > 1e-5)[0])
        label_frame = seg.start * RATE
        assert 0 <= onset - label_frame < 64 + 1, (k, onset, label_frame)


def test_render_is_deterministic_and_detune_moves_the_pitch() -> None:
    style = PlayStyle(texture="hold", tempo=120, humanize_ms=0, lead_in=0.1, tail=0.2)
    perf = perform(from_template("folk/three_chord", 9), style, np.random.default_rng(2))
    sf = synth().soundfont
    fresh = [OfflineSynth(sf, RATE).render(perf, {0: 19}) for _ in range(2)]
    assert np.array_equal(fresh[0], fresh[1]) and np.abs(fresh[0]).max() > 0.01
    # A reused synth: the same clip after other clips, within -60 dB.
    reused = [synth().render(perf, {0: 19}) for _ in range(2)]
    for x in reused:
        assert np.abs(x - fresh[0]).max() < 1e-3
    # A single A4 held: +50 cents raises its spectral peak by a factor 2 ** (50 / 1200).
    note = Performance([dataclasses.replace(perf.notes[0], start=0.0, end=2.0, pitch=69)],
                       perf.segments, 2.0)
    peaks = []
    for cents in (0.0, 50.0):
        x = synth().render(note, {0: 19}, detune_cents=cents).mean(axis=1)[2000:2000 + 32768]
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        freqs = np.fft.rfftfreq(x.size, 1 / RATE)
        band = (freqs > 400) & (freqs < 480)
        peaks.append(freqs[band][np.argmax(spec[band])])
    assert peaks[0] == pytest.approx(440, rel=0.01)
    assert peaks[1] / peaks[0] == pytest.approx(2 ** (50 / 1200), abs=0.004)


def test_augmentation_keeps_length_and_level_and_is_reproducible() -> None:
    style = PlayStyle(texture="strum", tempo=140, lead_in=0.2, tail=0.3)
    perf = perform(from_template("pop/axis", 0), style, np.random.default_rng(0))
    stereo = synth().render(perf, {0: 25})
    rng = np.random.default_rng(5)
    for _ in range(4):
        params = augment.draw(rng)
        params.update(mp3_vbr=5.0, noise_snr_db=30.0, reverb={"room_size": 0.5,
                                                            "wet_level": 0.2})
        x = augment.apply(stereo, RATE, params, seed=1)
        y = augment.apply(stereo, RATE, params, seed=1)
        assert x.shape == (stereo.shape[0],) and x.dtype == np.float32
        assert np.array_equal(x, y)
        assert np.abs(x).max() <= 1.0
    clean = augment.draw(np.random.default_rng(0), strength=0.0)
    assert set(clean) == {"detune_cents", "level_db"} and clean["detune_cents"] == 0.0
