"""Helpers of the generation UI tests: a main window whose Generate dock drives a real
generation worker (the committed model, on the CPU), shared by a module's tests so the
worker starts once; songs with a melody clip or chords in them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication

from models.generation import backends
from strumspace_desktop.core.document import ChordItem, Document, Note
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.generate import GenerationBridge, GenerationPanel
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice

BAR = 4 * PPQ
GEN_WAIT_MS = 240_000  # the worker shares two busy cores with trainings: be generous
# A one-bar-per-note-group tune in C (beat, beats, pitch): two bars.
TUNE = [(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65), (4, 2, 67), (6, 1, 65), (7, 1, 64)]


@contextmanager
def generation_window(tmp: Path, *, device: str = "cpu") -> Iterator[MainWindow]:
    """The main window without an engine, its Generate dock on a worker of its own."""
    window = MainWindow(AppSettings(), EngineAdapter(), config_dir=tmp,
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    dock = window.generation_dock
    dock.use_bridge(GenerationBridge(dock, device=device))
    window.show()
    dock.show()
    try:
        yield window
    finally:
        window.close()  # stops the worker (MainWindow.closeEvent)
        window.deleteLater()
        QApplication.processEvents()


@dataclass
class Song:
    window: MainWindow
    panel: GenerationPanel

    @property
    def doc(self) -> Document:
        return self.window.projects.document


def fresh_song(window: MainWindow) -> Song:
    """A new untitled song (Piano, Bass, Drums) in the shared window, nothing selected."""
    assert window.projects.new()
    panel = window.generation_dock.panel
    panel.variations = []
    panel.results.clear()
    return Song(window, panel)


def add_melody(song: Song, start_bar: int = 0) -> tuple[str, str]:
    """A MIDI clip with TUNE on the first MIDI track: (track id, clip id)."""
    doc = song.doc
    track = next(t.id for t in doc.tracks() if t.kind == "midi")
    clip = doc.add_midi_clip(track, start_bar * BAR, 2 * BAR, "Tune")
    doc.add_notes(clip, [Note(p, round(b * PPQ), round(n * PPQ), 90) for b, n, p in TUNE])
    return track, clip


def add_chords(song: Song, labels: list[str]) -> str:
    """The song's chord track (added) with one Harte label per bar: its id."""
    track = song.window.tracks.add_chord().id
    song.doc.add_chords(track, [ChordItem(i * BAR, (i + 1) * BAR, label)
                                for i, label in enumerate(labels)])
    return track


def damaged_model_dir(tmp: Path) -> Path:
    """A copy of the committed model folder whose ONNX file is cut in half."""
    out = tmp / "damaged-model"
    shutil.copytree(backends.ARTIFACTS, out)
    onnx = out / backends.ONNX_NAME
    data = onnx.read_bytes()
    onnx.write_bytes(data[: len(data) // 2])
    return out
