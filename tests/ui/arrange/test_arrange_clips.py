"""Clip gestures on the arrangement canvas, each checked in the document and undone
with one Document.undo()."""

from __future__ import annotations

from pathlib import Path

from arrange_support import (
    ALT,
    BAR,
    CTRL,
    NO_MODS,
    SHIFT,
    at,
    click,
    double_click,
    drag,
    make_song,
)
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import MidiClip, Note
from strumspace_desktop.core.timing import PPQ


def test_drag_moves_a_clip_on_the_grid_and_undo_puts_it_back(qtbot: QtBot,
                                                             tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    # Grab the clip in its middle and drag a little more than two bars right.
    drag(s.canvas, at(s, BAR, 0), at(s, 3 * BAR + PPQ * 0.3, 0))
    assert s.doc.clip(s.clip).start == 2 * BAR  # snapped to the beat
    assert s.doc.clip(s.clip).track_id == s.piano
    assert s.canvas.selected == {s.clip}
    assert s.doc.undo()
    assert s.doc.clip(s.clip).start == 0
    assert not s.doc.can_undo()  # the whole drag was one step


def test_drag_to_another_track_of_the_same_kind_only(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    chords = s.doc.add_track("chord", "Chords")  # lane 2, below the two MIDI lanes
    s.doc.clear_undo_history()
    drag(s.canvas, at(s, BAR, 0), at(s, BAR, 1))
    assert s.doc.clip(s.clip).track_id == s.bass
    drag(s.canvas, at(s, BAR, 1), at(s, BAR, 2))
    assert s.doc.clip(s.clip).track_id == s.bass  # a MIDI clip never lands on a chord track
    assert s.canvas.model.lane_of(chords) is not None
    s.doc.undo()
    assert s.doc.clip(s.clip).track_id == s.piano


def test_snap_choices_and_bypass_while_dragging(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    s.view.set_grid("bar")
    drag(s.canvas, at(s, BAR, 0), at(s, BAR + 1.6 * BAR, 0))
    assert s.doc.clip(s.clip).start == 2 * BAR
    s.view.set_grid("1/16")
    drag(s.canvas, at(s, 3 * BAR, 0), at(s, 3 * BAR + 250, 0))
    assert s.doc.clip(s.clip).start == 2 * BAR + 240
    s.view.set_grid("1/8t")
    drag(s.canvas, at(s, 3 * BAR, 0), at(s, 3 * BAR + 500, 0))
    assert (s.doc.clip(s.clip).start - 2 * BAR) % (PPQ // 3) == 0
    for bypass in (ALT, SHIFT):
        s.view.set_grid("bar")
        before = s.doc.clip(s.clip).start
        drag(s.canvas, at(s, before + BAR, 0), at(s, before + BAR + 700, 0), bypass)
        moved = s.doc.clip(s.clip).start - before
        assert moved % BAR != 0 and abs(moved - 700) < 2 / s.canvas.timeline.px_per_tick
    s.view.set_grid("off")
    before = s.doc.clip(s.clip).start
    drag(s.canvas, at(s, before + BAR, 0), at(s, before + BAR + 333, 0))
    assert abs(s.doc.clip(s.clip).start - before - 333) < 2 / s.canvas.timeline.px_per_tick


def test_resize_edges_keep_notes_in_place_in_the_song(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    # Right edge from bar 3 to bar 4.
    drag(s.canvas, at(s, 2 * BAR - 1, 0), at(s, 3 * BAR, 0))
    assert s.doc.clip(s.clip).length == 3 * BAR
    # Left edge from tick 0 to beat 3: the first note (tick 0) goes, the others stay put.
    drag(s.canvas, at(s, 1, 0), at(s, 2 * PPQ, 0))
    clip = s.doc.clip(s.clip)
    assert (clip.start, clip.end) == (2 * PPQ, 3 * BAR)
    song_starts = sorted(clip.start + n.start for n in s.doc.notes(s.clip).values())
    assert song_starts == [2 * PPQ, 4 * PPQ, 6 * PPQ]
    assert s.doc.undo()
    assert sorted(n.start for n in s.doc.notes(s.clip).values()) == [0, 2 * PPQ, 4 * PPQ,
                                                                     6 * PPQ]
    assert s.doc.clip(s.clip).start == 0
    assert s.doc.undo()
    assert s.doc.clip(s.clip).length == 2 * BAR


def test_split_tool_and_split_at_playhead(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    s.view.set_tool("split")
    click(s.canvas, at(s, BAR + 30, 0))  # snaps to bar 2
    clips = s.doc.clips(s.piano)
    assert [(c.start, c.length) for c in clips] == [(0, BAR), (BAR, BAR)]
    assert [n.start for n in s.doc.notes(clips[1].id).values()] == [0, 2 * PPQ] or sorted(
        n.start for n in s.doc.notes(clips[1].id).values()) == [0, 2 * PPQ]
    assert len(s.doc.notes(clips[0].id)) == 2
    assert s.doc.undo()
    assert len(s.doc.clips(s.piano)) == 1 and len(s.doc.notes(s.clip)) == 4
    s.view.set_tool("pointer")
    s.canvas.show_playhead(PPQ, False)
    s.canvas.setFocus()
    qtbot.keyClick(s.canvas, Qt.Key.Key_E, CTRL)
    clips = s.doc.clips(s.piano)
    assert [(c.start, c.length) for c in clips] == [(0, PPQ), (PPQ, 2 * BAR - PPQ)]
    # The note across the cut ends there (it started at 0 and was a beat long: unchanged).
    assert [n.length for n in s.doc.notes(clips[0].id).values()] == [PPQ]
    assert s.doc.undo() and len(s.doc.clips(s.piano)) == 1


def test_duplicate_with_ctrl_d_and_ctrl_drag(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    click(s.canvas, at(s, BAR, 0))
    qtbot.keyClick(s.canvas, Qt.Key.Key_D, CTRL)
    clips = s.doc.clips(s.piano)
    assert [c.start for c in clips] == [0, 2 * BAR]
    assert len(s.doc.notes(clips[1].id)) == 4
    assert s.canvas.selected == {clips[1].id}
    assert s.doc.undo() and len(s.doc.clips(s.piano)) == 1
    drag(s.canvas, at(s, BAR, 0), at(s, 5 * BAR, 1), CTRL)
    assert [c.start for c in s.doc.clips(s.piano)] == [0]  # the original stays
    (copy,) = s.doc.clips(s.bass)
    assert copy.start == 4 * BAR and len(s.doc.notes(copy.id)) == 4
    assert s.doc.undo() and not s.doc.clips(s.bass)


def test_select_rubber_band_shift_click_and_delete(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    other = s.doc.add_midi_clip(s.bass, 4 * BAR, BAR, "Fill")
    third = s.doc.add_midi_clip(s.bass, 8 * BAR, BAR, "End")
    s.doc.clear_undo_history()
    click(s.canvas, at(s, BAR, 0))
    click(s.canvas, at(s, 4.5 * BAR, 1), SHIFT)
    assert s.canvas.selected == {s.clip, other}
    click(s.canvas, at(s, 4.5 * BAR, 1), CTRL)  # Ctrl-click toggles it off again
    assert s.canvas.selected == {s.clip}
    click(s.canvas, at(s, 12 * BAR, 1))
    assert s.canvas.selected == set()
    # A band from bar 4 in the piano lane to bar 10 in the bass lane.
    drag(s.canvas, at(s, 3.5 * BAR, 0, 5), at(s, 10 * BAR, 1))
    assert s.canvas.selected == {other, third}
    s.canvas.setFocus()
    qtbot.keyClick(s.canvas, Qt.Key.Key_Delete)
    assert {c.id for c in s.doc.clips()} == {s.clip}
    assert s.doc.undo()
    assert {c.id for c in s.doc.clips()} == {s.clip, other, third}


def test_double_click_opens_a_midi_clip_and_creates_one_on_an_empty_lane(
        qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    with qtbot.waitSignal(s.view.open_clip_requested) as blocker:
        double_click(s.canvas, at(s, BAR, 0))
    assert blocker.args == [s.clip]
    double_click(s.canvas, at(s, 5.5 * BAR, 1))
    (made,) = s.doc.clips(s.bass)
    assert isinstance(made, MidiClip) and (made.start, made.length) == (5 * BAR + 2 * PPQ, BAR)
    assert s.doc.undo() and not s.doc.clips(s.bass)


def test_zoom_with_ctrl_wheel_keeps_the_tick_under_the_mouse(qtbot: QtBot,
                                                             tmp_path: Path) -> None:
    from arrange_support import wheel

    s = make_song(qtbot, tmp_path)
    tl = s.canvas.timeline
    before = tl.px_per_tick
    pos = at(s, 6 * BAR, 0)
    wheel(s.canvas, pos, 120, CTRL)
    assert tl.px_per_tick > before
    assert abs(tl.tick_at(pos.x()) - 6 * BAR) < 1
    s.canvas.setFocus()
    qtbot.keyClick(s.canvas, Qt.Key.Key_Minus, CTRL)
    qtbot.keyClick(s.canvas, Qt.Key.Key_Minus, CTRL)
    assert tl.px_per_tick < before
    # Shift+wheel scrolls sideways; a plain wheel is left to the window's scroll area.
    wheel(s.canvas, pos, -240, SHIFT)
    assert tl.scroll == 240 and s.view.scrollbar.value() == 240
    event = wheel(s.canvas, pos, -120, NO_MODS)
    assert not event.isAccepted()
    s.view.scrollbar.setValue(0)
    assert tl.scroll == 0


def test_takes_show_the_active_one_and_the_menu_picks_another(qtbot: QtBot,
                                                              tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    first = s.doc.add_midi_clip(s.bass, 0, BAR, "Pass 1", take_group="g", take=1,
                                muted=True)
    second = s.doc.add_midi_clip(s.bass, 0, BAR, "Pass 2", take_group="g", take=2)
    s.doc.add_notes(first, [Note(40, 0, PPQ)])
    s.doc.clear_undo_history()
    shown = {cv.clip.id for cv in s.canvas.visible_clips()}
    assert second in shown and first not in shown
    menu = s.canvas.context_menu(at(s, BAR / 2, 1))
    takes = next(a.menu() for a in menu.actions() if a.text() == "Takes")
    assert isinstance(takes, QMenu)
    take1 = next(a for a in takes.actions() if a.text().startswith("Take 1"))
    take1.trigger()
    assert not s.doc.clip(first).muted and s.doc.clip(second).muted
    assert first in {cv.clip.id for cv in s.canvas.visible_clips()}
    assert s.doc.undo()
    assert s.doc.clip(first).muted and not s.doc.clip(second).muted


def test_playhead_follows_by_page_and_repaints_only_its_strips(qtbot: QtBot,
                                                               tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    width = s.canvas.width()
    far = round(s.canvas.timeline.tick_at(width + 50))
    s.canvas.show_playhead(far, True)
    assert s.canvas.timeline.scroll > 0
    assert 0 <= s.canvas.timeline.x_of(far) < width
    s.view.set_follow("off")
    scroll = s.canvas.timeline.scroll
    s.canvas.show_playhead(far * 3, True)
    assert s.canvas.timeline.scroll == scroll
    # Cached clip tiles: moving the playhead and repainting draws no clip content again.
    s.canvas.set_scroll(0)
    s.canvas.repaint()
    rendered = s.canvas.cache.rendered
    for tick in range(0, BAR, PPQ // 4):
        s.canvas.show_playhead(tick, True)
        s.canvas.repaint()
    assert s.canvas.cache.rendered == rendered
    assert QPointF(0, 0) == QPointF(0, 0)
