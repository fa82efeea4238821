"""Editing notes in the piano roll with the mouse and keys, on a real document:
each gesture is one undo step, and the view follows changes from any source."""

from __future__ import annotations

from piano_roll_support import (
    BAR,
    SIXTEENTH,
    Song,
    at,
    click,
    double_click,
    drag,
    make_song,
    move,
    press,
    release,
    show_roll,
)
from PySide6.QtCore import QPointF, QRect, Qt
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.piano_roll import PianoRoll

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def _undo_restores(song: Song, before: dict[str, Note]) -> None:
    """The gesture was one undo step: one undo brings back exactly `before`."""
    assert song.doc.undo()
    assert song.notes() == before


def test_opens_a_clip_and_refuses_what_is_not_one(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ), Note(64, PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    assert roll.clip_id == song.clip_id
    assert "Keys" in roll.title.text() and "Verse" in roll.title.text()
    assert set(roll.editor.notes) == set(song.notes())
    roll.grid.repaint()
    assert roll.grid.paint_count == 2
    assert roll.grid.channel == 2 and roll.auditioner.channel == 2
    audio = song.doc.add_track("audio", "Voice")
    region = song.doc.add_audio_region(audio, "a" * 64, 0, BAR)
    try:
        roll.open_clip(region)
    except ValueError as exc:
        assert "MIDI" in str(exc)
    else:
        raise AssertionError("an audio region opened in the piano roll")
    assert roll.clip_id == song.clip_id  # still showing the MIDI clip


def test_draw_with_the_pencil_and_by_double_click(qtbot: QtBot) -> None:
    song = make_song()
    roll = show_roll(qtbot, song)
    grid = roll.grid
    roll.set_tool("draw")
    # A click in the middle of a sixteenth cell puts a note at the cell's start.
    click(grid, at(roll, BAR + SIXTEENTH * 2.5, 62))
    assert song.only() == Note(62, BAR + 2 * SIXTEENTH, SIXTEENTH, 100, 2)
    _undo_restores(song, {})
    # Dragging right draws a longer note, still one undo step.
    drag(grid, at(roll, PPQ + 10, 65), at(roll, 2 * PPQ + SIXTEENTH * 0.9, 65))
    assert song.only() == Note(65, PPQ, PPQ + SIXTEENTH, 100, 2)
    _undo_restores(song, {})
    # With the select tool a double-click draws.
    roll.set_tool("select")
    double_click(grid, at(roll, 3 * PPQ + 5, 70))
    assert song.only() == Note(70, 3 * PPQ, SIXTEENTH, 100, 2)
    assert roll.editor.selection == set(song.notes())
    _undo_restores(song, {})


def test_select_by_click_shift_click_rubber_band_and_ctrl_a(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ), Note(62, PPQ, PPQ), Note(64, 2 * PPQ, PPQ),
                      Note(72, 6 * PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    grid, ed = roll.grid, roll.editor
    ids = {n.pitch: nid for nid, n in song.notes().items()}
    click(grid, at(roll, PPQ / 2, 60))
    assert ed.selection == {ids[60]}
    click(grid, at(roll, PPQ * 1.5, 62), SHIFT)
    assert ed.selection == {ids[60], ids[62]}
    click(grid, at(roll, PPQ * 1.5, 62), SHIFT)  # Shift-click again takes it out
    assert ed.selection == {ids[60]}
    # A rubber band from empty space over the first three notes.
    drag(grid, at(roll, PPQ * 0.5, 66), at(roll, PPQ * 2.5, 61))
    assert ed.selection == {ids[62], ids[64]}
    drag(grid, at(roll, PPQ * 5.5, 75), at(roll, PPQ * 6.5, 70), SHIFT)  # adds
    assert ed.selection == {ids[62], ids[64], ids[72]}
    click(grid, at(roll, PPQ * 4, 50))  # empty space clears
    assert ed.selection == set()
    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    assert ed.selection == set(ids.values())
    qtbot.keyClick(grid, Qt.Key.Key_Escape)
    assert ed.selection == set()
    assert not song.doc.can_undo()  # selecting is not an edit


def test_move_in_time_and_pitch_snapped_and_free(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ, 90), Note(64, PPQ, PPQ, 80)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    # Grab the first note a little inside and drag it by a beat and a bit, up 3 rows.
    drag(grid, at(roll, PPQ * 0.3, 60), at(roll, PPQ * 1.3 + 30, 63))
    moved = sorted(song.notes().values(), key=lambda n: n.start)
    assert moved == [Note(63, PPQ, PPQ, 90), Note(67, 2 * PPQ, PPQ, 80)]  # both, on the grid
    _undo_restores(song, before)
    # Snap off: the note moves by exactly what the mouse moved (to the tick).
    roll.set_snap("Off")
    nid = next(k for k, n in before.items() if n.pitch == 60)
    roll.editor.select([nid])
    vp = roll.viewport
    start = at(roll, PPQ * 0.3, 60)
    drag(grid, start, start + QPointF(37 * 1.0, 0))
    expected = round((PPQ * 0.3 * vp.px_per_tick + 37) / vp.px_per_tick - PPQ * 0.3)
    assert abs(song.notes()[nid].start - expected) <= 1
    assert song.notes()[nid].start % SIXTEENTH != 0
    _undo_restores(song, before)
    # Snap on, Alt held while dragging: free placement too.
    roll.set_snap("1/16")
    drag(grid, start, start + QPointF(37, 0), ALT)
    assert song.notes()[nid].start % SIXTEENTH != 0
    _undo_restores(song, before)
    # Notes cannot be dragged before the clip's start or off the keyboard.
    drag(grid, at(roll, PPQ * 0.3, 60), at(roll, 0, 60) - QPointF(200, 0))
    assert song.notes()[nid].start == 0


def test_resize_right_and_left_edges(qtbot: QtBot) -> None:
    song = make_song([Note(60, PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    nid = next(iter(before))
    rect = grid.note_rect(before[nid])
    right = QPointF(rect.right() - 2, rect.center().y())
    drag(grid, right, right + QPointF(roll.viewport.px_per_tick * PPQ, 0))
    assert song.notes()[nid] == Note(60, PPQ, 2 * PPQ)
    _undo_restores(song, before)
    left = QPointF(rect.left() + 2, rect.center().y())
    drag(grid, left, left + QPointF(roll.viewport.px_per_tick * PPQ / 2, 0))
    assert song.notes()[nid] == Note(60, PPQ + PPQ // 2, PPQ // 2)  # the end stays put
    _undo_restores(song, before)
    # Never shorter than one grid step.
    drag(grid, right, right - QPointF(roll.viewport.px_per_tick * PPQ * 3, 0))
    assert song.notes()[nid].length == SIXTEENTH


def test_delete_by_key_erase_tool_and_right_click(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ), Note(62, PPQ, PPQ), Note(64, 2 * PPQ, PPQ),
                      Note(65, 3 * PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    click(grid, at(roll, PPQ / 2, 60))
    click(grid, at(roll, PPQ * 1.5, 62), SHIFT)
    qtbot.keyClick(grid, Qt.Key.Key_Delete)
    assert sorted(n.pitch for n in song.notes().values()) == [64, 65]
    _undo_restores(song, before)
    # The eraser removes every note it passes over, in one undo step.
    roll.set_tool("erase")
    press(grid, at(roll, PPQ * 2.5, 64))
    move(grid, at(roll, PPQ * 3.5, 65))
    release(grid, at(roll, PPQ * 3.5, 65))
    assert sorted(n.pitch for n in song.notes().values()) == [60, 62]
    _undo_restores(song, before)
    roll.set_tool("select")
    click(grid, at(roll, PPQ / 2, 60), button=Qt.MouseButton.RightButton)
    assert sorted(n.pitch for n in song.notes().values()) == [62, 64, 65]
    _undo_restores(song, before)


def test_velocity_lane_sets_the_clicked_note_or_the_selection(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ, 100), Note(62, PPQ, PPQ, 100), Note(64, 2 * PPQ, PPQ, 50)])
    roll = show_roll(qtbot, song)
    lane = roll.velocity
    before = song.notes()
    ids = {n.pitch: nid for nid, n in before.items()}
    top = lane.y_of_velocity(127)
    low = lane.y_of_velocity(20)
    # An unselected note's bar: only that note changes, following the drag.
    drag(lane, QPointF(lane.bar_x(ids[64]), low), QPointF(lane.bar_x(ids[64]), top))
    assert song.notes()[ids[64]].velocity == 127
    assert song.notes()[ids[60]].velocity == 100
    _undo_restores(song, before)
    # A selected note's bar: the whole selection.
    roll.editor.select([ids[60], ids[62]])
    drag(lane, QPointF(lane.bar_x(ids[62]), top), QPointF(lane.bar_x(ids[62]), low))
    assert [song.notes()[ids[p]].velocity for p in (60, 62, 64)] == [20, 20, 50]
    _undo_restores(song, before)


def test_transpose_with_arrows_and_octaves_with_shift(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ), Note(120, PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    ids = {n.pitch: nid for nid, n in before.items()}
    click(grid, at(roll, PPQ / 2, 60))
    qtbot.keyClick(grid, Qt.Key.Key_Up)
    assert song.notes()[ids[60]].pitch == 61
    qtbot.keyClick(grid, Qt.Key.Key_Down, SHIFT)
    assert song.notes()[ids[60]].pitch == 49
    assert song.doc.undo() and song.notes()[ids[60]].pitch == 61  # one step per key
    _undo_restores(song, before)
    # Right moves by the grid; nothing can leave the MIDI range.
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert song.notes()[ids[60]].start == SIXTEENTH
    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    qtbot.keyClick(grid, Qt.Key.Key_Up, SHIFT)  # 120 + 12 > 127: refused as a whole
    assert song.notes()[ids[120]].pitch == 120 and song.notes()[ids[60]].pitch == 60
    assert "range" in roll.note_label.text()


def test_copy_paste_and_duplicate(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ, 70), Note(64, PPQ // 2, PPQ, 80)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    qtbot.keyClick(grid, Qt.Key.Key_C, CTRL)
    click(grid, at(roll, 2 * BAR + 10, 40))  # the paste position: a click on empty space
    qtbot.keyClick(grid, Qt.Key.Key_V, CTRL)
    pasted = sorted((n for nid, n in song.notes().items() if nid not in before),
                    key=lambda n: n.start)
    assert pasted == [Note(60, 2 * BAR, PPQ, 70), Note(64, 2 * BAR + PPQ // 2, PPQ, 80)]
    assert roll.editor.selection == set(song.notes()) - set(before)
    _undo_restores(song, before)
    # Duplicate puts a copy right after the selection (its span rounded to the grid).
    roll.editor.select(before)
    qtbot.keyClick(grid, Qt.Key.Key_D, CTRL)
    copies = sorted((n for nid, n in song.notes().items() if nid not in before),
                    key=lambda n: n.start)
    span = PPQ + PPQ // 2
    assert copies == [Note(60, span, PPQ, 70), Note(64, span + PPQ // 2, PPQ, 80)]
    _undo_restores(song, before)


def test_view_follows_undo_and_a_partners_edits(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ)])
    roll = show_roll(qtbot, song)
    partner = Document.from_state(song.doc.state())
    partner.add_notes(song.clip_id, [Note(67, BAR, PPQ), Note(69, BAR, PPQ)])
    song.doc.apply_update(partner.update_since(song.doc.state_vector()))
    assert sorted(n.pitch for n in roll.editor.notes.values()) == [60, 67, 69]
    roll.grid.repaint()
    assert roll.grid.paint_count == 3
    assert "3 notes" in roll.note_label.text()
    # A selected note that a partner deletes leaves the selection.
    roll.editor.select_all()
    gone = next(k for k, n in partner.notes(song.clip_id).items() if n.pitch == 67)
    partner.remove_notes(song.clip_id, [gone])
    song.doc.apply_update(partner.update_since(song.doc.state_vector()))
    assert gone not in roll.editor.notes and gone not in roll.editor.selection
    # The clip's length and loop show; a partner removing the clip closes it.
    song.doc.update_clip(song.clip_id, length=2 * BAR)
    assert roll.grid.clip_length == 2 * BAR
    song.doc.set_loop(BAR, 2 * BAR, True)
    assert roll.grid.loop == (BAR, 2 * BAR)
    song.doc.remove_clip(song.clip_id)
    assert roll.clip_id is None and roll.editor.notes == {}
    assert song.doc.undo() and song.doc.clip(song.clip_id)
    roll.open_clip(song.clip_id)
    assert len(roll.editor.notes) == 2


def test_scale_highlighting_and_view_settings(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ)])
    roll = show_roll(qtbot, song)
    roll.scale_box.setCurrentText("Minor pentatonic")
    roll.key_box.setCurrentIndex(9)  # A
    assert (roll.grid.key_root, roll.grid.scale) == (9, "Minor pentatonic")
    image = roll.grid.grab().toImage()
    vp = roll.viewport
    x = round(vp.x_of(3 * BAR))  # clear of the note, between grid lines
    x += 3

    def row_colour(pitch: int) -> int:
        return image.pixel(x, round(vp.y_of(pitch) + vp.row_height / 2))

    # A minor pentatonic: A C D E G. B (71) and F (65) are shaded; A is the root row.
    in_rows = {row_colour(p) for p in (60, 62, 64, 67)}
    assert len(in_rows) == 1
    assert row_colour(71) == row_colour(65) != row_colour(64)
    assert row_colour(69) not in in_rows | {row_colour(71)}
    zoom = vp.px_per_tick
    roll.viewport.zoom_x(2.0)
    assert vp.px_per_tick == 2 * zoom
    before = roll.hbar.value()
    roll.viewport.scroll_to(x=vp.scroll_x + 100)
    assert roll.hbar.value() == before + 100
    roll.vbar.setValue(roll.vbar.value() - 24)
    assert vp.scroll_y == roll.vbar.value()


def test_playhead_repaints_only_a_strip_and_follows_playback(qtbot: QtBot) -> None:
    notes = [Note(36 + i % 48, (i * 37) % (4 * BAR - PPQ), PPQ // 2) for i in range(2000)]
    song = make_song(notes)
    roll = show_roll(qtbot, song)
    grid = roll.grid
    grid.repaint()
    total = grid.paint_count
    assert total > 100
    roll.set_playhead(PPQ, True)
    x = round(roll.viewport.x_of(PPQ))
    grid.repaint(QRect(x - 2, 0, 5, grid.height()))
    assert 0 < grid.paint_count < total / 5  # only the notes near the strip
    # Playing past the right edge pages the view; stopped, it stays.
    width_ticks = roll.viewport.width / roll.viewport.px_per_tick
    roll.set_playhead(width_ticks + PPQ, True)
    assert 0 <= roll.viewport.x_of(width_ticks + PPQ) < roll.viewport.width
    scrolled = roll.viewport.scroll_x
    roll.set_playhead(0, False)
    assert roll.viewport.scroll_x == scrolled


def test_read_only_project_is_shown_but_not_edited(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ)])
    ro = Document(song.doc.ydoc, read_only_reason="newer schema")
    roll = show_roll(qtbot, Song(ro, song.track_id, song.clip_id), PianoRoll(None, ro))
    before = song.notes()
    drag(roll.grid, at(roll, PPQ / 2, 60), at(roll, PPQ * 2, 64))
    qtbot.keyClick(roll.grid, Qt.Key.Key_Delete)
    assert song.notes() == before
    assert "read-only" in roll.note_label.text()


def test_a_click_with_snap_off_draws_a_default_note(qtbot: QtBot) -> None:
    song = make_song()
    roll = show_roll(qtbot, song)
    roll.set_tool("draw")
    roll.set_snap("Off")
    click(roll.grid, at(roll, PPQ + 0.4 * SIXTEENTH, 60))
    note = song.only()
    assert note.length == SIXTEENTH and abs(note.start - (PPQ + 0.4 * SIXTEENTH)) <= 2
    # Dragged back to short after stretching, it keeps at least one tick.
    song.doc.undo()
    start = at(roll, PPQ, 60)
    press(roll.grid, start)
    move(roll.grid, start + QPointF(roll.viewport.px_per_tick * PPQ, 0))
    release(roll.grid, start + QPointF(1, 0))
    assert 1 <= song.only().length <= 2 / roll.viewport.px_per_tick


def test_clicks_do_not_edit_and_the_view_copy_matches_the_document(qtbot: QtBot) -> None:
    # Off the grid and shorter than it: a click (even a wobbly one) changes nothing.
    song = make_song([Note(60, 714, 120), Note(62, 2 * PPQ, PPQ)])
    roll = show_roll(qtbot, song)
    grid = roll.grid
    before = song.notes()
    short = next(n for n in before.values() if n.pitch == 60)
    rect = grid.note_rect(short)
    for x in (rect.center().x(), rect.right() - 1, rect.left() + 1):
        pos = QPointF(x, rect.center().y())
        press(grid, pos)
        move(grid, pos + QPointF(1, 1))
        release(grid, pos + QPointF(1, 1))
    assert song.notes() == before
    assert not song.doc.can_undo()

    def same() -> bool:
        # The roll patches its copy on its own edits instead of reading every note back.
        return roll.editor.notes == song.notes()

    roll.set_tool("draw")
    drag(grid, at(roll, 3 * PPQ, 70), at(roll, 5 * PPQ, 70))
    assert same() and len(song.notes()) == 3
    roll.set_tool("select")
    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    drag(grid, at(roll, 2.5 * PPQ, 62), at(roll, 3.5 * PPQ, 65))
    assert same()
    qtbot.keyClick(grid, Qt.Key.Key_D, CTRL)
    assert same() and len(song.notes()) == 6
    roll.set_tool("erase")
    drag(grid, at(roll, 3.5 * PPQ, 65), at(roll, 3.5 * PPQ, 60))
    assert same()
    song.doc.undo()
    assert same()
