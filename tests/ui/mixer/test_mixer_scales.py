"""The mixer's value mappings: fader taper, linear and log ranges, and how values read."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.core.effects import EFFECT_TYPES
from strumspace_desktop.ui.mixer.scales import (
    FADER_MARKS,
    SILENCE_DB,
    FaderTaper,
    LinearMap,
    LogMap,
    format_db,
    format_pan,
    format_value,
    param_mapping,
)

positions = st.floats(min_value=0.0, max_value=1.0)


def test_fader_marks_and_ends() -> None:
    taper = FaderTaper()
    assert taper.to_value(0.0) == SILENCE_DB
    assert taper.to_pos(SILENCE_DB) == 0.0
    assert taper.to_value(1.0) == 12.0
    for pos, db in FADER_MARKS:
        assert math.isclose(taper.to_value(pos), db, abs_tol=1e-9)
        assert math.isclose(taper.to_pos(db), pos, abs_tol=1e-9)
    assert taper.to_pos(24.0) == 1.0  # boosts beyond the fader sit at its top


@given(positions)
def test_fader_round_trip(pos: float) -> None:
    taper = FaderTaper()
    assert math.isclose(taper.to_pos(taper.to_value(pos)), pos, abs_tol=1e-9)


@given(positions, positions)
def test_fader_is_monotonic(a: float, b: float) -> None:
    taper = FaderTaper()
    if a < b:
        assert taper.to_value(a) <= taper.to_value(b)
    if a + 1e-9 < b:
        assert taper.to_value(a) < taper.to_value(b)


@given(positions)
def test_log_and_linear_round_trip(pos: float) -> None:
    for mapping in (LogMap(20.0, 20000.0), LinearMap(-1.0, 1.0)):
        assert math.isclose(mapping.to_pos(mapping.to_value(pos)), pos, abs_tol=1e-9)


def test_log_params_move_by_ratio() -> None:
    cutoff = EFFECT_TYPES["lowpass"].param("cutoff_frequency_hz")
    threshold = EFFECT_TYPES["compressor"].param("threshold_db")
    assert cutoff is not None and threshold is not None
    log, lin = param_mapping(cutoff), param_mapping(threshold)
    assert isinstance(log, LogMap) and isinstance(lin, LinearMap)
    assert math.isclose(log.to_value(0.5), math.sqrt(20.0 * 20000.0))  # 632 Hz
    assert math.isclose(lin.to_value(0.5), -30.0)
    for kind in EFFECT_TYPES.values():  # every spec maps its whole range
        for spec in kind.params:
            m = param_mapping(spec)
            assert math.isclose(m.to_value(0.0), spec.minimum)
            assert math.isclose(m.to_value(1.0), spec.maximum)
            assert 0.0 <= m.to_pos(spec.default) <= 1.0


def test_values_read_like_a_musician_expects() -> None:
    assert format_db(0.0) == "0.0 dB"
    assert format_db(-6.04) == "-6.0 dB"
    assert format_db(3.0) == "+3.0 dB"
    assert format_db(SILENCE_DB) == "-∞ dB"
    assert [format_pan(p) for p in (-1.0, -0.35, 0.0, 0.2)] == ["L100", "L35", "C", "R20"]
    assert format_value(1250.0, "Hz") == "1.25 kHz"
    assert format_value(80.0, "Hz") == "80.0 Hz"
    assert format_value(0.375, "s") == "375 ms"
    assert format_value(-18.0, "dB") == "-18.0 dB"
    assert format_value(4.0, ":1") == "4.0:1"
    assert format_value(0.5, "") == "0.500"
