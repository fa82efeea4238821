"""Post-quantize: Edit > Quantize… moves notes already in clips toward the grid.

It acts on the piano roll's selected notes when the piano roll is showing a clip
with a selection, otherwise on every note of the clips selected in the arrangement.
The arithmetic is core.quantize's (the same as input quantize while recording);
the whole edit is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSlider,
    QWidget,
)

from strumspace_desktop.core.document import Document, MidiClip
from strumspace_desktop.core.quantize import (
    MAX_SWING,
    NOTE_VALUES,
    QuantizeSettings,
    quantize_notes,
)

_NAMES = {1: "1 bar (whole)", 2: "1/2", 4: "1/4", 8: "1/8", 16: "1/16", 32: "1/32", 64: "1/64"}


class QuantizeDialog(QDialog):
    def __init__(self, settings: QuantizeSettings, target: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quantize")
        form = QFormLayout(self)
        self.grid_box = QComboBox()
        for value in NOTE_VALUES:
            self.grid_box.addItem(_NAMES[value], value)
        self.grid_box.setCurrentIndex(self.grid_box.findData(settings.note_value))
        self.triplet_box = QCheckBox("Triplets")
        self.triplet_box.setChecked(settings.triplet)
        self.strength_slider = self._slider(100, round(settings.strength * 100))
        self.swing_slider = self._slider(round(MAX_SWING * 100), round(settings.swing * 100))
        self.lengths_box = QCheckBox("Also move note ends to the grid")
        self.lengths_box.setChecked(settings.lengths)
        form.addRow("Notes", QLabel(target))
        form.addRow("Grid", self.grid_box)
        form.addRow("", self.triplet_box)
        form.addRow("Strength", self.strength_slider)
        form.addRow("Swing", self.swing_slider)
        form.addRow("", self.lengths_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _slider(maximum: int, value: int) -> QSlider:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(0, maximum)
        s.setValue(value)
        s.setToolTip("%")
        return s

    def settings(self) -> QuantizeSettings:
        return QuantizeSettings(
            note_value=int(self.grid_box.currentData()),
            triplet=self.triplet_box.isChecked(),
            strength=self.strength_slider.value() / 100,
            swing=self.swing_slider.value() / 100,
            lengths=self.lengths_box.isChecked(),
        )


def quantize_clips(document: Document, targets: dict[str, set[str] | None],
                   settings: QuantizeSettings) -> int:
    """Quantize notes of MIDI clips: `targets` maps a clip id to the note ids to move
    (None: all its notes). One undo step; returns how many notes moved."""
    moved = 0
    with document.transaction():
        for clip_id, note_ids in targets.items():
            clip = document.clip(clip_id)
            if not isinstance(clip, MidiClip):
                continue
            notes = document.notes(clip_id)
            if note_ids is not None:
                notes = {k: v for k, v in notes.items() if k in note_ids}
            for note_id, note in quantize_notes(notes, clip.start, settings).items():
                document.set_note(clip_id, note_id, note)
                moved += 1
    return moved
