"""Quantize: grids, strength and swing, as properties over arbitrary ticks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.core.document.model import Note
from strumspace_desktop.core.quantize import (
    NOTE_VALUES,
    QuantizeSettings,
    grid_ticks,
    nearest_line,
    quantize_notes,
    quantize_span,
    quantize_tick,
)

ticks = st.floats(min_value=0, max_value=1e7, allow_nan=False)
grids = st.builds(grid_ticks, st.sampled_from(NOTE_VALUES), st.booleans())
swings = st.floats(min_value=0, max_value=0.5)


def test_grid_sizes() -> None:
    assert grid_ticks(4) == 960
    assert grid_ticks(16) == 240
    assert grid_ticks(8, triplet=True) == 320
    assert grid_ticks(16, triplet=True) == 160
    assert grid_ticks(64, triplet=True) == 40
    with pytest.raises(ValueError):
        grid_ticks(12)


@given(ticks, grids)
def test_full_strength_lands_on_the_grid_and_within_half_a_step(t: float, g: int) -> None:
    q = quantize_tick(t, g)
    assert q % g == 0
    assert abs(q - t) <= g / 2 + 0.5


@given(ticks, grids, swings)
def test_quantize_is_idempotent(t: float, g: int, swing: float) -> None:
    q = quantize_tick(t, g, swing=swing)
    assert quantize_tick(q, g, swing=swing) == q


@given(ticks, grids, swings)
def test_zero_strength_changes_nothing_but_rounding(t: float, g: int, swing: float) -> None:
    assert quantize_tick(t, g, strength=0.0, swing=swing) == int(t + 0.5)


@given(ticks, grids, swings, st.floats(min_value=0, max_value=1))
def test_strength_moves_part_of_the_way(t: float, g: int, swing: float, s: float) -> None:
    target = nearest_line(t, g, swing)
    q = quantize_tick(t, g, strength=s, swing=swing)
    assert abs(q - target) <= abs(t - target) + 0.5
    assert min(t, target) - 0.5 <= q <= max(t, target) + 0.5


@given(ticks, ticks, grids)
def test_full_strength_keeps_order(a: float, b: float, g: int) -> None:
    lo, hi = sorted((a, b))
    assert quantize_tick(lo, g) <= quantize_tick(hi, g)


@given(ticks, grids, swings)
def test_swing_moves_only_the_off_beats(t: float, g: int, swing: float) -> None:
    q = nearest_line(t, g, swing)
    even = q / g
    odd = (q - swing * g) / g
    on_even = even == round(even) and round(even) % 2 == 0
    on_odd = abs(odd - round(odd)) < 1e-9 and round(odd) % 2 == 1
    assert on_even or on_odd


def test_triplet_swing_example() -> None:
    eighth = grid_ticks(8)
    # Played straight on the second eighth; with 1/3 swing it goes to the triplet.
    assert quantize_tick(480, eighth, swing=1 / 3) == 640
    assert quantize_tick(960, eighth, swing=1 / 3) == 960


@given(ticks, st.floats(min_value=0, max_value=1e5), st.sampled_from(NOTE_VALUES),
       st.booleans())
def test_span_keeps_a_positive_length(start: float, length: float, nv: int, lengths: bool) -> None:
    s, n = quantize_span(start, length, QuantizeSettings(nv, lengths=lengths))
    assert n >= 1
    if lengths:
        g = grid_ticks(nv)
        assert s % g == 0 and ((s + n) % g == 0 or n == 1)


def test_post_quantize_notes_of_a_clip() -> None:
    notes = {"a": Note(60, 10, 200), "b": Note(62, 240, 100), "c": Note(64, 5, 50)}
    out = quantize_notes(notes, clip_start=1910, settings=QuantizeSettings(16))
    # Song ticks 1920 and 1915 both go to 1920 (clip tick 10); 2150 goes to 2160.
    assert out == {"b": Note(62, 250, 100), "c": Note(64, 10, 50)}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        QuantizeSettings(strength=1.5)
    with pytest.raises(ValueError):
        QuantizeSettings(swing=0.7)
