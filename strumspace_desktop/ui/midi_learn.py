"""MIDI learn: bind a controller's knob or button (a CC) to an app control.

In learn mode the learnable controls are outlined; clicking one arms it (the click
does not operate it), and the next CC that arrives from a MIDI input is bound to it.
A bound CC is marked consumed in the engine, so it no longer reaches the synth.

Knobs (continuous targets) map 0..127 onto the control's range. Buttons trigger on a
rising edge through 64, so a button that sends 127 on press and 0 on release fires
once per press, and a knob swept upwards fires once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QWidget

from strumspace_desktop.core.settings import MidiSettings
from strumspace_desktop.ui.adapter import EngineAdapter

# What can be bound, with the words shown to the musician.
TARGETS: dict[str, str] = {
    "master_volume": "Master volume",
    "tempo": "Tempo",
    "play": "Play/Stop",
    "stop": "Stop",
    "record": "Record arm",
}
CONTINUOUS = frozenset({"master_volume", "tempo"})
BUTTON_THRESHOLD = 64


@dataclass(frozen=True)
class Binding:
    target: str
    channel: int  # 0..15, the controller's own channel
    controller: int  # 0..127

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "channel": self.channel, "controller": self.controller}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Binding | None:
        """A binding from settings, or None for an entry this version cannot use."""
        target, ch, cc = data.get("target"), data.get("channel"), data.get("controller")
        if target not in TARGETS or not isinstance(ch, int) or not isinstance(cc, int) \
                or isinstance(ch, bool) or isinstance(cc, bool):
            return None
        if not (0 <= ch < 16 and 0 <= cc < 128):
            return None
        return cls(str(target), ch, cc)


class MidiLearn(QObject):
    learning_changed = Signal(bool)
    armed_changed = Signal(str)  # target, "" when none
    bindings_changed = Signal()

    def __init__(self, adapter: EngineAdapter, settings: MidiSettings,
                 actions: dict[str, Callable[[int], None]],
                 save: Callable[[], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        missing = set(TARGETS) - set(actions)
        if missing:
            raise ValueError(f"no action for MIDI-learn targets {sorted(missing)}")
        self.adapter = adapter
        self.settings = settings
        self.actions = actions
        self._save = save
        self.learning = False
        self.armed: str | None = None
        self._widgets: dict[str, QWidget] = {}
        self._owner: dict[QObject, str] = {}  # widget or child -> target
        self._last_value: dict[tuple[int, int], int] = {}
        self.bindings: list[Binding] = []
        for d in settings.learn_bindings:
            b = Binding.from_dict(d)
            if b is not None:
                self.bindings.append(b)
        adapter.control_changed.connect(self.handle_cc)

    # Targets ---------------------------------------------------------------------------
    def register(self, widget: QWidget, target: str) -> None:
        if target not in TARGETS:
            raise ValueError(f"unknown MIDI-learn target {target!r}")
        self._widgets[target] = widget
        # Spin boxes click through a child line edit: watch the children too.
        for w in (widget, *widget.findChildren(QWidget)):
            self._owner[w] = target
            w.installEventFilter(self)

    def widget_for(self, target: str) -> QWidget:
        return self._widgets[target]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.learning or watched not in self._owner:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            self.arm(self._owner[watched])
            return True
        # Swallow the rest of the click so that learning never operates the control.
        return kind in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick,
                        QEvent.Type.Wheel)

    # Learn mode -------------------------------------------------------------------------
    def set_learning(self, on: bool) -> None:
        if on == self.learning:
            return
        self.learning = on
        if not on:
            self.arm(None)
        for w in self._widgets.values():
            self._mark(w, "learnTarget", on)
        self.learning_changed.emit(on)

    def arm(self, target: str | None) -> None:
        if target == self.armed:
            return
        if self.armed is not None:
            self._mark(self._widgets[self.armed], "learnArmed", False)
        self.armed = target
        if target is not None:
            self._mark(self._widgets[target], "learnArmed", True)
        self.armed_changed.emit(target or "")

    @staticmethod
    def _mark(widget: QWidget, prop: str, on: bool) -> None:
        widget.setProperty(prop, on)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        widget.update()

    # Bindings ---------------------------------------------------------------------------
    def bind(self, target: str, channel: int, controller: int) -> Binding:
        """Bind (replacing this target's old CC, and any other use of this CC)."""
        new = Binding(target, channel, controller)
        released = [b for b in self.bindings if b.target == target
                    or (b.channel, b.controller) == (channel, controller)]
        self.bindings = [b for b in self.bindings if b not in released] + [new]
        for b in released:
            if (b.channel, b.controller) != (channel, controller):
                self.adapter.set_cc_consumed(b.channel, b.controller, False)
        self.adapter.set_cc_consumed(channel, controller, True)
        self._store()
        return new

    def clear(self) -> None:
        for b in self.bindings:
            self.adapter.set_cc_consumed(b.channel, b.controller, False)
        self.bindings = []
        self._store()

    def apply_consumed(self) -> None:
        """Mark every bound CC consumed (the engine was started or restarted)."""
        for b in self.bindings:
            self.adapter.set_cc_consumed(b.channel, b.controller, True)

    def binding_for(self, target: str) -> Binding | None:
        return next((b for b in self.bindings if b.target == target), None)

    def _store(self) -> None:
        self.settings.learn_bindings = [b.to_dict() for b in self.bindings]
        if self._save is not None:
            self._save()
        self.bindings_changed.emit()

    # Incoming controllers ---------------------------------------------------------------
    def handle_cc(self, channel: int, controller: int, value: int) -> None:
        key = (channel, controller)
        previous = self._last_value.get(key, 0)
        self._last_value[key] = value
        if self.learning:
            if self.armed is not None:
                target = self.armed
                self.bind(target, channel, controller)
                self.arm(None)
            return  # while learning, controllers only bind
        for b in self.bindings:
            if (b.channel, b.controller) != key:
                continue
            if b.target in CONTINUOUS or previous < BUTTON_THRESHOLD <= value:
                self.actions[b.target](value)
