"""Shared helpers of the UI tests (imported by name: tests/ui is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow

JACK_API = "JACK Audio Connection Kit"
WAIT_MS = 20_000  # the machine is slow and shared: be generous, never sleep


@dataclass
class UI:
    window: MainWindow
    adapter: EngineAdapter
    engine: EngineClient
    settings: AppSettings
    settings_path: Path


D = TypeVar("D", bound=QDialog)


def when_dialog_opens(kind: type[D], act: Callable[[D], None], timeout_ms: int = WAIT_MS) -> None:
    """Run `act(dialog)` once a modal dialog of `kind` is up (the caller then opens it
    with a blocking exec(), as the app does)."""
    waited = [0]

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            act(dialog)
            return
        waited[0] += 20
        if waited[0] > timeout_ms:
            raise AssertionError(f"no {kind.__name__} opened")
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
