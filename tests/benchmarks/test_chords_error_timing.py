"""The chord error-timing diagnostic: error bands by distance to a change, and the
offsets of decoded changes."""

from __future__ import annotations

import pytest

from benchmarks.chords_error_timing import (
    BAND_NAMES,
    change_offsets,
    error_by_distance,
    main,
    summarize,
)

REF = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "A:min"), (4.0, 6.0, "F:maj")]


def test_a_late_change_is_an_error_next_to_the_change() -> None:
    est = [(0.0, 2.03, "C:maj"), (2.03, 4.0, "A:min"), (4.0, 6.0, "F:maj")]
    err, total = error_by_distance(REF, est)
    assert err[0] == pytest.approx(0.03, abs=1e-6)  # three 10-ms steps, all under 50 ms
    assert err[1:].sum() == 0
    assert total.sum() == pytest.approx(6.0, abs=1e-6)
    assert change_offsets(REF, est) == pytest.approx([0.03, 0.0])


def test_a_wrong_chord_inside_a_span_is_far_from_any_change() -> None:
    est = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "C:maj6"), (4.0, 6.0, "F:maj")]
    err, _ = error_by_distance(REF, est)
    assert err[-1] == pytest.approx(1.2, abs=1e-6)  # 2.4 to 3.6 s: over 400 ms from a change
    assert err.sum() == pytest.approx(2.0, abs=1e-6)
    # The decoded change at 4.0 matches; the one into A:min never came.
    assert change_offsets(REF, est) == pytest.approx([0.0])


def test_summary_counts_points_over_all_scored_time() -> None:
    est = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "D:min"), (4.0, 6.0, "F:maj")]
    res = summarize([(REF, est), (REF, REF)])
    assert res["clips"] == 2
    assert sum(res["error_points"].values()) == pytest.approx(100 * 2.0 / 12.0, abs=0.05)
    assert sum(res["time_share"].values()) == pytest.approx(1.0, abs=0.002)
    assert res["majmin"] == pytest.approx(1 - 2.0 / 12.0, abs=1e-3)
    assert set(res["error_points"]) == set(BAND_NAMES)


def test_no_change_and_no_reference() -> None:
    assert change_offsets(REF, [(0.0, 6.0, "C:maj")]) == []
    err, total = error_by_distance([], [(0.0, 1.0, "C:maj")])
    assert err.sum() == 0 and total.sum() == 0
    assert "change_offset_ms" not in summarize([(REF, [(0.0, 6.0, "C:maj")])])


def test_an_unknown_set_is_a_clear_error() -> None:
    from benchmarks.chords_sets import SetError

    with pytest.raises(SetError, match="no evaluation set"):
        main(["no_such_set"])
