"""The vocabulary against mir_eval.chord: every class and inversion, parsing, transposition."""

from __future__ import annotations

import mir_eval.chord as mc
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.chords import vocabulary as v


def _every_chord_and_inversion() -> list[v.Chord]:
    out = []
    for c in v.all_chords():
        out.append(c)
        if not c.is_no_chord:
            out += [c.with_bass_tone(k) for k in range(1, len(c.intervals))]
    return out


def test_vocabulary_size_and_index_layout() -> None:
    assert v.NUM_CLASSES == 157 and v.N_INDEX == 156
    assert len(v.QUALITIES) == 13
    assert [c.index for c in v.all_chords()] == list(range(157))
    assert v.from_index(v.N_INDEX).label() == "N"
    assert v.from_index(3 * 13 + v.QUALITIES.index("min7")).label() == "D#:min7"


@pytest.mark.parametrize("flats", [False, True])
def test_every_label_is_what_mir_eval_reads(flats: bool) -> None:
    for chord in _every_chord_and_inversion():
        label = chord.label(flats)
        mc.validate([label], [label])
        root, bitmap, bass = mc.encode(label)
        if chord.is_no_chord:
            assert root == -1 and not bitmap.any()
            continue
        assert root == chord.root, label
        assert set(np.flatnonzero(bitmap)) == set(chord.intervals), label
        assert bass == chord.bass, label
        assert v.parse(label) == chord


def test_mir_eval_quality_bitmaps_match_ours() -> None:
    for q, tones in v.QUALITY_TONES.items():
        assert set(np.flatnonzero(mc.QUALITIES[q])) == {s for s, _ in tones}, q


def test_parse_forms_and_reductions() -> None:
    assert v.parse("C") == v.Chord(0, "maj")
    assert v.parse("Db:min7/b3") == v.Chord(1, "min7", 3)
    assert v.parse("Cb:maj") == v.Chord(11, "maj")
    assert v.parse("G:9") == v.Chord(7, "7")
    assert v.parse("A:minmaj7") == v.Chord(9, "min7")
    assert v.parse("C:maj/b7") == v.Chord(0, "maj", 10)
    assert v.parse("C:maj/b7").label() == "C:maj/b7"
    assert v.parse("N").is_no_chord


@pytest.mark.parametrize("bad", ["", "H:maj", "C:foo", "C:(3,5)", "X", "C:maj/x", "C:maj/9b"])
def test_bad_labels_are_refused_clearly(bad: str) -> None:
    with pytest.raises(v.ChordLabelError):
        v.parse(bad)


@given(st.integers(0, 155), st.integers(-24, 24), st.booleans())
def test_transposition_moves_root_and_bass_together(index: int, shift: int, flats: bool) -> None:
    chord = v.from_index(index)
    inv = chord.with_bass_tone(shift % len(chord.intervals))
    moved = inv.transpose(shift)
    assert moved.quality == inv.quality and moved.bass == inv.bass
    assert moved.bass_pc == (inv.bass_pc + shift) % 12
    assert set(moved.pitch_classes) == {(p + shift) % 12 for p in inv.pitch_classes}
    assert moved.transpose(-shift) == inv
    label = v.transpose_label(inv.label(flats), shift, flats)
    r0, bm0, b0 = mc.encode(inv.label())
    r1, bm1, b1 = mc.encode(label)
    assert r1 == (r0 + shift) % 12 and (bm1 == bm0).all() and b1 == b0


def test_no_chord_does_not_transpose() -> None:
    assert v.NO_CHORD_CHORD.transpose(5) == v.NO_CHORD_CHORD


def test_pitch_class_matching_finds_each_chord_from_its_tones() -> None:
    # Ambiguous sets (C:maj6 = A:min7, C:sus2 = G:sus4, dim7 and aug symmetry) are
    # resolved by the bass: the chord rooted on it.
    for chord in v.all_chords()[:-1]:
        assert v.match_pitch_classes(set(chord.pitch_classes), chord.root) == chord
    inv = v.Chord(0, "maj", 4)
    assert v.match_pitch_classes({0, 4, 7}, 4) == inv
    assert v.match_pitch_classes(set(), None).is_no_chord
    assert v.match_pitch_classes({0, 1, 2, 3, 4, 5}, 0).is_no_chord
