"""The ruler (loop and punch ranges, locate, bars following meters) and the chord
lane (create, edit, move, resize, delete; readable names)."""

from __future__ import annotations

from pathlib import Path

import pytest
from arrange_support import BAR, Song, at, click, double_click, drag, lane_index, make_song
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot
from ui_support import when_dialog_opens

from strumspace_desktop.core.document import ChordItem
from strumspace_desktop.core.timing import PPQ, TimeSignatureChange, TimeSignatureMap
from strumspace_desktop.ui.arrange.chord_names import display_label, parse_label
from strumspace_desktop.ui.arrange.grid import snap
from strumspace_desktop.ui.arrange.ruler import LOOP_ZONE, PUNCH_ZONE, bar_lines


def ruler(s: Song, tick: float, zone: tuple[int, int]) -> QPointF:
    return QPointF(s.canvas.timeline.x_of(tick), (zone[0] + zone[1]) / 2)


def test_loop_and_punch_ranges_are_dragged_on_the_ruler(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    s.view.set_grid("bar")
    drag(s.canvas, ruler(s, 1.1 * BAR, LOOP_ZONE), ruler(s, 2.8 * BAR, LOOP_ZONE))
    loop = s.doc.loop()
    assert (loop.start, loop.end, loop.enabled) == (BAR, 3 * BAR, True)
    # Dragged right to left works the same.
    drag(s.canvas, ruler(s, 6.2 * BAR, PUNCH_ZONE), ruler(s, 3.9 * BAR, PUNCH_ZONE))
    punch = s.doc.punch()
    assert (punch.start, punch.end, punch.enabled) == (4 * BAR, 6 * BAR, True)
    assert s.doc.loop().start == BAR  # the loop did not move
    assert s.doc.undo()
    assert s.doc.punch().end != 6 * BAR
    assert s.doc.undo()
    assert not s.doc.loop().enabled


def test_a_click_on_the_ruler_locates_the_playhead(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    with qtbot.waitSignal(s.canvas.locate_requested) as blocker:
        click(s.canvas, ruler(s, 3 * PPQ + 40, LOOP_ZONE))
    assert blocker.args == [3 * PPQ]
    assert s.canvas.playhead == 3 * PPQ
    assert not s.doc.can_undo()  # locating is no edit


def test_bars_follow_meter_changes() -> None:
    from strumspace_desktop.ui.arrange.model import Timeline

    meters = TimeSignatureMap([TimeSignatureChange(0, 4, 4), TimeSignatureChange(2, 3, 4),
                               TimeSignatureChange(4, 7, 8)])
    tl = Timeline()
    starts = [tick for _bar, tick in bar_lines(meters, tl, 0, tl.x_of(6 * BAR))][:6]
    assert starts == [0, BAR, 2 * BAR, 2 * BAR + 3 * PPQ, 2 * BAR + 6 * PPQ,
                      2 * BAR + 6 * PPQ + 7 * PPQ // 2]
    # Snapping follows the meter too: beats of a 7/8 bar are eighths.
    seven_eight = 2 * BAR + 6 * PPQ
    assert snap(seven_eight + 500, "beat", meters) == seven_eight + 480
    assert snap(seven_eight + 100, "bar", meters) == seven_eight
    assert snap(2 * BAR + 3 * PPQ - 10, "bar", meters) == 2 * BAR + 3 * PPQ
    assert snap(seven_eight + 999, "1/16t", meters, floor=True) == seven_eight + 960


def test_the_ruler_draws_meter_and_tempo_changes(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    s.doc.set_time_signature(2 * BAR, 3, 4)
    s.doc.set_tempo(2 * BAR, 90)
    assert s.canvas.model.meters.meter_at_bar(2).numerator == 3
    assert s.canvas.model.tempo.bpm_at_tick(2 * BAR) == 90
    s.canvas.repaint()  # paints the labels without error


@pytest.mark.parametrize(("harte", "shown"), [
    ("C:maj", "C"), ("C:maj7", "Cmaj7"), ("A:min7", "Am7"), ("Bb:7", "Bb7"),
    ("F#:hdim7", "F#m7b5"), ("G:maj/3", "G/B"), ("A:min/b3", "Am/C"), ("Eb:maj/5", "Eb/Bb"),
    ("N", "N.C."), ("D:sus4", "Dsus4"),
])
def test_harte_labels_read_as_musicians_write_them(harte: str, shown: str) -> None:
    assert display_label(harte) == shown
    assert parse_label(shown) == harte
    assert parse_label(harte) == harte


def test_unreadable_chord_names_are_refused() -> None:
    for text in ("H7", "Cfoo", "", "C:nonsense"):
        assert parse_label(text) is None


def _answer(text: str) -> None:
    def act(dialog: QInputDialog) -> None:
        dialog.setTextValue(text)
        dialog.accept()

    when_dialog_opens(QInputDialog, act)


def test_chord_lane_create_edit_move_resize_delete(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    chords = s.doc.add_track("chord", "Chords")
    s.doc.clear_undo_history()
    lane = lane_index(s, chords)
    s.view.set_grid("bar")
    _answer("Am7")
    double_click(s.canvas, at(s, 1.5 * BAR, lane))
    ((cid, item),) = s.doc.chords(chords).items()
    assert (item.start, item.end, item.label) == (BAR, 2 * BAR, "A:min7")
    assert s.doc.undo() and not s.doc.chords(chords)
    assert s.doc.redo()
    ((cid, item),) = s.doc.chords(chords).items()
    _answer("G/B")
    double_click(s.canvas, at(s, 1.5 * BAR, lane))
    item = s.doc.chords(chords)[cid]
    assert item.label == "G:maj/3" and item.bass == 11
    assert display_label(item.label) == "G/B"
    drag(s.canvas, at(s, 1.5 * BAR, lane), at(s, 3.5 * BAR, lane))
    assert (s.doc.chords(chords)[cid].start, s.doc.chords(chords)[cid].end) == (3 * BAR,
                                                                                4 * BAR)
    drag(s.canvas, at(s, 4 * BAR - 1, lane), at(s, 6 * BAR, lane))
    assert s.doc.chords(chords)[cid].end == 6 * BAR
    assert s.doc.undo()
    assert s.doc.chords(chords)[cid].end == 4 * BAR
    click(s.canvas, at(s, 3.5 * BAR, lane))
    assert s.canvas.selected_chords == {(chords, cid)}
    s.canvas.setFocus()
    qtbot.keyClick(s.canvas, Qt.Key.Key_Delete)
    assert not s.doc.chords(chords)
    assert s.doc.undo() and cid in s.doc.chords(chords)


def test_a_hand_edit_makes_an_analysis_chord_the_musicians(qtbot: QtBot,
                                                           tmp_path: Path) -> None:
    """Renamed, moved or resized, a recognized chord becomes "played": the next file
    analysis keeps it (analysis replaces only "recognized" items)."""
    s = make_song(qtbot, tmp_path)
    chords = s.doc.add_track("chord", "Chords")
    renamed = s.doc.add_chord(chords, ChordItem(0, BAR, "C:maj", 0, 0.6, "recognized"))
    moved = s.doc.add_chord(chords, ChordItem(2 * BAR, 3 * BAR, "G:maj", 7, 0.7, "recognized"))
    kept = s.doc.add_chord(chords, ChordItem(4 * BAR, 5 * BAR, "F:maj", 5, 0.8, "recognized"))
    generated = s.doc.add_chord(chords, ChordItem(6 * BAR, 7 * BAR, "D:min", 2, 1.0,
                                                  "generated"))
    lane = lane_index(s, chords)
    s.view.set_grid("bar")
    _answer("Am")
    double_click(s.canvas, at(s, BAR / 2, lane))
    drag(s.canvas, at(s, 2.5 * BAR, lane), at(s, 3.5 * BAR, lane))
    drag(s.canvas, at(s, 6.5 * BAR, lane), at(s, 7.5 * BAR, lane))
    items = s.doc.chords(chords)
    assert (items[renamed].label, items[renamed].source) == ("A:min", "played")
    assert (items[moved].start, items[moved].source) == (3 * BAR, "played")
    assert items[kept].source == "recognized"  # untouched: analysis may replace it
    assert (items[generated].start, items[generated].source) == (7 * BAR, "generated")
    assert s.doc.undo() and s.doc.chords(chords)[generated].start == 6 * BAR


def test_a_bad_chord_name_says_so_and_changes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    chords = s.doc.add_track("chord", "Chords")
    cid = s.doc.add_chord(chords, ChordItem(0, BAR, "C:maj"))
    s.doc.clear_undo_history()
    lane = lane_index(s, chords)
    _answer("Hmaj")
    double_click(s.canvas, at(s, BAR / 2, lane))
    assert s.doc.chords(chords)[cid].label == "C:maj"
    assert "Hmaj" in s.notices.texts()["arrange"]
    assert not s.doc.can_undo()
