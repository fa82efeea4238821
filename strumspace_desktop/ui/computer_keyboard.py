"""The computer-keyboard piano: the usual DAW layout on the home row.

    W E   T Y U          black keys
   A S D F G H J K       white keys, C to the next C
   Z / X                 octave down / up

Keys are remembered with the note they started, so changing octave while a key
is held still releases the right note.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent

KEY_OFFSETS: dict[int, int] = {
    Qt.Key.Key_A: 0, Qt.Key.Key_W: 1, Qt.Key.Key_S: 2, Qt.Key.Key_E: 3, Qt.Key.Key_D: 4,
    Qt.Key.Key_F: 5, Qt.Key.Key_T: 6, Qt.Key.Key_G: 7, Qt.Key.Key_Y: 8, Qt.Key.Key_H: 9,
    Qt.Key.Key_U: 10, Qt.Key.Key_J: 11, Qt.Key.Key_K: 12,
}
OCTAVE_DOWN = Qt.Key.Key_Z
OCTAVE_UP = Qt.Key.Key_X
DEFAULT_BASE = 60  # middle C on the A key
LOWEST_BASE = 12
HIGHEST_BASE = 108  # K then plays 120, inside MIDI's 0..127
VELOCITY = 100
_BLOCKING_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                       | Qt.KeyboardModifier.MetaModifier)


class ComputerKeyboardPiano(QObject):
    note_on = Signal(int, int)  # note, velocity
    note_off = Signal(int)
    octave_changed = Signal(int)  # the note the A key plays

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.base = DEFAULT_BASE
        self._held: dict[int, int] = {}  # key -> note

    @staticmethod
    def _key(event: QKeyEvent) -> int | None:
        if event.modifiers() & _BLOCKING_MODIFIERS:
            return None  # Ctrl+S and friends are shortcuts, not notes
        return int(event.key())

    def key_press(self, event: QKeyEvent) -> bool:
        """Handle a key press; True if it belonged to the piano."""
        key = self._key(event)
        if key is None:
            return False
        if key in KEY_OFFSETS:
            if not event.isAutoRepeat() and key not in self._held:
                note = self.base + KEY_OFFSETS[key]
                self._held[key] = note
                self.note_on.emit(note, VELOCITY)
            return True
        if key in (OCTAVE_DOWN, OCTAVE_UP):
            if not event.isAutoRepeat():
                self.shift_octave(-1 if key == OCTAVE_DOWN else 1)
            return True
        return False

    def key_release(self, event: QKeyEvent) -> bool:
        key = self._key(event)
        if key is None or (key not in KEY_OFFSETS and key not in (OCTAVE_DOWN, OCTAVE_UP)):
            return False
        if not event.isAutoRepeat() and key in self._held:
            self.note_off.emit(self._held.pop(key))
        return True

    def shift_octave(self, octaves: int) -> None:
        base = min(HIGHEST_BASE, max(LOWEST_BASE, self.base + 12 * octaves))
        if base != self.base:
            self.base = base
            self.octave_changed.emit(base)

    def release_all(self) -> None:
        """Release held notes, e.g. when the window loses the keyboard."""
        held, self._held = self._held, {}
        for note in held.values():
            self.note_off.emit(note)
