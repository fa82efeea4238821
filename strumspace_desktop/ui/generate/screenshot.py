"""A screenshot of the Generate panel for the docs, with real results from the worker:

    xvfb-run -a python -m strumspace_desktop.ui.generate.screenshot OUT.png

Opens the main window (no audio engine is needed), writes a two-bar melody and a chord
track, selects the melody, asks for three continuations and saves the window once they
are listed (exit code 1 if none came within the time limit).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

TIMEOUT_MS = 300_000


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshot-generate-panel.png")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from strumspace_desktop.core.document import ChordItem, Note
    from strumspace_desktop.core.settings import AppSettings
    from strumspace_desktop.core.timing import PPQ
    from strumspace_desktop.ui.adapter import EngineAdapter
    from strumspace_desktop.ui.main_window import MainWindow
    from strumspace_desktop.ui.project_controller import UnsavedChoice
    from strumspace_desktop.ui.theme import apply_dark_theme

    apply_dark_theme(app)  # type: ignore[arg-type]
    window = MainWindow(AppSettings(), EngineAdapter(),
                        config_dir=Path(tempfile.mkdtemp(prefix="strumspace-shot-")),
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    doc = window.projects.document
    bar = 4 * PPQ
    piano = next(t.id for t in doc.tracks() if t.kind == "midi")
    clip = doc.add_midi_clip(piano, 0, 2 * bar, "Tune")
    tune = [(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65), (4, 2, 67), (6, 1, 65), (7, 1, 64)]
    doc.add_notes(clip, [Note(p, b * PPQ, n * PPQ, 90) for b, n, p in tune])
    chords = window.tracks.add_chord().id
    doc.add_chords(chords, [ChordItem(i * bar, (i + 1) * bar, label)
                            for i, label in enumerate(["C:maj", "G:maj"])])
    window.resize(1500, 860)
    window.show()
    window.generation_dock.show()
    panel = window.generation_dock.panel
    window.arrange.canvas.select(clips={clip}, chords=set())
    panel.set_task("continue")
    panel.bars.setValue(2)
    panel.variations_spin.setValue(3)
    code = [1]

    def save() -> None:
        panel.results.setCurrentRow(0)
        window.repaint()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        code[0] = 0 if window.grab().save(str(out)) else 1
        window.close()
        app.quit()

    def give_up() -> None:
        print("no variations arrived in time", file=sys.stderr)
        window.close()
        app.quit()

    panel.result_listed.connect(lambda: QTimer.singleShot(200, save))
    QTimer.singleShot(0, panel.generate)
    QTimer.singleShot(TIMEOUT_MS, give_up)
    app.exec()
    return code[0]


if __name__ == "__main__":
    raise SystemExit(main())
