"""Auditioning a variation: its notes go to the engine's synth on the track's channel
(the test JACK server and FluidSynth), stop silences them, and nothing is written to
the song. The event list is checked without an engine."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from models.generation.piece import TPQ, Piece
from strumspace_desktop.ui.generate.preview import CHORD_BASE, PiecePreview, preview_events


def _melody(notes: list[tuple[int, int, int]]) -> Piece:
    rows = np.array([(o, d, p, 90) for o, d, p in notes], np.int32).reshape(-1, 4)
    return Piece("test", "melody", notes=rows, bars=np.array([[0, 4, 4]], np.int32))


def test_events_follow_the_tempo_and_offs_come_first() -> None:
    piece = _melody([(0, TPQ, 60), (TPQ, TPQ, 60), (2 * TPQ, 2 * TPQ, 64)])
    events = preview_events(piece, 120.0)
    assert [(round(t, 3), v > 0, p) for t, _, p, v in events] == [
        (0.0, True, 60), (0.5, False, 60), (0.5, True, 60), (1.0, False, 60),
        (1.0, True, 64), (2.0, False, 64)]
    chords = Piece("test", "chords", chords=np.array([[0, 4 * TPQ, 9, 1]], np.int32))
    ons = sorted(p for _, _, p, v in preview_events(chords, 60.0, chords=True) if v)
    assert ons == [CHORD_BASE + 9, CHORD_BASE + 12, CHORD_BASE + 16]  # A minor


@pytest.mark.jack
def test_a_preview_sounds_on_the_channel_and_stop_silences_it(qtbot: QtBot, ui: UI) -> None:
    track = ui.window.tracks.live
    assert track is not None and track.channel is not None
    preview = PiecePreview(ui.adapter)
    assert preview.audible
    # Long notes, so the synth still holds them when the test looks.
    piece = _melody([(0, 16 * TPQ, 60), (0, 16 * TPQ, 67)])
    undo_before = ui.window.projects.document.can_undo()
    preview.play(piece, track.channel, 120.0)
    assert preview.playing and preview.notes_sent == 2
    qtbot.waitUntil(lambda: ui.engine.status().voices > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(preview.finished, timeout=WAIT_MS):
        preview.stop()
    # FluidSynth voices end after their release once the note offs arrived.
    qtbot.waitUntil(lambda: ui.engine.status().voices == 0, timeout=WAIT_MS)
    assert ui.window.projects.document.can_undo() == undo_before  # no temporary clip
