"""A screenshot of the main window with the live chord dock, for the docs:

    xvfb-run -a python -m strumspace_desktop.ui.chords.screenshot [OUT.png]

Everything shown comes from the real parts: a strummed progression is rendered with
FluidSynth, imported as an audio clip, and analysed into the chord track by the file
job (the committed model). Xvfb has no sound card, so the live dock is fed the way the
live worker would feed it: the same LiveRecognizer runs here over that audio in
blocks and each chord it shows goes out through the adapter's `live_chord` signal;
the next-chord hint then comes from the generation worker. Exit code 1 when a step did
not finish within the time limit.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

TIMEOUT_MS = 300_000
BLOCK = 1024


def _render(folder: Path, rate: int = 22050) -> tuple[Path, np.ndarray, int]:
    import soundfile as sf

    from models.chords.performance import PlayStyle, perform
    from models.chords.progressions import from_template
    from models.chords.soundfonts import SOUNDFONTS_BY_NAME
    from models.chords.synth_offline import OfflineSynth

    perf = perform(from_template("pop/axis", 0, 2),
                   PlayStyle(texture="strum", tempo=100.0, lead_in=0.3, tail=0.5),
                   np.random.default_rng(7))
    synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), rate)
    try:
        audio = synth.render(perf, {0: 25})  # steel-string guitar
    finally:
        synth.close()
    path = folder / "Strummed progression.wav"
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return path, audio, rate


def _live_events(audio: np.ndarray, rate: int) -> list[object]:
    """The chords the live recogniser shows over the audio, as the worker reports them."""
    from models.chords.live import LiveRecognizer
    from strumspace_desktop.analysis.live_events import LiveChord

    rec = LiveRecognizer(rate)
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    out: list[object] = []
    refresh = round(0.25 * rate)  # the worker repeats the shown chord 4 times a second
    last = -refresh
    for start in range(0, len(mono), BLOCK):
        chord = rec.push(np.ascontiguousarray(mono[start:start + BLOCK], dtype=np.float32))
        changed = chord is not None
        if chord is None and start - last >= refresh:
            chord = rec.current
        if chord is not None:
            last = start
            runners = tuple((lab, p) for lab, p in rec.top(4) if lab != chord.label)[:3]
            out.append(LiveChord(chord.label, chord.confidence, round(chord.since * rate),
                                 chord.since, chord.bass if chord.bass != chord.root else -1,
                                 runners, changed))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshot-chords.png")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from strumspace_desktop.analysis.live_events import LiveState, LiveStatus
    from strumspace_desktop.core.settings import AppSettings
    from strumspace_desktop.ui.adapter import EngineAdapter
    from strumspace_desktop.ui.main_window import MainWindow
    from strumspace_desktop.ui.project_controller import UnsavedChoice
    from strumspace_desktop.ui.theme import apply_dark_theme

    apply_dark_theme(app)  # type: ignore[arg-type]
    tmp = Path(tempfile.mkdtemp(prefix="strumspace-shot-"))
    window = MainWindow(AppSettings(), EngineAdapter(), config_dir=tmp / "config",
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    tools = window.chord_tools
    window.resize(1500, 860)
    window.show()
    song, audio, rate = _render(tmp)
    code = [1]

    def finish(ok: bool, why: str = "") -> None:
        if ok:
            window.repaint()
            app.processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            code[0] = 0 if window.grab().save(str(out)) else 1
        else:
            print(why, file=sys.stderr)
        window.close()
        app.quit()

    def hint_arrived() -> None:
        if tools.panel.hint_job is None:
            QTimer.singleShot(200, lambda: finish(True))
        else:
            QTimer.singleShot(200, hint_arrived)

    def live() -> None:
        tools.dock.show()
        window.adapter.live_chord_status.emit(LiveStatus(LiveState.LISTENING))
        events = _live_events(audio, rate)
        changes = [i for i, e in enumerate(events) if getattr(e, "changed", False)]
        # Stop a little after the seventh change, mid-song, as a musician would see it.
        stop = changes[6] + 2 if len(changes) > 6 else len(events)
        for event in events[:stop]:
            window.adapter.live_chord.emit(event)
        hint_arrived()

    def written(_done: object) -> None:
        if tools.analysis.offer is not None:
            tools.analysis.offer.reject()
        window.arrange.canvas.select(clips=set(), chords=set())
        QTimer.singleShot(0, live)

    def imported() -> None:
        if not window.imports.imported:
            QTimer.singleShot(100, imported)
            return
        window.arrange.canvas.select(clips={window.imports.imported[0].region_id},
                                     chords=set())
        tools.analysis.analyze_selected_clip()

    tools.analysis.written.connect(written)
    window.adapter.analysis_failed.connect(lambda m: finish(False, m))
    window.imports.import_audio([song], tick=0)
    QTimer.singleShot(100, imported)
    QTimer.singleShot(TIMEOUT_MS, lambda: finish(False, "timed out"))
    app.exec()
    return code[0]


if __name__ == "__main__":
    raise SystemExit(main())
