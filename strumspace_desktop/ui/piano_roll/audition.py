"""Hearing notes while editing: note on when grabbed, note off when let go.

Goes through the engine adapter on the clip's track channel; without an engine
(or a stream) the adapter drops the notes, so auditioning is silently nothing.
"""

from __future__ import annotations

from strumspace_desktop.ui.adapter import EngineAdapter


class Auditioner:
    def __init__(self, adapter: EngineAdapter | None = None) -> None:
        self.adapter = adapter
        self.channel = 0
        self.enabled = True
        self._sounding: tuple[int, int] | None = None  # channel, pitch

    def start(self, pitch: int, velocity: int) -> None:
        self.stop()
        if self.adapter is None or not self.enabled:
            return
        self._sounding = (self.channel, pitch)
        self.adapter.note_on(self.channel, pitch, max(1, min(127, velocity)))

    def stop(self, pitch: int | None = None) -> None:
        """End the sounding note (only if it is `pitch`, when given)."""
        sounding = self._sounding
        if sounding is None or (pitch is not None and sounding[1] != pitch):
            return
        self._sounding = None
        if self.adapter is not None:
            self.adapter.note_off(*sounding)
