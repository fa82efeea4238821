"""The piano roll's editing model: one clip's notes, the selection and the clipboard.

Qt-free. Every method that edits is one document transaction; the widgets wrap a
whole mouse gesture (many calls) in `Document.undo_group`, so a gesture is one
undo step. The notes are read back from the document lazily after each change
(`invalidate`), so the view follows edits from any source: undo, a partner, the
recorder.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

from strumspace_desktop.core.document import Document, DocumentError, MidiClip, Note


class NoteEditor:
    def __init__(self) -> None:
        self.document: Document | None = None
        self.clip_id: str | None = None
        self.selection: set[str] = set()
        self.clipboard: list[Note] = []
        self.revision = 0  # grows whenever the notes are read again
        self.selection_revision = 0
        self._notes: dict[str, Note] | None = None
        # True while this editor writes: it patches its own copy of the notes instead of
        # reading all of them back (10,000 notes take ~80 ms to read).
        self.writing = False

    # Target ---------------------------------------------------------------------------
    def set_target(self, document: Document | None, clip_id: str | None) -> None:
        self.document, self.clip_id = document, clip_id
        self.selection = set()
        self.selection_revision += 1
        self.invalidate()

    @property
    def active(self) -> bool:
        return self.document is not None and self.clip_id is not None

    @property
    def editable(self) -> bool:
        return self.active and not self.document.read_only  # type: ignore[union-attr]

    def clip(self) -> MidiClip | None:
        if self.document is None or self.clip_id is None:
            return None
        try:
            clip = self.document.clip(self.clip_id)
        except DocumentError:
            return None
        return clip if isinstance(clip, MidiClip) else None

    def invalidate(self) -> None:
        """The document changed: read the notes again when next asked."""
        self._notes = None

    @property
    def notes(self) -> dict[str, Note]:
        if self._notes is None:
            notes: dict[str, Note] = {}
            if self.document is not None and self.clip_id is not None:
                try:
                    notes = self.document.notes(self.clip_id)
                except DocumentError:
                    notes = {}  # the clip is gone (removed here or by a partner)
            self._notes = notes
            self.revision += 1
            gone = self.selection - notes.keys()
            if gone:
                self.selection -= gone
                self.selection_revision += 1
        return self._notes

    # Queries ----------------------------------------------------------------------------
    def note_at(self, tick: float, pitch: int) -> str | None:
        """The note under a point; where notes overlap, the one that starts last."""
        best: tuple[int, str] | None = None
        for nid, n in self.notes.items():
            if n.pitch == pitch and n.start <= tick < max(n.end, n.start + 1) and (
                best is None or n.start >= best[0]
            ):
                best = (n.start, nid)
        return None if best is None else best[1]

    def notes_in(self, t0: float, t1: float, p0: int, p1: int) -> set[str]:
        """Notes that overlap ticks [t0, t1] and pitches p0..p1 (inclusive)."""
        lo_t, hi_t = min(t0, t1), max(t0, t1)
        lo_p, hi_p = min(p0, p1), max(p0, p1)
        return {nid for nid, n in self.notes.items()
                if lo_p <= n.pitch <= hi_p and n.start <= hi_t and max(n.end, n.start + 1) > lo_t}

    def selected_notes(self) -> dict[str, Note]:
        notes = self.notes
        return {nid: notes[nid] for nid in self.selection if nid in notes}

    # Selection --------------------------------------------------------------------------
    def select(self, ids: Iterable[str], *, add: bool = False) -> None:
        new = set(ids) & self.notes.keys()
        if add:
            new |= self.selection
        if new != self.selection:
            self.selection = new
            self.selection_revision += 1

    def toggle(self, note_id: str) -> None:
        self.selection ^= {note_id}
        self.selection_revision += 1

    def select_all(self) -> None:
        self.select(self.notes.keys())

    def clear_selection(self) -> None:
        self.select(())

    # Edits (each one transaction) -------------------------------------------------------------
    def _doc(self) -> tuple[Document, str]:
        if self.document is None or self.clip_id is None:
            raise DocumentError("no clip is open in the piano roll")
        return self.document, self.clip_id

    def _patch(self, changes: Mapping[str, Note | None]) -> None:
        if self._notes is None:
            return
        for nid, note in changes.items():
            if note is None:
                self._notes.pop(nid, None)
            else:
                self._notes[nid] = note
        self.revision += 1

    def add(self, notes: Iterable[Note]) -> list[str]:
        doc, clip = self._doc()
        new = list(notes)
        self.notes  # noqa: B018 (read before writing, so the patch applies to a copy)
        self.writing = True
        try:
            with doc.transaction():
                ids = doc.add_notes(clip, new)
        finally:
            self.writing = False
        self._patch(dict(zip(ids, new, strict=True)))
        return ids

    def write(self, changes: Mapping[str, Note]) -> None:
        """Set several notes at once; notes a partner deleted meanwhile are skipped."""
        doc, clip = self._doc()
        live = self.notes
        todo = {nid: note for nid, note in changes.items() if nid in live and live[nid] != note}
        if not todo:
            return
        self.writing = True
        try:
            with doc.transaction():
                for nid, note in todo.items():
                    doc.set_note(clip, nid, note)
        finally:
            self.writing = False
        self._patch(todo)

    def remove(self, ids: Iterable[str]) -> None:
        doc, clip = self._doc()
        doomed = [nid for nid in ids if nid in self.notes]
        if doomed:
            self.writing = True
            try:
                doc.remove_notes(clip, doomed)
            finally:
                self.writing = False
            self._patch(dict.fromkeys(doomed))
            self.selection -= set(doomed)
            self.selection_revision += 1

    def delete_selection(self) -> None:
        self.remove(list(self.selection))

    def transpose(self, semitones: int) -> bool:
        """Move the selection up or down; refused (False) if a note would leave 0-127."""
        sel = self.selected_notes()
        if not sel or not all(0 <= n.pitch + semitones <= 127 for n in sel.values()):
            return False
        self.write({nid: replace(n, pitch=n.pitch + semitones) for nid, n in sel.items()})
        return True

    def shift(self, ticks: int) -> bool:
        sel = self.selected_notes()
        if not sel or min(n.start for n in sel.values()) + ticks < 0:
            return False
        self.write({nid: replace(n, start=n.start + ticks) for nid, n in sel.items()})
        return True

    def set_velocity(self, ids: Iterable[str], velocity: int) -> None:
        v = max(1, min(127, int(velocity)))
        notes = self.notes
        self.write({nid: replace(notes[nid], velocity=v) for nid in ids if nid in notes})

    def copy(self) -> int:
        self.clipboard = sorted(self.selected_notes().values(), key=lambda n: (n.start, n.pitch))
        return len(self.clipboard)

    def paste(self, at_tick: int) -> list[str]:
        """Paste the clipboard with its first note at `at_tick`; the pasted notes are
        selected."""
        if not self.clipboard:
            return []
        first = min(n.start for n in self.clipboard)
        offset = max(0, at_tick) - first
        ids = self.add(replace(n, start=n.start + offset) for n in self.clipboard)
        self.select(ids)
        return ids

    def duplicate(self, grid: int | None) -> list[str]:
        """Copies of the selection right after it (its span rounded up to the grid)."""
        sel = list(self.selected_notes().values())
        if not sel:
            return []
        span = max(n.end for n in sel) - min(n.start for n in sel)
        if grid is not None:
            span = max(grid, math.ceil(span / grid) * grid)
        ids = self.add(replace(n, start=n.start + max(1, span)) for n in sel)
        self.select(ids)
        return ids
