"""The Generate panel and the chord lane's next-chord hint, on a real generation worker
with the committed model (possibly a smoke model: these tests check behaviour, never
musical quality): generate -> variations listed -> keep -> in the song -> one undo
takes it back; cancel changes nothing; a suggested chord is inserted; errors are shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gen_ui_support import (
    BAR,
    GEN_WAIT_MS,
    Song,
    add_chords,
    add_melody,
    damaged_model_dir,
    fresh_song,
    generation_window,
)
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import MidiClip, Note
from strumspace_desktop.generate.events import Cancelled, Failed, Progress, Result
from strumspace_desktop.ui.generate import GenerationBridge
from strumspace_desktop.ui.generate.panel import NOTICE_KEY
from strumspace_desktop.ui.generate.suggest import MENU_TEXT
from strumspace_desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def window(qapp: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainWindow]:
    with generation_window(tmp_path_factory.mktemp("gen-ui")) as w:
        yield w


@pytest.fixture
def song(window: MainWindow) -> Song:
    return fresh_song(window)


def _clips(song: Song) -> list[MidiClip]:
    return [c for c in song.doc.clips() if isinstance(c, MidiClip)]


def test_the_prompt_line_says_what_to_select(song: Song) -> None:
    panel = song.panel
    panel.set_task("continue")
    assert "select the clip" in panel.prompt_label.text()
    assert not panel.generate_button.isEnabled()
    assert panel.generate() is None  # nothing submitted
    panel.set_task("melody")
    assert "Chords field" in panel.prompt_label.text()
    panel.chords_edit.setText("C G Am F")
    assert panel.generate_button.isEnabled()
    assert "typed chords C G Am F" in panel.prompt_label.text()
    panel.chords_edit.setText("")
    panel.set_task("next-chord")
    assert "Next chord needs chords" in panel.prompt_label.text()


def test_continue_lists_variations_and_keep_is_one_undo_step(qtbot: QtBot, song: Song) -> None:
    track, clip = add_melody(song)
    panel = song.panel
    canvas = song.window.arrange.canvas
    canvas.select(clips={clip}, chords=set())
    panel.set_task("continue")
    assert "7 notes, 2 bars" in panel.prompt_label.text()
    panel.bars.setValue(2)
    panel.variations_spin.setValue(2)
    progress: list[float] = []
    panel.bridge.received.connect(
        lambda e: progress.append(e.fraction) if isinstance(e, Progress) else None)
    with qtbot.waitSignal(panel.result_listed, timeout=GEN_WAIT_MS):
        job = panel.generate()
        assert job is not None
        assert not panel.generate_button.isEnabled() and panel.cancel_button.isEnabled()
    assert panel.results.count() == 2
    assert all(v.piece is not None and len(v.piece.notes) for v in panel.variations)
    assert panel.progress.value() == 100 and progress  # progress was reported
    assert panel.backend_label.text().startswith("Model: onnx")
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.results.setCurrentRow(0)
    panel.play_selected()  # no engine in this window: said so, nothing breaks
    assert "No audio engine" in panel.audition_label.text()
    panel.preview.stop()

    before = {c.id for c in _clips(song)}
    panel.results.setCurrentRow(1)
    kept = panel.keep_selected()
    assert kept is not None and kept.clip is not None  # type: ignore[attr-defined]
    new = [c for c in _clips(song) if c.id not in before]
    assert len(new) == 1
    assert new[0].track_id == track and new[0].start == 2 * BAR  # right after the prompt
    kept_piece = panel.variations[1].piece
    assert kept_piece is not None and len(song.doc.notes(new[0].id)) == len(kept_piece.notes)
    assert "kept" in panel.results.item(1).text() and not panel.keep_button.isEnabled()
    song.window.projects.undo()  # Edit > Undo, once
    assert {c.id for c in _clips(song)} == before
    assert len(song.doc.notes(clip)) == 7  # the prompt is untouched


def test_cancel_stops_the_job_and_changes_nothing(qtbot: QtBot, song: Song) -> None:
    panel = song.panel
    panel.set_task("melody")
    panel.chords_edit.setText("C G Am F")
    panel.bars.setValue(64)
    panel.variations_spin.setValue(8)
    ends: list[object] = []

    def on_event(event: object) -> None:
        if isinstance(event, Progress) and panel.job == event.job:
            panel.cancel()  # as soon as it runs
        if isinstance(event, Result | Failed | Cancelled):
            ends.append(event)

    panel.bridge.received.connect(on_event)
    try:
        job = panel.generate()
        qtbot.waitUntil(lambda: panel.job is None, timeout=GEN_WAIT_MS)
    finally:
        panel.bridge.received.disconnect(on_event)
    assert [type(e) for e in ends if e.job == job] == [Cancelled]  # type: ignore[attr-defined]
    assert panel.status_label.text().startswith("Cancelled")
    assert panel.results.count() == 0
    assert not _clips(song) and not song.doc.can_undo()
    assert panel.generate_button.isEnabled()
    panel.chords_edit.setText("")


def test_harmonize_keeps_chords_on_the_chord_track_in_one_step(qtbot: QtBot,
                                                                song: Song) -> None:
    _track, clip = add_melody(song)
    chord_track = add_chords(song, [])
    song.window.arrange.canvas.select(clips={clip}, chords=set())
    panel = song.panel
    panel.set_task("harmonize")
    panel.variations_spin.setValue(1)
    with qtbot.waitSignal(panel.result_listed, timeout=GEN_WAIT_MS):
        panel.generate()
    assert panel.results.count() == 1
    panel.results.setCurrentRow(0)
    kept = panel.keep_selected()
    assert kept is not None
    chords = song.doc.chords(chord_track)
    assert chords and min(c.start for c in chords.values()) == 0
    assert all(c.source == "generated" for c in chords.values())
    song.window.projects.undo()
    assert not song.doc.chords(chord_track)
    assert len(_clips(song)) == 1  # the melody stays


def test_the_chord_lane_suggests_and_inserts_a_next_chord(qtbot: QtBot, song: Song) -> None:
    track = add_chords(song, ["C:maj", "A:min", "F:maj"])
    canvas = song.window.arrange.canvas
    lane = canvas.model.lane_of(track)
    assert lane is not None
    from PySide6.QtCore import QPointF

    from strumspace_desktop.ui.arrange.hits import lane_top

    pos = QPointF(canvas.timeline.x_of(int(3.5 * BAR)), lane_top(lane.index) + 10)
    menu = canvas.context_menu(pos)
    action = next(a for a in menu.actions() if a.text() == MENU_TEXT)
    assert action.isEnabled()
    action.trigger()
    suggester = song.window.generation_dock.suggester
    popup = suggester.popup
    assert popup is not None and popup.isVisible()
    qtbot.waitUntil(lambda: bool(popup.buttons), timeout=GEN_WAIT_MS)
    assert len(popup.buttons) >= 1
    before = dict(song.doc.chords(track))
    with qtbot.waitSignal(suggester.inserted) as blocker:
        popup.buttons[0].click()
    cid = blocker.args[0]
    item = song.doc.chords(track)[cid]
    assert (item.start, item.end) == (3 * BAR, 4 * BAR)  # the bar after the last chord
    assert item.source == "generated" and item.label != "N"
    assert canvas.selected_chords == {(track, cid)}
    assert suggester.popup is None  # closed after the choice
    song.window.projects.undo()
    assert song.doc.chords(track) == before


def test_the_panel_next_chord_task_keeps_a_suggestion(qtbot: QtBot, song: Song) -> None:
    track = add_chords(song, ["G:maj", "D:maj"])
    panel = song.panel
    panel.set_task("next-chord")
    assert "after G D" in panel.prompt_label.text()
    with qtbot.waitSignal(panel.result_listed, timeout=GEN_WAIT_MS):
        panel.generate()
    assert panel.results.count() >= 1 and "%" in panel.results.item(0).text()
    panel.results.setCurrentRow(0)
    cid = panel.keep_selected()
    assert isinstance(cid, str)
    assert song.doc.chords(track)[cid].start == 2 * BAR
    song.window.projects.undo()
    assert len(song.doc.chords(track)) == 2


def test_bad_input_from_the_generator_is_shown(qtbot: QtBot, song: Song) -> None:
    panel = song.panel
    panel.set_task("melody")
    panel.chords_edit.setText("C Zq7 Am")  # not a chord the generator reads
    with qtbot.waitSignal(panel.bridge.received, timeout=GEN_WAIT_MS,
                          check_params_cb=lambda e: isinstance(e, Failed)):
        panel.generate()
    qtbot.waitUntil(lambda: panel.job is None, timeout=GEN_WAIT_MS)
    assert "Zq7" in panel.message_label.text()
    assert panel.status_label.text() == "Generation failed."
    assert NOTICE_KEY in song.window.notices.texts()
    assert not _clips(song) and panel.results.count() == 0
    panel.chords_edit.setText("")


def test_the_generator_notices_are_listed(qtbot: QtBot, song: Song) -> None:
    doc = song.doc
    track = next(t.id for t in doc.tracks() if t.kind == "midi")
    clip = doc.add_midi_clip(track, 0, BAR, "One note")
    doc.add_notes(clip, [Note(64, 0, 960, 90)])
    song.window.arrange.canvas.select(clips={clip}, chords=set())
    panel = song.panel
    panel.set_task("continue")
    panel.bars.setValue(1)
    panel.variations_spin.setValue(1)
    with qtbot.waitSignal(panel.result_listed, timeout=GEN_WAIT_MS):
        panel.generate()
    assert "single note" in panel.message_label.text()
    assert panel.results.count() == 1


def test_a_damaged_model_is_reported_not_hung(qtbot: QtBot, tmp_path: Path,
                                              qapp: object) -> None:
    with generation_window(tmp_path / "cfg") as window:
        dock = window.generation_dock
        dock.use_bridge(GenerationBridge(dock, device="cpu",
                                         model_dir=damaged_model_dir(tmp_path)))
        song = fresh_song(window)
        panel = song.panel
        panel.set_task("chords")
        with qtbot.waitSignal(panel.bridge.received, timeout=GEN_WAIT_MS,
                              check_params_cb=lambda e: isinstance(e, Failed)) as blocker:
            panel.generate()
        assert blocker.args[0].reason == "model"
        qtbot.waitUntil(lambda: panel.job is None, timeout=GEN_WAIT_MS)
        notice = window.notices.texts().get(NOTICE_KEY, "")
        assert notice and notice in panel.message_label.text()
        assert panel.generate_button.isEnabled()  # the musician can try again
