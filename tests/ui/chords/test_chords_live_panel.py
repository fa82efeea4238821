"""The live chord display fed by the adapter's live-chord signal (the events the live
worker sends), and chord name settings changing what it and the chord lane show."""

from __future__ import annotations

from pathlib import Path

import pytest
from chords_ui_support import live, tools_of
from pytestqt.qtbot import QtBot
from ui_support import window_without_engine

from strumspace_desktop.analysis.live_events import LiveState, LiveStatus
from strumspace_desktop.core.document import ChordItem, Document
from strumspace_desktop.core.settings import AppSettings, ChordSettings
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.chords import ChordTools
from strumspace_desktop.ui.chords.live_panel import SOURCE_HISTORY, LiveChordPanel, fallback_next
from strumspace_desktop.ui.chords.notation import ChordNamer
from strumspace_desktop.ui.main_window import MainWindow

PROGRESSION = ["C:maj", "G:maj", "A:min", "F:maj", "C:maj", "G:maj"]


def _shown_panel(qtbot: QtBot, tmp_path: Path, generation: bool = False,
                 ) -> tuple[MainWindow, ChordTools, LiveChordPanel]:
    window = window_without_engine(qtbot, tmp_path)
    tools = tools_of(window)
    if not generation:
        tools.panel.use_generation = False  # the history fallback only (no worker)
    tools.dock.show()
    qtbot.waitUntil(lambda: tools.panel.listening)
    return window, tools, tools.panel


def test_the_display_follows_live_chords_with_history_and_a_fallback_hint(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, tools, panel = _shown_panel(qtbot, tmp_path)
    # Without an engine there is nothing to hear, and it says so.
    assert "engine is not running" in panel.status_label.text()
    adapter = window.adapter
    adapter.live_chord_status.emit(LiveStatus(LiveState.LISTENING))
    assert panel.status_label.text() == "Listening to the audio input."
    for i, label in enumerate(PROGRESSION):
        adapter.live_chord.emit(live(label, 2.0 * i + 0.25, 0.5 + 0.05 * i))
        # Repeats between changes refresh the confidence only.
        adapter.live_chord.emit(live(label, 2.0 * i + 0.25, 0.95, changed=False))
    assert panel.chord_label.text() == "G"
    assert panel.confidence_bar.value() == 95
    shown = [lb.text() for lb in panel.history_labels if not lb.isHidden()]
    assert len(shown) == len(PROGRESSION)
    assert shown[2] == "<b>Am</b><br><small>0:04.2</small>"
    # G followed G last time: the fallback hint names what came after it, labelled so.
    assert panel.hint_source == SOURCE_HISTORY and panel.hint == ["A:min"]
    assert panel.next_label.text() == "Am"
    assert "fallback" in panel.next_source.text()
    # No chord: shown as such, not added to the history.
    adapter.live_chord.emit(live("N", 13.0))
    assert panel.chord_label.text() == "N.C."
    assert len(panel.history) == len(PROGRESSION)
    # The worker failing (e.g. a damaged model file) is said in words.
    adapter.live_chord_status.emit(LiveStatus(LiveState.FAILED, "The chord model file is "
                                              "damaged: reinstall StrumSpace."))
    assert "damaged" in panel.status_label.text()
    # Listen off: the service stops and later events are ignored.
    panel.listen_button.setChecked(False)
    assert not panel.listening and "off" in panel.status_label.text()
    adapter.live_chord.emit(live("D:min", 20.0))
    assert panel.chord_label.text() == "N.C."
    tools.dock.hide()


def test_fallback_next_counts_what_followed() -> None:
    history = ["C:maj", "G:maj", "C:maj", "F:maj", "C:maj", "G:maj"]
    assert fallback_next(history, "C:maj") == ["G:maj", "F:maj"]
    assert fallback_next(history, "A:min") == []


def test_notation_and_capo_change_the_live_names_and_the_chord_lane(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, tools, panel = _shown_panel(qtbot, tmp_path)
    doc = window.projects.document
    track = window.tracks.add_chord().id
    bar = 4 * PPQ
    doc.add_chords(track, [ChordItem(0, bar, "C:maj7", 0), ChordItem(bar, 2 * bar, "A#:min7", 10)])
    canvas = window.arrange.canvas
    window.adapter.live_chord.emit(live("C:maj7", 1.0))
    window.adapter.live_chord.emit(live("A#:min7", 3.0))
    assert panel.chord_label.text() == "Bbm7"  # spelled as its own key (no song key)
    assert canvas.chord_namer("C:maj7") == "Cmaj7"

    tools.set_names(ChordSettings("jazz", "sharps", 0), save=False)
    assert panel.chord_label.text() == "A#−7"
    assert canvas.chord_namer("C:maj7") == "C△7"
    tools.set_names(ChordSettings("simple", "auto", 0), save=False)
    assert panel.chord_label.text() == "Bbm" and canvas.chord_namer("C:maj7") == "C"

    # Capo 3: a sounding Bbm7 is fingered as a Gm7 shape; the lane shows both.
    tools.set_names(ChordSettings("standard", "auto", 3), save=False)
    assert panel.chord_label.text() == "Gm7"
    assert panel.shape_label.text() == "capo 3 · sounds Bbm7"
    assert canvas.chord_namer("C:maj7") == "Amaj7 (Cmaj7)"
    history = [lb.text() for lb in panel.history_labels if not lb.isHidden()]
    assert history[0].startswith("<b>Amaj7</b>")

    # A song key decides the spelling under "auto" (E major writes sharps).
    tools.set_names(ChordSettings("standard", "auto", 0), save=False)
    tools.set_song_key((4, "major"))
    assert panel.chord_label.text() == "A#m7"
    tools.set_song_key(None)

    # The dialog: choices apply at once, OK saves them with the app's settings.
    dialog = tools.open_names_dialog()
    dialog.notation.setCurrentIndex(2)  # jazz
    dialog.accidentals.setCurrentIndex(2)  # flats
    dialog.capo.setValue(5)
    assert canvas.chord_namer("A:min7") == "E−7 (A−7)"
    dialog.accept()
    assert window.settings.chords == ChordSettings("jazz", "flats", 5)
    saved, warning = AppSettings.load()
    assert warning is None and saved.chords == ChordSettings("jazz", "flats", 5)
    # Cancel puts the earlier choice back.
    dialog = tools.open_names_dialog()
    dialog.capo.setValue(0)
    assert canvas.chord_namer("A:min7") == "A−7"
    dialog.reject()
    assert canvas.chord_namer("A:min7") == "E−7 (A−7)"


def test_a_chart_of_capo_shapes_is_spelled_in_the_key_they_are_fingered_in() -> None:
    # F major sounding (flats); under capo 3 the shapes are in D major (sharps).
    namer = ChordNamer("standard", "auto", 3, (5, "major"))
    assert namer.prefers_flats() and not namer.prefers_flats(3)
    assert namer.shape("A:min") == "F#m"  # the lane's shape agrees with the chart's
    assert ChordNamer("standard", "flats", 3, (5, "major")).prefers_flats(3)


@pytest.mark.slow
def test_the_next_chord_hint_comes_from_next_chords_through_the_generation_worker(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, tools, panel = _shown_panel(qtbot, tmp_path, generation=True)
    try:
        for i, label in enumerate(["C:maj", "G:maj", "A:min"]):
            window.adapter.live_chord.emit(live(label, 2.0 * i))
        assert panel.hint_job is not None
        qtbot.waitUntil(lambda: panel.hint_job is None, timeout=300_000)
        assert panel.hint_source == "model" and 1 <= len(panel.hint) <= 3
        assert "generation model" in panel.next_source.text()
        assert panel.next_label.text() == tools.namer().name(panel.hint[0])
    finally:
        window.generation_dock.shutdown()


def test_the_song_key_is_chosen_in_the_dialog_kept_in_the_song_and_undone(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, tools, panel = _shown_panel(qtbot, tmp_path)
    doc = window.projects.document
    window.adapter.live_chord.emit(live("A#:min7", 1.0))
    assert panel.chord_label.text() == "Bbm7"  # no key: spelled as its own key
    dialog = tools.open_names_dialog()
    assert dialog.key_box.isEnabled() and dialog.chosen_key() is None
    dialog.key_box.setCurrentIndex(dialog.key_box.findText("E major"))
    assert "A#7" in dialog.example.text()  # the example follows the chosen key at once
    assert doc.song_key() is None  # the song changes on OK only
    dialog.accept()
    assert doc.song_key() == (4, "major") and panel.chord_label.text() == "A#m7"
    window.projects.undo()
    qtbot.waitUntil(lambda: panel.chord_label.text() == "Bbm7")
    assert tools.song_key is None
    # A partner's key arrives through the document and the names follow it.
    partner = Document.from_state(doc.state())
    partner.set_song_key((2, "major"))
    doc.apply_update(partner.update_since(doc.state_vector()))
    qtbot.waitUntil(lambda: panel.chord_label.text() == "A#m7")
    dialog = tools.open_names_dialog()
    assert dialog.key_box.currentText() == "D major"
    dialog.reject()
    assert doc.song_key() == (2, "major")
