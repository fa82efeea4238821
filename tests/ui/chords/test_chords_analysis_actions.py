"""Chords > Analyze Audio File to Chord Track… on the real file job and the committed
model: the chord track fills as one undo step, key and tempo are offered (never applied
silently), Cancel leaves the song as it was, errors are shown, and Export Chords…
writes what the chord track holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from chords_ui_support import WAIT_MS, rendered_song, tools_of
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from ui_support import window_without_engine

from cloud.analysis.schema import AnalysisDoc
from models.chords.formats import read_lab
from strumspace_desktop.analysis.file_job import JobState
from strumspace_desktop.core.document import AudioRegion, ChordItem
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.chords.analysis_actions import NOTICE_KEY
from strumspace_desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


def _chords(window: MainWindow) -> dict[str, ChordItem]:
    track = window.tracks.chord_track()
    return {} if track is None else window.projects.document.chords(track.id)


def test_a_file_analysis_fills_the_chord_track_in_one_undo_step(
        qtbot: QtBot, tmp_path: Path) -> None:
    song, seconds = rendered_song(tmp_path)
    window = window_without_engine(qtbot, tmp_path / "config")
    tools = tools_of(window)
    actions = tools.analysis
    doc = window.projects.document
    # A hand-made chord far beyond the file stays whatever happens.
    hand_track = window.tracks.add_chord().id
    doc.add_chord(hand_track, ChordItem(400 * PPQ, 404 * PPQ, "E:min", 4, 1.0, "played"))
    before = doc.snapshot()
    with qtbot.waitSignal(actions.written, timeout=WAIT_MS) as got:
        job = actions.analyze_file(song)
        assert job is not None and actions.progress is not None
    done = got.args[0]
    assert actions.progress is None and job.state is JobState.DONE
    items = _chords(window)
    recognized = [c for c in items.values() if c.source == "recognized"]
    assert done.added and len(recognized) == len(done.added)
    assert all(c.label != "N" and 0 <= c.confidence <= 1 for c in recognized)
    tempo = doc.tempo_map()
    assert max(tempo.seconds_at_tick(c.end) for c in recognized) <= seconds + 0.05
    # The key and tempo found are offered, not applied; an in-tune file says nothing
    # about its tuning.
    assert doc.tempo_changes()[0].bpm == 120.0 and tools.song_key is None
    assert "tuned" not in window.notices.texts().get(NOTICE_KEY, "")
    offer = actions.offer
    assert offer is not None and offer.isVisible()
    assert not offer.use_meter.isVisible()  # a song in 4, like the new song
    offer.skip_button.click()
    assert doc.tempo_changes()[0].bpm == 120.0 and tools.song_key is None
    # One undo removes the whole analysis; redo brings it back.
    window.projects.undo()
    assert doc.snapshot() == before
    window.projects.redo()
    assert {c.label for c in _chords(window).values()} == {c.label for c in items.values()}

    # Export Chords…: .lab, JSON and a chart of what the chord track holds.
    lab = actions.export_chords(tmp_path / "song.lab")
    assert lab is not None
    rows = [r for r in read_lab(lab.read_text()) if r[2] != "N"]
    in_file = sorted(_chords(window).values(), key=lambda c: c.start)
    assert len(rows) == len(in_file)
    assert [r[2] for r in rows] == [c.label for c in in_file]
    assert rows[0][0] == pytest.approx(tempo.seconds_at_tick(in_file[0].start), abs=1e-5)
    as_json = actions.export_chords(tmp_path / "song.json")
    assert as_json is not None
    parsed = AnalysisDoc.model_validate(json.loads(as_json.read_text()))
    assert [s.label for s in parsed.segments if s.label != "N"] == [c.label for c in in_file]
    chart = actions.export_chords(tmp_path / "song.txt")
    assert chart is not None and chart.read_text().count("|") >= 2
    assert tools.namer().name(in_file[0].label) in chart.read_text()


def test_applying_the_offer_sets_the_tempo_and_key_as_a_second_undo_step(
        qtbot: QtBot, tmp_path: Path) -> None:
    # A recording 40 cents sharp, over mains hum: the musician is told to tune to it,
    # and about the hum.
    song, _ = rendered_song(tmp_path, cents=40.0, hum_db=-30.0)
    window = window_without_engine(qtbot, tmp_path / "config")
    tools = tools_of(window)
    actions = tools.analysis
    doc = window.projects.document
    with qtbot.waitSignal(actions.written, timeout=WAIT_MS) as got:
        actions.analyze_file(song)
    done = got.args[0]
    assert done.tempo is not None, "the render has a steady beat"
    told = window.notices.texts()[NOTICE_KEY]
    assert re.search(r"song\.wav is tuned \+(3[6-9]|4[0-4]) cents \(A = 4[45]\d\.\d Hz\)", told)
    assert "song.wav has 50 Hz mains hum" in told
    first = doc.snapshot()
    old = doc.tempo_map()
    first_ends = sorted(old.seconds_at_tick(c.end) for c in _chords(window).values())
    offer = actions.offer
    assert offer is not None
    assert offer.chosen_tempo() == pytest.approx(done.tempo)  # as found, unless chosen
    # The musician knows the song runs twice as fast as the beat found: double it.
    levels = [offer.tempo_choice.itemData(i) for i in range(offer.tempo_choice.count())]
    assert levels[:2] == pytest.approx([done.tempo, 2 * done.tempo])
    offer.tempo_choice.setCurrentIndex(1)
    with qtbot.waitSignal(actions.offer_applied):
        offer.apply_button.click()
    assert doc.tempo_changes()[0].bpm == pytest.approx(2 * done.tempo, abs=0.01)
    if done.key is not None:
        assert tools.song_key == (done.key.tonic, done.key.mode)
    # The chords moved with the tempo: in seconds they are where they were.
    tempo = doc.tempo_map()
    ends = sorted(tempo.seconds_at_tick(c.end) for c in _chords(window).values())
    assert ends == pytest.approx(first_ends, abs=0.01)
    window.projects.undo()
    assert doc.snapshot() == first


def test_a_song_in_three_offers_its_time_signature_with_the_tempo(
        qtbot: QtBot, tmp_path: Path) -> None:
    song, _ = rendered_song(tmp_path, repeats=3, beats_per_bar=3)
    window = window_without_engine(qtbot, tmp_path / "config")
    actions = tools_of(window).analysis
    doc = window.projects.document
    with qtbot.waitSignal(actions.written, timeout=WAIT_MS) as got:
        actions.analyze_file(song)
    done = got.args[0]
    first = doc.snapshot()
    offer = actions.offer
    assert offer is not None and offer.use_meter.isVisible() and offer.use_meter.isChecked()
    assert "3/4 (now 4/4)" in offer.use_meter.text()
    with qtbot.waitSignal(actions.offer_applied):
        offer.apply_button.click()
    ts = doc.time_signatures()
    assert [(t.tick, t.numerator, t.denominator) for t in ts] == [(0, 3, 4)]
    assert doc.tempo_changes()[0].bpm == pytest.approx(done.tempo, abs=0.01)
    window.projects.undo()  # tempo and time signature together
    assert doc.snapshot() == first


def test_cancel_leaves_the_song_unchanged_and_errors_are_shown(
        qtbot: QtBot, tmp_path: Path) -> None:
    song, _ = rendered_song(tmp_path, repeats=3)
    window = window_without_engine(qtbot, tmp_path / "config")
    tools = tools_of(window)
    actions = tools.analysis
    doc = window.projects.document
    before = doc.snapshot()
    written: list[object] = []
    actions.written.connect(written.append)
    job = actions.analyze_file(song)
    assert job is not None and actions.progress is not None
    pid = job.pid
    cancel = actions.progress.findChild(QPushButton)
    assert cancel is not None and cancel.text() == "Cancel"
    cancel.click()
    assert job.state is JobState.CANCELLED and actions.job is None
    assert actions.progress is None
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=10_000)
    qtbot.wait(300)  # the adapter's poll sees the job ended and says nothing
    assert not written and doc.snapshot() == before and not window.projects.can_undo()

    # A file that is not audio: the message names it; nothing is written.
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with qtbot.waitSignal(window.adapter.analysis_failed, timeout=WAIT_MS):
        actions.analyze_file(bad)
    assert actions.job is None and actions.progress is None
    assert "notes.wav" in window.notices.texts().get("chord-analysis", "")
    assert doc.snapshot() == before
    # No audio clip selected: a hint instead of an analysis.
    assert actions.analyze_selected_clip() is None
    assert "Select an audio clip" in window.notices.texts().get("chord-analysis", "")


def test_the_selected_audio_clip_gets_its_chords_under_it(qtbot: QtBot, tmp_path: Path) -> None:
    song, _ = rendered_song(tmp_path)
    window = window_without_engine(qtbot, tmp_path / "config")
    actions = tools_of(window).analysis
    doc = window.projects.document
    bar = 4 * PPQ
    assert window.imports.import_audio([song], tick=2 * bar)
    qtbot.waitUntil(lambda: bool(window.imports.imported), timeout=WAIT_MS)
    region = doc.clip(window.imports.imported[0].region_id)
    assert isinstance(region, AudioRegion)
    # An earlier recognized chord before the clip is not the clip's to replace.
    track = window.tracks.add_chord().id
    doc.add_chord(track, ChordItem(0, bar, "D:maj", 2, 0.8, "recognized"))
    window.arrange.canvas.select(clips={region.id}, chords=set())
    with qtbot.waitSignal(actions.written, timeout=WAIT_MS) as got:
        assert actions.analyze_selected_clip() is not None
    done = got.args[0]
    assert done.added and done.start_tick == region.start
    items = doc.chords(track)
    new = [items[c] for c in done.added]
    assert all(region.start <= c.start < c.end <= region.end + 1 for c in new)
    assert any(c.label == "D:maj" and c.end == bar for c in items.values())


def test_a_chord_outside_the_vocabulary_exports_as_lab_and_json_says_which(
        qtbot: QtBot, tmp_path: Path) -> None:
    window = window_without_engine(qtbot, tmp_path / "config")
    actions = tools_of(window).analysis
    doc = window.projects.document
    track = window.tracks.add_chord().id
    # A label another tool wrote (a project file, a sync): Harte, not in our vocabulary.
    doc.add_chord(track, ChordItem(0, 4 * PPQ, "C:maj", 0, 1.0, "played"))
    doc.add_chord(track, ChordItem(4 * PPQ, 8 * PPQ, "C:(3,5,b7,9)", 0, 1.0, "played"))
    lab = actions.export_chords(tmp_path / "song.lab")
    assert lab is not None
    assert [r[2] for r in read_lab(lab.read_text()) if r[2] != "N"] == ["C:maj", "C:(3,5,b7,9)"]
    chart = actions.export_chords(tmp_path / "song.txt")
    assert chart is not None and "C:(3,5,b7,9)" in chart.read_text()
    assert actions.export_chords(tmp_path / "song.json") is None
    assert not (tmp_path / "song.json").exists()
    text = window.notices.texts().get("chord-analysis", "")
    assert "'C:(3,5,b7,9)' at 2.00 s" in text and ".lab" in text
