"""The generation service seen from Qt: its events arrive as a queued signal in the UI
thread (the service calls back on its own reader thread, where no widget may be
touched). One bridge per window, shared by the panel and the chord suggestions; each
listener keeps the job numbers it submitted and ignores the others.

The worker process starts with the first request (or `warm_up`), so opening the app
costs nothing when nobody generates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from strumspace_desktop.generate.events import GenerationEvent, Ready
from strumspace_desktop.generate.service import GenerationService


class GenerationBridge(QObject):
    received = Signal(object)  # a generate.events value, in the UI thread
    _arrived = Signal(object)  # emitted on the service's reader thread

    def __init__(self, parent: QObject | None = None, *, device: str = "auto",
                 model_dir: str | Path | None = None, threads: int = 1,
                 niceness: int = 10) -> None:
        super().__init__(parent)
        self._options: dict[str, Any] = {"device": device, "model_dir": model_dir,
                                         "threads": threads, "niceness": niceness}
        self._service: GenerationService | None = None
        self.backend = ""  # the loaded backend's name once the worker says so
        # Queued: the slot runs in this object's (the UI) thread whoever emits.
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def service(self) -> GenerationService:
        if self._service is None:
            self._service = GenerationService(on_event=self._arrived.emit, **self._options)
        return self._service

    @property
    def started(self) -> bool:
        return self._service is not None

    def warm_up(self) -> None:
        """Start the worker and load the model now (the first request is then quick)."""
        self.service.start()

    def submit(self, request: Any) -> int:
        return self.service.submit(request)

    def cancel(self, job: int) -> None:
        if self._service is not None:
            self._service.cancel(job)

    @property
    def busy(self) -> bool:
        return self._service is not None and self._service.busy

    def shutdown(self) -> None:
        """Stop the worker (on quit); a later request starts a new one."""
        service, self._service = self._service, None
        if service is not None:
            service.shutdown()

    def _deliver(self, event: GenerationEvent) -> None:
        if isinstance(event, Ready):
            self.backend = event.backend
        self.received.emit(event)
