"""The shared-sample check on the one SoundFont CI installs (FluidR3 GM): one sample
rendered twice is the same sound, two instruments are not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from benchmarks import chords_shared_samples as ss
from models.chords.soundfonts import SOUNDFONTS_BY_NAME
from models.chords.synth_offline import OfflineSynth


@pytest.fixture(scope="module")
def synth() -> Iterator[OfflineSynth]:
    s = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), ss.RATE)
    yield s
    s.close()


def _notes(synth: OfflineSynth, program: int) -> list[np.ndarray]:
    return [ss.note_spectrum(synth, program, p) for p in ss.PITCHES]


def test_one_sample_is_the_same_sound_and_two_instruments_are_not(synth: OfflineSynth) -> None:
    nylon = _notes(synth, 24)
    assert ss.similarity(nylon, _notes(synth, 24)) >= ss.SAME
    assert ss.similarity(nylon, _notes(synth, 0)) < ss.SAME  # a piano
    assert ss.similarity(nylon, _notes(synth, 25)) < ss.SAME  # a steel-string guitar


def test_a_note_spectrum_covers_one_second_and_silence_matches_nothing(synth: OfflineSynth) -> None:
    spec = ss.note_spectrum(synth, 24, 57)
    assert spec.shape == (round(1.2 * ss.RATE) // 2 + 1,)
    silent = [np.zeros_like(spec)] * len(ss.PITCHES)
    assert ss.similarity(silent, _notes(synth, 24)) == 0.0


def test_the_check_compares_every_held_out_program() -> None:
    held = ss._heldout_programs()
    assert 26 in held and 35 in held  # a guitar and a bass
    assert not set(held) & set(ss._training_programs())
