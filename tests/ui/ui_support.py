"""Shared helpers of the UI tests (imported by name: tests/ui is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

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


# Listening to the engine's output meters (shared by the track and project tests).
SILENT = 1e-3
AUDIBLE = 1e-2


def peak(engine: EngineClient) -> float:
    s = engine.status()
    return max(s.peak_left, s.peak_right)


def falls_silent(qtbot: QtBot, engine: EngineClient, blocks: int = 60) -> None:
    """The output goes quiet and stays so for `blocks` engine blocks in a row (reverb
    tails may take a moment), while the synth still sounds the note."""
    quiet_since = [engine.status().heartbeat]

    def quiet_long_enough() -> bool:
        status = engine.status()
        if max(status.peak_left, status.peak_right) >= SILENT:
            quiet_since[0] = status.heartbeat
        return status.heartbeat - quiet_since[0] >= blocks

    qtbot.waitUntil(quiet_long_enough, timeout=WAIT_MS)
    assert engine.status().voices > 0  # silent because muted, not because it ended


def window_without_engine(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    """The main window with no engine attached (editing needs none), its own config
    folder, and unsaved test edits discarded at the end instead of asked about."""
    from strumspace_desktop.ui.project_controller import UnsavedChoice

    window = MainWindow(AppSettings(), EngineAdapter(), config_dir=tmp_path,
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
