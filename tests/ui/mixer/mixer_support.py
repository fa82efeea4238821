"""Helpers of the mixer tests: a song in a shown MixerPanel, mouse gestures on the
mixer's sliders, and fake VST3 bundles (for listing; the engine refuses to load them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mouse_support import LEFT as LEFT
from mouse_support import NO_MODS as NO_MODS
from mouse_support import double_click as double_click
from mouse_support import move as move
from mouse_support import press as press
from mouse_support import release as release
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Instrument
from strumspace_desktop.ui.mixer import MixerPanel
from strumspace_desktop.ui.mixer.gesture_slider import GestureSlider
from strumspace_desktop.ui.mixer.strips import ChannelStrip
from strumspace_desktop.ui.theme import apply_dark_theme


@dataclass
class Mix:
    doc: Document
    panel: MixerPanel
    piano: str
    bass: str
    vocals: str  # an audio track
    chords: str  # a chord track: no strip

    def strip(self, track_id: str) -> ChannelStrip:
        return self.panel.strips[track_id]

    def strip_names(self) -> list[str]:
        return [self.panel.strips[t].name for t in self.panel.order]


def make_mix(qtbot: QtBot, qapp: object, adapter: object = None) -> Mix:
    apply_dark_theme(qapp)  # type: ignore[arg-type]
    doc = Document.new("mixer test")
    piano = doc.add_track("midi", "Piano", instrument=Instrument(program=0, channel=0))
    bass = doc.add_track("midi", "Bass", instrument=Instrument(program=33, channel=1))
    vocals = doc.add_track("audio", "Vocals")
    chords = doc.add_track("chord", "Chords")
    doc.clear_undo_history()
    panel = MixerPanel(adapter)
    qtbot.addWidget(panel)
    panel.set_document(doc)
    panel.resize(900, 560)
    panel.show()
    qtbot.waitExposed(panel)
    return Mix(doc, panel, piano, bass, vocals, chords)


def drag_slider(slider: GestureSlider, to_pos: float, steps: int = 8,
                mods: Qt.KeyboardModifier = NO_MODS) -> None:
    """Grab the handle and move it (in steps, as a hand does) to position `to_pos`."""
    start = slider.point_of(slider.position)
    end = slider.point_of(to_pos)
    press(slider, start, mods)
    for i in range(1, steps + 1):
        move(slider, start + (end - start) * (i / steps), mods)
    release(slider, end, mods)


def fake_bundle(folder: Path, name: str) -> Path:
    """A VST3 bundle's layout on Linux, with a binary that is no real plugin."""
    bundle = folder / f"{name}.vst3"
    binary = bundle / "Contents" / "x86_64-linux" / f"{name}.so"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF not really")
    return bundle
