"""Files dropped on the arrangement: audio becomes regions (on the audio track under
the drop, else a new one), MIDI files add tracks, bad files say so and change nothing."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from arrange_support import BAR, Song, at, lane_index, make_song
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import AudioRegion
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.arrange.hits import lane_top


def _mime(path: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def drop(s: Song, path: Path, pos: QPointF) -> None:
    mime = _mime(path)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(s.canvas, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(s.canvas, event)


def sine(path: Path, seconds: float = 1.0, rate: int = 48000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    return path


def test_an_audio_file_dropped_below_the_lanes_gets_a_new_track(qtbot: QtBot,
                                                                  tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    wav = sine(tmp_path / "tone.wav", 2.0)
    below = QPointF(s.canvas.timeline.x_of(2 * BAR + 30), lane_top(2) + 10)
    drop(s, wav, below)
    (track,) = [t for t in s.doc.tracks() if t.kind == "audio"]
    (region,) = s.doc.clips(track.id)
    assert isinstance(region, AudioRegion)
    assert region.start == 2 * BAR  # snapped to the beat
    assert region.length == 4 * PPQ  # two seconds at 120 bpm
    assert s.project.audio_path(region.blob) is not None
    # A second file dropped on that audio track's lane goes on it.
    lane = lane_index(s, track.id)
    drop(s, sine(tmp_path / "tone2.flac", 1.0), at(s, 6 * BAR, lane))
    assert [c.start for c in s.doc.clips(track.id)] == [2 * BAR, 6 * BAR]
    assert s.doc.undo()
    assert len(s.doc.clips(track.id)) == 1
    assert s.doc.undo()
    assert not [t for t in s.doc.tracks() if t.kind == "audio"]


def test_audio_dropped_on_a_midi_lane_goes_on_a_new_audio_track(qtbot: QtBot,
                                                                 tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    drop(s, sine(tmp_path / "hit.ogg", 0.5), at(s, BAR, 1))
    (track,) = [t for t in s.doc.tracks() if t.kind == "audio"]
    assert s.doc.clips(track.id)[0].start == BAR
    assert len(s.doc.clips(s.bass)) == 0


def test_an_undecodable_file_is_named_and_changes_nothing(qtbot: QtBot,
                                                          tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    before = s.doc.snapshot()
    drop(s, bad, at(s, BAR, 0))
    assert s.doc.snapshot() == before
    assert not s.doc.can_undo()
    assert "broken.wav" in s.notices.texts()["arrange"]
    assert not any((tmp_path / "audio").glob("*")) if (tmp_path / "audio").exists() else True


def test_a_midi_file_dropped_adds_its_tracks_at_the_drop(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Lead"))
    track.append(mido.Message("note_on", note=72, velocity=90, time=0))
    track.append(mido.Message("note_off", note=72, velocity=0, time=480))
    mid.tracks.append(track)
    path = tmp_path / "lead.mid"
    mid.save(str(path))
    drop(s, path, at(s, 4 * BAR + 100, 1))
    (lead,) = [t for t in s.doc.tracks() if t.name == "Lead"]
    (clip,) = s.doc.clips(lead.id)
    assert clip.start == 4 * BAR
    assert [n.pitch for n in s.doc.notes(clip.id).values()] == [72]
    assert s.canvas.model.lane_of(lead.id) is not None
    assert s.doc.undo()
    assert not [t for t in s.doc.tracks() if t.name == "Lead"]


def test_other_files_are_not_accepted(qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    mime = _mime(text)  # kept: the event does not own it
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(s.canvas, enter)
    assert not enter.isAccepted()


def test_a_dropped_region_shows_its_waveform_once_the_peaks_are_ready(
        qtbot: QtBot, tmp_path: Path) -> None:
    s = make_song(qtbot, tmp_path)
    drop(s, sine(tmp_path / "tone.wav", 2.0), QPointF(s.canvas.timeline.x_of(0) + 1,
                                                      lane_top(2) + 10))
    (region,) = [c for c in s.doc.clips() if isinstance(c, AudioRegion)]
    qtbot.waitUntil(lambda: s.canvas.peak_cache.ready(region.blob), timeout=20_000)
    lane = lane_index(s, region.track_id)
    point = at(s, region.start + region.length / 2, lane, dy=34).toPoint()  # inside the wave

    def wave_drawn() -> bool:
        s.canvas.repaint()
        return s.canvas.grab().toImage().pixelColor(point).lightness() > 120

    qtbot.waitUntil(wave_drawn, timeout=20_000)
