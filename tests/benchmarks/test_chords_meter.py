"""The bar benchmark's scoring: reference bar lines of a template clip, and the two ways
of placing bars (the estimate, every piece in 4) on the same beats."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.chords_meter import bars, reference_downbeats
from models.chords.runtime import Analysis, ChordSpan
from models.chords.vocabulary import parse


def test_reference_bar_lines_follow_lead_in_tempo_and_meter() -> None:
    clip = {"beats_per_bar": 3, "style": {"tempo": 120.0, "lead_in": 0.5},
            "spans": [["C:maj", 3.0], ["G:maj", 3.0], ["A:min", 3.0]]}
    assert reference_downbeats(clip) == pytest.approx([0.5, 2.0, 3.5])


def test_the_estimate_and_the_fixed_four_use_the_same_beats() -> None:
    beats = [0.5 * k for k in range(24)]
    spans = [ChordSpan.of(1.5 * i, 1.5 * (i + 1), parse(lab), 0.9)
             for i, lab in enumerate(["C:maj", "G:maj", "A:min", "F:maj"] * 2)]
    a = Analysis(spans, 12.0, "test", beats=beats, downbeats=beats[::3], beats_per_bar=3)
    meter, down = bars(a, "detected")
    assert meter == 3 and np.allclose(down, beats[::3])
    meter, down = bars(a, "fixed_4")
    assert meter == 4 and np.allclose(np.diff(down), 2.0)


def test_tempo_scores_split_levels_and_measure_the_error_at_the_level() -> None:
    from benchmarks.chords_meter import tempo_scores

    got = tempo_scores([1.002, 0.99, 0.5, 2.01, 4 / 3, None, 1.0])
    assert got["at_level"] == pytest.approx(3 / 7, abs=1e-4)
    assert got["half_or_double"] == pytest.approx(2 / 7, abs=1e-4)
    assert got["none"] == pytest.approx(1 / 7, abs=1e-4)
    assert got["error_median"] == pytest.approx(0.002)
    assert got["within_1pct"] == pytest.approx(2 / 3, abs=1e-4)  # 0.99 is 1 % off
