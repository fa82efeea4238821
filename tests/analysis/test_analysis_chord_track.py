"""Writing an analysis into the chord track: ticks from the tempo map, one undo step,
recognized items replaced in the analysed range, hand-made ones kept."""

from __future__ import annotations

import itertools

import pytest
from analysis_support import Result, Seg
from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.analysis.chord_track import bass_of, write_analysis
from strumspace_desktop.core.document.errors import DocumentError
from strumspace_desktop.core.document.model import ChordItem, Document

SEC = 1920  # ticks per second at 120 bpm


def _doc() -> tuple[Document, str]:
    doc = Document.new(bpm=120)
    return doc, doc.add_track("chord", "Chords")


def _items(doc: Document, tid: str) -> list[ChordItem]:
    return list(doc.chords(tid).values())


RESULT = Result([Seg(0.0, 0.5, "N", 0.9), Seg(0.5, 2.0, "C:maj", 0.8),
                 Seg(2.0, 3.0, "A:min/b3", 0.6), Seg(3.0, 4.0, "G:7", 0.7)],
                duration=4.0, key="C:maj", tempo=120.0)


def test_items_land_on_the_tempo_maps_ticks_as_one_undo_step() -> None:
    doc, tid = _doc()
    steps = doc.undo_depth
    done = write_analysis(doc, tid, RESULT)
    items = _items(doc, tid)
    assert [(c.start, c.end, c.label) for c in items] == [
        (SEC // 2, 2 * SEC, "C:maj"), (2 * SEC, 3 * SEC, "A:min/b3"), (3 * SEC, 4 * SEC, "G:7")]
    assert [c.bass for c in items] == [0, 0, 7]  # A:min/b3 has C in the bass
    assert [c.confidence for c in items] == pytest.approx([0.8, 0.6, 0.7])
    assert {c.source for c in items} == {"recognized"}
    assert (done.start_tick, done.end_tick) == (0, 4 * SEC) and len(done.added) == 3
    assert done.key == "C:maj" and done.tempo == 120.0  # offered, not applied
    assert doc.tempo_map().bpm_at_tick(0) == 120
    assert doc.undo_depth == steps + 1
    doc.undo()
    assert _items(doc, tid) == []
    doc.redo()
    assert len(_items(doc, tid)) == 3


def test_seconds_follow_tempo_changes_and_placement() -> None:
    doc, tid = _doc()
    doc.set_tempo(SEC, 60)  # 120 bpm for the first second, then 60 bpm (960 ticks/s)
    write_analysis(doc, tid, Result([Seg(0.0, 1.0, "C:maj"), Seg(1.0, 3.0, "F:maj")], 3.0))
    assert [(c.start, c.end) for c in _items(doc, tid)] == [(0, SEC), (SEC, 2 * SEC)]
    # A region at 1 s (tick 1920) whose first 0.5 s are trimmed: file time 0 is song
    # time 0.5 s, so its chords land half a second later.
    doc2, tid2 = _doc()
    write_analysis(doc2, tid2, Result([Seg(0.0, 1.0, "C:maj"), Seg(1.0, 2.0, "D:min")], 2.0),
                   start_tick=SEC, skip_seconds=0.5)
    assert [(c.start, c.end, c.label) for c in _items(doc2, tid2)] == [
        (SEC // 2, 3 * SEC // 2, "C:maj"), (3 * SEC // 2, 5 * SEC // 2, "D:min")]


def test_file_time_before_the_song_start_is_dropped() -> None:
    doc, tid = _doc()
    write_analysis(doc, tid, Result([Seg(0.0, 1.0, "C:maj"), Seg(1.0, 2.0, "G:maj")], 2.0),
                   skip_seconds=1.5)
    assert [(c.start, c.end, c.label) for c in _items(doc, tid)] == [(0, SEC // 2, "G:maj")]


def test_reanalysis_replaces_recognized_items_and_keeps_hand_made_ones() -> None:
    doc, tid = _doc()
    outside = doc.add_chord(tid, ChordItem(10 * SEC, 11 * SEC, "E:min", 4, 1.0, "recognized"))
    hand = doc.add_chord(tid, ChordItem(SEC, 2 * SEC, "F:maj7", 5, 1.0, "played"))
    write_analysis(doc, tid, Result([Seg(0.0, 4.0, "C:maj")], 4.0))
    first = _items(doc, tid)
    # The analysis is cut around the hand-made chord; nothing overlaps.
    assert [(c.start, c.end, c.label, c.source) for c in first] == [
        (0, SEC, "C:maj", "recognized"), (SEC, 2 * SEC, "F:maj7", "played"),
        (2 * SEC, 4 * SEC, "C:maj", "recognized"), (10 * SEC, 11 * SEC, "E:min", "recognized")]
    done = write_analysis(doc, tid, Result([Seg(0.0, 4.0, "A:min")], 4.0))
    assert done.removed == 2 and done.kept == 1
    chords = doc.chords(tid)
    assert chords[hand].label == "F:maj7" and chords[outside].label == "E:min"
    assert [c.label for c in chords.values()] == ["A:min", "F:maj7", "A:min", "E:min"]
    doc.undo()  # the second analysis only
    assert _items(doc, tid) == first


def test_a_replaced_item_reaching_out_of_the_range_keeps_its_outer_part() -> None:
    doc, tid = _doc()
    doc.add_chord(tid, ChordItem(SEC, 6 * SEC, "E:min", 4, 0.5, "recognized"))
    write_analysis(doc, tid, Result([Seg(0.0, 2.0, "C:maj")], 2.0), start_tick=2 * SEC)
    assert [(c.start, c.end, c.label) for c in _items(doc, tid)] == [
        (SEC, 2 * SEC, "E:min"), (2 * SEC, 4 * SEC, "C:maj"), (4 * SEC, 6 * SEC, "E:min")]


def test_a_track_that_is_not_a_chord_track_is_refused_unchanged() -> None:
    doc = Document.new()
    tid = doc.add_track("midi", "Piano")
    steps = doc.undo_depth
    with pytest.raises(DocumentError):
        write_analysis(doc, tid, RESULT)
    assert doc.undo_depth == steps


def test_bass_of_labels() -> None:
    assert bass_of("C:maj/3") == 4 and bass_of("N") == -1 and bass_of("X:what") == -1


_labels = st.sampled_from(["C:maj", "D:min7", "G:7/3", "N", "Bb:maj6", "F#:dim"])
_segments = st.lists(st.tuples(st.floats(0.01, 3.0), _labels), min_size=1, max_size=12)
_hand = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 10)), max_size=4)


@given(_segments, _hand, st.integers(0, 4 * SEC), st.floats(0.0, 2.0))
def test_written_items_never_overlap_and_hand_items_survive(
        segs: list[tuple[float, str]], hand: list[tuple[int, int]], start_tick: int,
        skip: float) -> None:
    doc, tid = _doc()
    hand_ids = {}
    taken: list[tuple[int, int]] = []
    for beat, length in hand:  # non-overlapping hand-made chords
        a, b = beat * 480, (beat + length) * 480
        if all(b <= x or a >= y for x, y in taken):
            taken.append((a, b))
            hand_ids[doc.add_chord(tid, ChordItem(a, b, "E:min", 4, 1.0, "played"))] = (a, b)
    t, rows = 0.0, []
    for seconds, label in segs:
        rows.append(Seg(t, t + seconds, label))
        t += seconds
    for _ in range(2):  # twice: the second replaces the first
        done = write_analysis(doc, tid, Result(rows, t), start_tick=start_tick,
                              skip_seconds=skip)
    chords = doc.chords(tid)
    for cid, span in hand_ids.items():
        assert (chords[cid].start, chords[cid].end) == span and chords[cid].source == "played"
    spans = sorted((c.start, c.end) for c in chords.values())
    for (_, b), (a, _) in itertools.pairwise(spans):
        assert b <= a
    for c in chords.values():
        if c.source == "recognized":
            assert done.start_tick <= c.start < c.end <= done.end_tick and c.label != "N"
