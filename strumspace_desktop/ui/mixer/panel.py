"""The mixer: a channel strip per sounding (non-chord) track in track order, then
the master strip, following the song document whatever changed it (a click here,
the track list, an undo, a partner's edit).

Meters are fed from the adapter's periodic status (the window's one engine poll):
the master meter from the output peaks, each strip's from the engine's per-strip
peaks (`EngineClient.track_peaks`). Nothing is read while the mixer is hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.song_data import assign_strips
from strumspace_desktop.core.document import Change, Document, Effect
from strumspace_desktop.core.effects import MASTER
from strumspace_desktop.ui.mixer.edits import MixerEdits
from strumspace_desktop.ui.mixer.effect_editor import EffectEditor
from strumspace_desktop.ui.mixer.strips import ChannelStrip, MasterStrip, StripBase
from strumspace_desktop.ui.toggle_dock import ToggleDock

PROBLEM_SHOWN_MS = 8000
MAX_ENGINE_MESSAGES = 20


class MixerPanel(QWidget):
    def __init__(self, adapter: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MixerPanel")
        self.adapter = adapter
        self.edits = MixerEdits(self)
        self.edits.problem.connect(self.show_problem)
        self.document: Document | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self.strips: dict[str, ChannelStrip] = {}
        self.order: list[str] = []
        self.master = MasterStrip(self.edits)
        self.master.edit_effect.connect(self.open_editor)
        self.editors: dict[str, EffectEditor] = {}
        self.engine_messages: list[str] = []
        self.engine_errors: dict[str, str] = {}  # effect id -> the engine's message

        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(1)
        self.empty_label = QLabel("No tracks to mix yet.")
        self.empty_label.setObjectName("FieldLabel")
        strip_area = QWidget()
        row_host = QHBoxLayout(strip_area)
        row_host.setContentsMargins(0, 0, 0, 0)
        row_host.setSpacing(1)
        row_host.addLayout(self._row)
        row_host.addWidget(self.empty_label)
        row_host.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(strip_area)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        divider = QFrame()
        divider.setFixedWidth(2)
        divider.setStyleSheet("background: #3b4048;")
        self.problem_label = QLabel()
        self.problem_label.setObjectName("ProblemLabel")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        self._problem_timer = QTimer(self)
        self._problem_timer.setSingleShot(True)
        self._problem_timer.setInterval(PROBLEM_SHOWN_MS)
        self._problem_timer.timeout.connect(self.problem_label.hide)
        strips = QHBoxLayout()
        strips.setContentsMargins(0, 0, 0, 0)
        strips.setSpacing(0)
        strips.addWidget(self.scroll_area, 1)
        strips.addWidget(divider)
        strips.addWidget(self.master)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.problem_label)
        layout.addLayout(strips, 1)
        self.setMinimumHeight(380)
        if adapter is not None:
            adapter.status_changed.connect(self.show_status)

    # The document -------------------------------------------------------------------------
    def set_document(self, document: Document | None) -> None:
        """Show another song (New, Open, Recover); its edits go there from now on."""
        self._unsubscribe()
        self._unsubscribe = lambda: None
        for editor in list(self.editors.values()):
            self._close_editor(editor.effect_id)
        self.edits.set_document(document)
        self.document = document
        self.engine_messages = []
        self.engine_errors = {}
        if document is not None:
            self._unsubscribe = document.subscribe(self._changed)
        self._sync_tracks()
        self._sync_master()
        self._sync_effects(None)
        editable = self.edits.editable
        for strip in self._all_strips():
            strip.set_editable(editable)

    def _all_strips(self) -> list[StripBase]:
        return [*(self.strips[t] for t in self.order), self.master]

    def strip(self, owner: str) -> StripBase | None:
        return self.master if owner == MASTER else self.strips.get(owner)

    def _changed(self, change: Change) -> None:
        if change.tracks:
            self._sync_tracks()
        if change.effects:
            self._sync_effects(change.effects)
        if change.meta:
            self._sync_master()

    def _sync_tracks(self) -> None:
        doc = self.document
        tracks = [t for t in doc.tracks() if t.kind != "chord"] if doc is not None else []
        wanted = {t.id for t in tracks}
        for tid in [t for t in self.strips if t not in wanted]:
            gone = self.strips.pop(tid)
            for e in gone.effects.effects:
                self._close_editor(e.id)
            self._row.removeWidget(gone)
            gone.hide()
            gone.deleteLater()
        editable = self.edits.editable
        for t in tracks:
            strip = self.strips.get(t.id)
            if strip is None:
                strip = ChannelStrip(t, self.edits)
                strip.edit_effect.connect(self.open_editor)
                strip.set_editable(editable)
                self.strips[t.id] = strip
                self._show_effects_of(strip)
            elif strip.track != t:
                strip.show_track(t)
        order = [t.id for t in tracks]
        if order != self.order:
            for tid in self.order:
                if tid in self.strips:
                    self._row.removeWidget(self.strips[tid])
            for tid in order:
                self._row.addWidget(self.strips[tid])
            self.order = order
        engine = assign_strips((t.id, t.kind, t.instrument.bank, t.instrument.channel)
                               for t in tracks)
        first_on: dict[int, str] = {}  # engine strip -> the track whose mix it plays
        for t in tracks:
            strip = self.strips[t.id]
            if strip.engine_strip != engine.get(t.id):
                strip.engine_strip = engine.get(t.id)
                strip.meter.reset()
            owner = first_on.setdefault(engine.get(t.id, -1), t.id)
            strip.set_shared_with(self.strips[owner].name if owner != t.id else None)
        self.empty_label.setVisible(not tracks)

    def _sync_master(self) -> None:
        if self.document is not None:
            self.master.show_master(self.document.master())

    def _sync_effects(self, owners: Iterable[str] | None) -> None:
        targets = [*self.strips, MASTER] if owners is None else list(owners)
        for owner in targets:
            strip = self.strip(owner)
            if strip is not None:
                self._show_effects_of(strip)

    def _show_effects_of(self, strip: StripBase) -> None:
        doc = self.document
        effects = doc.effects(strip.owner) if doc is not None else []
        self._match_engine_errors(effects)
        strip.show_effects(effects, self.engine_errors)
        alive = {e.id: e for e in effects}
        for effect_id in [eid for eid, ed in self.editors.items()
                          if ed.effect.track_id == strip.owner]:
            if effect_id in alive:
                self.editors[effect_id].show_effect(alive[effect_id],
                                                    self.engine_errors.get(effect_id))
            else:
                self._close_editor(effect_id)

    # Effect editors ---------------------------------------------------------------------------
    def open_editor(self, owner: str, effect_id: str) -> EffectEditor | None:
        doc = self.document
        if doc is None:
            return None
        editor = self.editors.get(effect_id)
        if editor is None:
            try:
                effect = doc.effect(effect_id)
            except ValueError:
                return None
            strip = self.strip(owner)
            editor = EffectEditor(effect, strip.name if strip is not None else owner,
                                  self.edits, self)
            editor.show_effect(effect, self.engine_errors.get(effect_id))
            editor.finished.connect(lambda _r, eid=effect_id: self._forget_editor(eid))
            self.editors[effect_id] = editor
        editor.show()
        editor.raise_()
        return editor

    def _forget_editor(self, effect_id: str) -> None:
        editor = self.editors.pop(effect_id, None)
        if editor is not None:
            editor.deleteLater()

    def _close_editor(self, effect_id: str) -> None:
        editor = self.editors.pop(effect_id, None)
        if editor is not None:
            editor.close()
            editor.deleteLater()

    # Messages ---------------------------------------------------------------------------------
    def show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.show()
        self._problem_timer.start()

    def show_engine_messages(self, messages: Iterable[str], *,
                             show_unmatched: bool = True) -> None:
        """The engine's messages about the song and mix (SongSync.messages: plugins it
        could not load, missing files). One naming a VST3 effect's plugin marks that
        effect; the others show on the panel unless `show_unmatched` is False (the
        window shows every message as a notice already)."""
        new = [m for m in messages if m not in self.engine_messages]
        if not new:
            return
        self.engine_messages = (self.engine_messages + new)[-MAX_ENGINE_MESSAGES:]
        unmatched = [m for m in new if not self._names_a_plugin(m)]
        self._sync_effects(None)
        if unmatched and show_unmatched:
            self.show_problem(unmatched[-1])

    def _names_a_plugin(self, message: str) -> bool:
        doc = self.document
        if doc is None:
            return False
        return any(e.type == "vst3" and Path(e.plugin).name
                   and Path(e.plugin).name in message for e in doc.all_effects())

    def _match_engine_errors(self, effects: list[Effect]) -> None:
        for e in effects:
            name = Path(e.plugin).name if e.type == "vst3" else ""
            found = next((m for m in reversed(self.engine_messages) if name and name in m),
                         None)
            if found is not None:
                self.engine_errors[e.id] = found
            else:
                self.engine_errors.pop(e.id, None)

    # Meters -----------------------------------------------------------------------------------
    def show_status(self, status: Any) -> None:
        """Meters from one engine status (the adapter's poll); skipped while hidden."""
        if not self.isVisible():
            return
        running = bool(getattr(status, "running", False))
        if running:
            self.master.meter.set_levels((status.peak_left, status.peak_right))
        else:
            self.master.meter.set_levels((0.0, 0.0))
        client = getattr(self.adapter, "client", None)
        peaks = getattr(client, "track_peaks", None)
        for tid in self.order:
            strip = self.strips[tid]
            if running and peaks is not None and strip.engine_strip is not None:
                strip.meter.set_levels(peaks(strip.engine_strip))
            else:
                strip.meter.set_levels((0.0, 0.0))


class MixerDock(ToggleDock):
    """The mixer as a dock of the main window (View > Mixer, F3)."""

    def __init__(self, adapter: Any = None, parent: QWidget | None = None) -> None:
        super().__init__("Mixer", parent)
        self.setObjectName("MixerDock")
        self.panel = MixerPanel(adapter)
        self.setWidget(self.panel)


    def bind_projects(self, projects: Any) -> None:
        """Follow the window's project controller: its document, and each new one."""
        self.panel.set_document(projects.document)
        projects.project_replaced.connect(lambda: self.panel.set_document(projects.document))
