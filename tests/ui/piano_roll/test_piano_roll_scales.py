"""Scale highlighting and snapping arithmetic of the piano roll (no widgets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.piano_roll.scales import (
    BLACK_PITCH_CLASSES,
    CHROMATIC,
    SCALES,
    in_scale,
    scale_pitch_classes,
    shaded_rows,
)
from strumspace_desktop.ui.piano_roll.snap import SNAP_CHOICES, min_length, snap_floor, snap_round


def test_known_scales() -> None:
    assert scale_pitch_classes(0, "Major (Ionian)") == {0, 2, 4, 5, 7, 9, 11}
    # A minor has the same notes as C major; D dorian too.
    assert scale_pitch_classes(9, "Natural minor (Aeolian)") == scale_pitch_classes(
        0, "Major (Ionian)")
    assert scale_pitch_classes(2, "Dorian") == scale_pitch_classes(0, "Major (Ionian)")
    assert scale_pitch_classes(7, "Mixolydian") == scale_pitch_classes(0, "Major (Ionian)")
    # E minor pentatonic: E G A B D; A blues: A C D E♭ E G.
    assert scale_pitch_classes(4, "Minor pentatonic") == {4, 7, 9, 11, 2}
    assert scale_pitch_classes(9, "Blues") == {9, 0, 2, 3, 4, 7}
    assert scale_pitch_classes(7, "Major pentatonic") == {7, 9, 11, 2, 4}
    assert scale_pitch_classes(9, "Harmonic minor") == {9, 11, 0, 2, 4, 5, 8}
    assert in_scale(66, 2, "Major (Ionian)")  # F♯4 is in D major
    assert not in_scale(65, 2, "Major (Ionian)")  # F4 is not


def test_shaded_rows_are_the_notes_outside_the_key() -> None:
    assert shaded_rows(0, "Major (Ionian)") == BLACK_PITCH_CLASSES
    assert shaded_rows(7, "Major (Ionian)") == {1, 3, 5, 8, 10}  # G major: F is out, F♯ in
    assert shaded_rows(0, CHROMATIC) == BLACK_PITCH_CLASSES  # no scale: like a keyboard
    with pytest.raises(ValueError, match="unknown scale"):
        scale_pitch_classes(0, "Klingon")
    with pytest.raises(ValueError, match="pitch class"):
        scale_pitch_classes(12, "Dorian")


@given(st.integers(0, 11), st.sampled_from([s for s in SCALES if s != CHROMATIC]),
       st.integers(0, 127))
def test_a_row_is_shaded_exactly_when_out_of_the_scale(root: int, scale: str,
                                                       pitch: int) -> None:
    assert (pitch % 12 in shaded_rows(root, scale)) != in_scale(pitch, root, scale)
    # Transposing the key transposes the scale.
    assert in_scale(pitch, root, scale) == in_scale(pitch + 1, (root + 1) % 12, scale)
    assert root in scale_pitch_classes(root, scale)


def test_snap_choices_and_arithmetic() -> None:
    assert SNAP_CHOICES["1/4"] == PPQ
    assert SNAP_CHOICES["1/32"] == PPQ // 8
    assert SNAP_CHOICES["1/8 T"] == PPQ // 3  # three triplet eighths in a beat
    assert SNAP_CHOICES["1/16 T"] == PPQ // 6
    assert PPQ % 12 == 0  # every triplet grid is a whole number of ticks
    assert SNAP_CHOICES["Off"] is None
    assert snap_round(130, 240) == 240 and snap_round(110, 240) == 0
    assert snap_floor(479, 240) == 240
    assert snap_round(130.4, None) == 130 and snap_floor(130.9, None) == 130
    assert min_length(120) == 120 and min_length(None) == 1


@given(st.floats(0, 1e6), st.sampled_from([g for g in SNAP_CHOICES.values() if g]))
def test_snapped_ticks_lie_on_the_grid(tick: float, grid: int) -> None:
    assert snap_round(tick, grid) % grid == 0
    assert abs(snap_round(tick, grid) - tick) <= grid / 2
    assert 0 <= tick - snap_floor(tick, grid) < grid
