"""Chords > Chord Names…: notation style, sharps or flats, capo fret and the song's key.
The name choices apply as they are made (the live display and the chord lane redraw)
and are saved with the app's settings when the dialog closes with OK; Cancel puts the
old ones back. The key belongs to the song (it is saved in the project, one undo
step), so it is written only on OK."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.settings import MAX_CAPO, ChordSettings
from strumspace_desktop.ui.chords.notation import (
    ACCIDENTAL_CHOICES,
    MODES,
    STYLE_CHOICES,
    ChordNamer,
    SongKey,
    key_text,
)

EXAMPLES = ("C:maj7", "A:min7", "A#:7", "F#:hdim7", "G:maj/3")


class ChordNamesDialog(QDialog):
    changed = Signal(object)  # ChordSettings, while choosing

    def __init__(self, settings: ChordSettings, key: SongKey | None,
                 parent: QWidget | None = None, *, key_editable: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle("Chord Names")
        self.original = replace(settings)
        self.key_box = QComboBox()
        self.key_box.addItem("No key set", None)
        for tonic in range(12):
            for mode in MODES:
                self.key_box.addItem(key_text((tonic, mode)), (tonic, mode))
        self.key_box.setCurrentIndex(0 if key is None else 1 + 2 * key[0] + MODES.index(key[1]))
        self.key_box.setEnabled(key_editable)
        self.key_box.setToolTip("The song's key, saved with the project: with sharps or "
                                "flats by the song's key, chord names are spelled in it")
        self.notation = QComboBox()
        for value, text in STYLE_CHOICES:
            self.notation.addItem(text, value)
        self.notation.setCurrentIndex([v for v, _ in STYLE_CHOICES].index(settings.style))
        self.accidentals = QComboBox()
        for value, text in ACCIDENTAL_CHOICES:
            self.accidentals.addItem(text, value)
        self.accidentals.setCurrentIndex(
            [v for v, _ in ACCIDENTAL_CHOICES].index(settings.accidentals))
        self.capo = QSpinBox()
        self.capo.setRange(0, MAX_CAPO)
        self.capo.setSpecialValueText("No capo")
        self.capo.setPrefix("fret ")
        self.capo.setValue(settings.capo)
        self.capo.setToolTip("With a capo, chords are named by the shapes you finger")
        self.example = QLabel()
        self.example.setObjectName("FieldLabel")
        form = QFormLayout()
        form.addRow("Notation", self.notation)
        form.addRow("Sharps or flats", self.accidentals)
        form.addRow("Capo (guitar)", self.capo)
        form.addRow("Song key", self.key_box)
        form.addRow("Example", self.example)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addWidget(buttons)
        for w in (self.notation, self.accidentals, self.key_box):
            w.currentIndexChanged.connect(lambda _i: self._changed())
        self.capo.valueChanged.connect(lambda _v: self._changed())
        self._show_example()

    def settings(self) -> ChordSettings:
        return ChordSettings(str(self.notation.currentData()), str(self.accidentals.currentData()),
                             self.capo.value())

    def chosen_key(self) -> SongKey | None:
        data = self.key_box.currentData()
        return None if data is None else (int(data[0]), str(data[1]))

    def _show_example(self) -> None:
        namer = ChordNamer.from_settings(self.settings(), self.chosen_key())
        self.example.setText("  ".join(namer.lane_text(x) for x in EXAMPLES))

    def _changed(self) -> None:
        self._show_example()
        self.changed.emit(self.settings())

    def reject(self) -> None:
        self.changed.emit(self.original)
        super().reject()
