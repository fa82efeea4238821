"""Mouse gestures of the note grid: draw, move, resize, erase, rubber band.

A gesture lives from a mouse press to its release. It holds the notes as they
were at the press and writes absolute values on every move, so a drag can go
back and forth freely; the whole gesture is one undo step (`Document`'s undo
group opened at the press and closed by `finish`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from strumspace_desktop.core.document import Note

from .editor import NoteEditor
from .snap import min_length, snap_round


class Gesture:
    """Base: opens the undo group; `move` returns a pitch to audition, if any."""

    def __init__(self, editor: NoteEditor) -> None:
        self.editor = editor
        self._doc = editor.document if editor.editable else None
        if self._doc is not None:
            self._doc.begin_undo_group()

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        return None

    def finish(self) -> None:
        doc, self._doc = self._doc, None
        if doc is not None:
            doc.end_undo_group()


class DrawGesture(Gesture):
    """A new note at the press; dragging right sets its length."""

    def __init__(self, editor: NoteEditor, note: Note) -> None:
        super().__init__(editor)
        self.note = note
        self.stretched = False
        self.note_id = editor.add([note])[0] if self._doc is not None else ""
        editor.select([self.note_id])

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        if not self.note_id:
            return None
        if not self.stretched:
            # A click keeps the default length; the drag counts once it leaves the note.
            if tick < self.note.end:
                return None
            self.stretched = True
        end = snap_round(tick, grid)
        if grid is not None and end <= self.note.start:
            end = self.note.start + grid
        length = max(min_length(grid), end - self.note.start)
        self.editor.write({self.note_id: replace(self.note, length=length)})
        return None


class MoveGesture(Gesture):
    """Drag notes in time and pitch; the grabbed note's start lands on the grid."""

    def __init__(self, editor: NoteEditor, ids: set[str], anchor: str, tick: float,
                 pitch: int) -> None:
        super().__init__(editor)
        notes = editor.notes
        self.originals = {nid: notes[nid] for nid in ids if nid in notes}
        self.anchor = notes[anchor]
        self.press = (tick, pitch)
        self.delta = (0, 0)
        self.moved = False

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        if not self.originals:
            return None
        a = self.anchor
        # Back at the press point means no move at all (an off-grid note stays put).
        dt = 0 if tick == self.press[0] else \
            snap_round(a.start + tick - self.press[0], grid) - a.start
        dt = max(dt, -min(n.start for n in self.originals.values()))
        lo = min(n.pitch for n in self.originals.values())
        hi = max(n.pitch for n in self.originals.values())
        dp = max(-lo, min(127 - hi, pitch - self.press[1]))
        if (dt, dp) == self.delta:
            return None
        pitch_changed = dp != self.delta[1]
        self.delta = (dt, dp)
        self.moved = True
        self.editor.write({nid: replace(n, start=n.start + dt, pitch=n.pitch + dp)
                           for nid, n in self.originals.items()})
        return a.pitch + dp if pitch_changed else None


class ResizeGesture(Gesture):
    """Drag the right edge (length) or the left edge (start, the end stays put)."""

    def __init__(self, editor: NoteEditor, ids: set[str], anchor: str, tick: float,
                 edge: Literal["left", "right"]) -> None:
        super().__init__(editor)
        notes = editor.notes
        self.originals = {nid: notes[nid] for nid in ids if nid in notes}
        self.anchor = notes[anchor]
        self.press_tick = tick
        self.edge = edge
        self.delta: int | None = None

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        a, grid_min = self.anchor, min_length(grid)
        changes: dict[str, Note] = {}
        moved = tick != self.press_tick
        if self.edge == "right":
            d = snap_round(a.end + tick - self.press_tick, grid) - a.end if moved else 0
            if d == self.delta:
                return None
            for nid, n in self.originals.items():
                # A note already shorter than the grid may stay that short.
                shortest = min(grid_min, n.length) if n.length else 1
                changes[nid] = replace(n, length=max(shortest, n.length + d))
        else:
            d = snap_round(a.start + tick - self.press_tick, grid) - a.start if moved else 0
            if d == self.delta:
                return None
            for nid, n in self.originals.items():
                shortest = min(grid_min, n.length)
                start = max(0, min(n.start + d, n.end - shortest))
                changes[nid] = replace(n, start=start, length=n.end - start)
        self.delta = d
        self.editor.write(changes)
        return None


class EraseGesture(Gesture):
    """Removes every note the pointer passes over."""

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        if self._doc is None:
            return None
        nid = self.editor.note_at(tick, pitch)
        if nid is not None:
            self.editor.remove([nid])
        return None


class RubberBandGesture(Gesture):
    """Selects the notes inside a dragged rectangle (added to the selection with Shift)."""

    def __init__(self, editor: NoteEditor, tick: float, pitch: int, add: bool) -> None:
        self.editor = editor
        self._doc = None  # selecting is not an edit
        self.origin = (tick, pitch)
        self.current = (tick, pitch)
        self.base = set(editor.selection) if add else set()
        if not add:
            editor.clear_selection()

    def move(self, tick: float, pitch: int, grid: int | None) -> int | None:
        self.current = (tick, pitch)
        inside = self.editor.notes_in(self.origin[0], tick, self.origin[1], pitch)
        self.editor.select(self.base | inside)
        return None
