"""Start the desktop app: settings, engine, main window; save and stop on quit.

Nothing here may keep the window from opening: a damaged settings file, an engine
that cannot start, a missing audio device or SoundFont each become a message in
the window, and the musician can fix them from there.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from strumspace_desktop.audio.client import EngineClient, EngineError
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.theme import apply_dark_theme

SCREENSHOT_TIMEOUT_MS = 30_000
SETTLE_POLLS = 15  # status polls (~0.5 s) after start-up, so meters and labels are live


@dataclass
class AppSession:
    app: QApplication
    window: MainWindow
    adapter: EngineAdapter
    settings: AppSettings
    settings_warning: str | None
    engine_error: str | None

    def shutdown(self) -> None:
        """Save settings and stop the engine (idempotent)."""
        self.window.save_settings()
        self.adapter.shutdown()


def _application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName("StrumSpace")
    app.setApplicationDisplayName("StrumSpace")
    app.setOrganizationName("StrumSpace")
    return app


def launch(settings_path: Path | None = None) -> AppSession:
    """Open the window, then start the engine and open the saved device."""
    app = _application()
    apply_dark_theme(app)
    settings, warning = AppSettings.load(settings_path)
    adapter = EngineAdapter()
    window = MainWindow(settings, adapter, settings_path=settings_path)
    if warning:
        window.notices.show_notice("settings", warning, "warning")
    window.show()
    app.processEvents()  # the window appears before the (slower) engine start
    client = EngineClient()
    engine_error = None
    try:
        client.start()
    except EngineError as exc:
        engine_error = str(exc)
    if engine_error is None:
        adapter.attach(client)
    window.connect_engine()
    if engine_error is not None:
        window.show_engine_problem(
            f"{engine_error} Your settings are kept; try Audio ▸ Restart Audio Engine.")
    return AppSession(app, window, adapter, settings, warning, engine_error)


def run_app(screenshot: str | None = None) -> int:
    """The `strumspace app` command; with `screenshot`, save the window once it is up
    and quit (used for docs and smoke tests)."""
    session = launch()
    app = session.app
    # Ctrl+C in the terminal quits cleanly (the adapter's timer lets Python see it).
    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    if screenshot:
        _screenshot_when_ready(session, Path(screenshot))
    try:
        code = app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        session.window.close()
        session.shutdown()
    return code


def _screenshot_when_ready(session: AppSession, path: Path) -> None:
    window, adapter = session.window, session.adapter
    polls = [0]
    elapsed = [0]
    timer = QTimer(window)
    timer.setInterval(33)

    def ready() -> bool:
        handle = window.windowHandle()
        if not (window.engine_ready and handle is not None and handle.isExposed()):
            return False
        if adapter.engine_running and adapter.last_status is not None:
            polls[0] += 1
        return polls[0] >= SETTLE_POLLS or not adapter.engine_running

    def tick() -> None:
        elapsed[0] += timer.interval()
        if not ready() and elapsed[0] < SCREENSHOT_TIMEOUT_MS:
            return
        timer.stop()
        window.repaint()
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(path))
        if not ok:
            print(f"Could not save the screenshot to {path}.", file=sys.stderr)
        session.app.exit(0 if ok else 1)

    timer.timeout.connect(tick)
    timer.start()
