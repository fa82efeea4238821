"""Chords menu actions on files: "Analyze Audio File to Chord Track…", "Analyze
Selected Audio Clip" and "Export Chords…".

An analysis runs in its own process (`analysis.file_job.FileAnalysisJob`, reported by
the adapter's `analysis_*` signals) behind a progress dialog with Cancel; a cancelled
job is dropped whole, so the song is untouched. A finished one is written into the
chord track (made when the song has none) as ONE undo step by
`analysis.chord_track.write_analysis` (hand-made chords are kept). Then the key and
tempo found (and the time signature, where it is not the song's) are offered in a
small dialog, never applied silently: applying is a second undo step that sets the
song's tempo (and moves the written chords so they stay under the audio), its time
signature, and uses the key to spell chord names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from models.chords.formats import shows_tuning, tuning_text
from strumspace_desktop.analysis.chord_track import ChordTrackWrite, write_analysis
from strumspace_desktop.analysis.file_job import FileAnalysisJob
from strumspace_desktop.core.document import AudioRegion, ChordItem, Document, DocumentError
from strumspace_desktop.core.timing import MAX_BPM, MIN_BPM
from strumspace_desktop.core.tracks import TrackLimitError
from strumspace_desktop.ui.chords.notation import SongKey, key_text

if TYPE_CHECKING:
    from strumspace_desktop.ui.chords.tools import ChordTools

NOTICE_KEY = "chord-analysis"
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff *.aif *.m4a);;All files (*)"
EXPORT_FILTERS = {"lab": "MIREX chord labels (*.lab)", "json": "Analysis JSON (*.json)",
                  "chart": "Chord chart (*.txt)"}
CHUNK_SECONDS = 15.0  # progress steps for a song (the runtime's default is 60 s)


@dataclass
class _Span:
    start: float
    end: float
    label: str
    confidence: float


@dataclass
class RegionView:
    """An analysis seen through an audio region: only the part the region plays, on
    the region's own time line (what `write_analysis` writes under it)."""

    segments: list[_Span]
    duration: float
    key: Any = None
    tempo: float | None = None
    beats: list[float] = field(default_factory=list)


def region_view(analysis: Any, skip: float, length: float) -> RegionView:
    spans = []
    for s in analysis.segments:
        a, b = max(float(s.start), skip), min(float(s.end), skip + length)
        if b > a:
            spans.append(_Span(a - skip, b - skip, str(s.label), float(s.confidence)))
    return RegionView(spans, max(0.0, min(float(analysis.duration) - skip, length)),
                      getattr(analysis, "key", None), getattr(analysis, "tempo", None))


@dataclass
class PendingWrite:
    path: Path
    document: Document
    start_tick: int
    skip_seconds: float
    region_seconds: float | None  # a selected clip's length; None: the whole file
    name: str = ""  # what the musician calls it (the clip's or the file's name)


def tempo_levels(tempo: float | None) -> list[tuple[float, str]]:
    """The tempo found, then its double and its half where the song may have them."""
    if not tempo:
        return []
    levels = [(tempo, " (as found)"), (2 * tempo, " (double)"), (tempo / 2, " (half)")]
    return [(t, what) for t, what in levels if MIN_BPM <= t <= MAX_BPM]


class KeyTempoOffer(QDialog):
    """What the analysis found, with a choice of what to take into the song."""

    def __init__(self, key: SongKey | None, key_confidence: float | None,
                 tempo: float | None, current_tempo: float, parent: QWidget | None,
                 meter: int | None = None, current_meter: tuple[int, int] = (4, 4)) -> None:
        super().__init__(parent)
        self.setWindowTitle("Key and Tempo from the Analysis")
        v = QVBoxLayout(self)
        found = []
        if key is not None:
            found.append(f"key {key_text(key)}"
                         + (f" (confidence {key_confidence:.0%})" if key_confidence else ""))
        if tempo:
            found.append(f"tempo {tempo:.1f} bpm")
        if meter:
            found.append(f"{meter} beats a bar")
        listed = ", ".join(found[:-1]) + " and " + found[-1] if len(found) > 1 else found[0]
        v.addWidget(QLabel("The analysis found " + listed + ". Use it for the "
                           "song? Nothing changes unless you apply it."))
        # The level of a beat is the one thing a tempo estimate often gets wrong (a
        # fifth of the clips measured come out at half or double the played tempo):
        # the musician, who knows, picks it.
        self.use_tempo = QCheckBox("Set the song's tempo to")
        self.tempo_choice = QComboBox()
        for value, what in tempo_levels(tempo):
            self.tempo_choice.addItem(f"{value:.1f} bpm{what}", value)
        self.tempo_row = QWidget()
        tempo_row = QHBoxLayout(self.tempo_row)
        tempo_row.setContentsMargins(0, 0, 0, 0)
        tempo_row.addWidget(self.use_tempo)
        tempo_row.addWidget(self.tempo_choice)
        tempo_row.addWidget(QLabel(f"(now {current_tempo:.1f}); the chords move with it"))
        tempo_row.addStretch(1)
        self.use_tempo.toggled.connect(self.tempo_choice.setEnabled)
        self.use_tempo.setChecked(bool(tempo))
        self.tempo_row.setVisible(bool(tempo))
        now = f"{current_meter[0]}/{current_meter[1]}"
        self.use_meter = QCheckBox(f"Set the song's time signature to {meter}/4 (now {now})"
                                   if meter else "")
        self.use_meter.setChecked(bool(meter))
        self.use_meter.setVisible(bool(meter))
        self.use_key = QCheckBox(f"Spell chord names in {key_text(key)}" if key else "")
        self.use_key.setChecked(key is not None)
        self.use_key.setVisible(key is not None)
        v.addWidget(self.tempo_row)
        v.addWidget(self.use_meter)
        v.addWidget(self.use_key)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.skip_button = buttons.addButton("Keep the Song As It Is",
                                             QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)

    def chosen_tempo(self) -> float | None:
        """The tempo to set, or None when the musician keeps the song's."""
        if not self.use_tempo.isChecked() or self.tempo_choice.count() == 0:
            return None
        return float(self.tempo_choice.currentData())


class ChordAnalysisActions(QObject):
    written = Signal(object)  # ChordTrackWrite of a finished analysis
    offer_applied = Signal()

    def __init__(self, tools: ChordTools) -> None:
        super().__init__(tools)
        self.tools = tools
        self.window_ = tools.window_
        self.job: FileAnalysisJob | None = None
        self.pending: PendingWrite | None = None
        self.progress: QProgressDialog | None = None
        self.offer: KeyTempoOffer | None = None
        self.last_write: ChordTrackWrite | None = None
        a = self.window_.adapter
        a.analysis_progress.connect(self._progress)
        a.analysis_finished.connect(self._finished)
        a.analysis_failed.connect(self._failed)

    @property
    def notices(self) -> Any:
        return self.window_.notices

    # Starting -------------------------------------------------------------------------
    def analyze_file(self, path: str | Path | None = None) -> FileAnalysisJob | None:
        """Analyse a file (asked for when not given) into the chord track from the
        song's start."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self.window_, "Analyze Audio File to Chord Track", "", AUDIO_FILTER)
            if not chosen:
                return None
            path = chosen
        return self._start(Path(path), 0, 0.0, None)

    def selected_region(self) -> AudioRegion | None:
        doc = self.window_.projects.document
        for clip_id in sorted(self.window_.arrange.canvas.selected):
            try:
                clip = doc.clip(clip_id)
            except DocumentError:
                continue
            if isinstance(clip, AudioRegion):
                return clip
        return None

    def analyze_selected_clip(self) -> FileAnalysisJob | None:
        """Analyse the audio of the selected audio clip; its chords land under it."""
        region = self.selected_region()
        if region is None:
            self.notices.show_notice(NOTICE_KEY, "Select an audio clip in the arrangement "
                                     "first, then analyse it.", "info")
            return None
        doc = self.window_.projects.document
        project = self.window_.projects.project
        path = project.audio_path(region.blob) if project is not None else None
        blob = doc.blobs().get(region.blob)
        if path is None or blob is None or not Path(path).exists():
            self.notices.show_notice(NOTICE_KEY, "The audio of this clip is missing from the "
                                     "project folder, so it cannot be analysed.", "error")
            return None
        tempo = doc.tempo_map()
        seconds = tempo.seconds_at_tick(region.end) - tempo.seconds_at_tick(region.start)
        skip = region.offset / max(1, int(blob.sample_rate))
        name = region.name or blob.name or Path(path).name
        return self._start(Path(path), region.start, skip, seconds, name)

    def _start(self, path: Path, start_tick: int, skip: float, length: float | None,
               name: str = "") -> FileAnalysisJob | None:
        if self.job is not None:
            self.notices.show_notice(NOTICE_KEY, "A chord analysis is already running; "
                                     "wait for it or cancel it first.", "info")
            return None
        doc = self.window_.projects.document
        if doc.read_only:
            self.notices.show_notice(NOTICE_KEY, "This song is read-only: its chord track "
                                     "cannot be filled.", "warning")
            return None
        if not path.is_file():
            self.notices.show_notice(NOTICE_KEY, f"{path} is not a file that can be "
                                     "analysed.", "error")
            return None
        self.notices.clear(NOTICE_KEY)
        name = name or path.name
        self.pending = PendingWrite(path, doc, start_tick, skip, length, name)
        job = FileAnalysisJob(path, chunk_seconds=CHUNK_SECONDS)
        self.job = job
        progress = QProgressDialog(f"Finding the chords of {name}…", "Cancel", 0, 100,
                                   self.window_)
        progress.setWindowTitle("Chord Analysis")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(self.cancel)
        progress.setValue(0)
        progress.show()
        self.progress = progress
        job.start()
        self.window_.adapter.watch_analysis(job)
        return job

    # Reports --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the running analysis; the song stays as it was."""
        job, self.job = self.job, None
        self.pending = None
        if job is not None:
            job.cancel()
            self.window_.status.showMessage("Chord analysis cancelled; the song is unchanged.",
                                            5000)
        self._close_progress()

    def _close_progress(self) -> None:
        progress, self.progress = self.progress, None
        if progress is not None:
            progress.canceled.disconnect(self.cancel)
            progress.close()
            progress.deleteLater()

    def _progress(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress.setValue(round(100 * fraction))

    def _failed(self, message: str) -> None:
        if self.job is None:
            return
        self.job = None
        self.pending = None
        self._close_progress()
        self.notices.show_notice(NOTICE_KEY, f"No chords were written: {message}", "error")

    def _finished(self, analysis: Any) -> None:
        pending = self.pending
        if self.job is None or pending is None:
            return
        self.job = None
        self.pending = None
        self._close_progress()
        doc = self.window_.projects.document
        if doc is not pending.document:
            self.notices.show_notice(NOTICE_KEY, "Another song was opened meanwhile; the "
                                     "chords found were not written.", "warning")
            return
        try:
            done = self._write(doc, pending, analysis)
        except (DocumentError, TrackLimitError) as exc:
            self.notices.show_notice(NOTICE_KEY, f"The chords could not be written: {exc}",
                                     "error")
            return
        self.last_write = done
        self.written.emit(done)
        n = len(done.added)
        self.window_.status.showMessage(
            f"{n} chord{'s' if n != 1 else ''} from {pending.name} written to the chord "
            "track (Undo removes them).", 8000)
        if n == 0:
            self.notices.show_notice(NOTICE_KEY, f"No chords were found in {pending.name} "
                                     "(silence or no harmony).", "info")
        else:
            self._tell_about_the_recording(pending.name, analysis)
        self._offer(done, analysis, pending)

    def _tell_about_the_recording(self, name: str, analysis: Any) -> None:
        """A notice when the recording is out of tune or hums."""
        told = []
        cents = getattr(analysis, "tuning_cents", None)
        if shows_tuning(cents):
            # Someone playing along has to tune to the recording, not to A = 440 Hz.
            told.append(f"{name} is tuned {tuning_text(cents)}: tune to it to play along. "
                        "Its chords are named as if it were in tune.")
        hum = getattr(analysis, "hum_hz", None)
        if hum is not None:
            # Worth knowing when it is the musician's own recording: a cable, a pickup
            # or a ground loop to look at.
            told.append(f"{name} has {hum:.0f} Hz mains hum (a pickup, a cable or a "
                        "ground loop); it was filtered out before the chords were read.")
        if told:
            self.notices.show_notice(NOTICE_KEY, " ".join(told), "info")

    def _view(self, analysis: Any, pending: PendingWrite) -> Any:
        if pending.region_seconds is None:
            return analysis
        return region_view(analysis, pending.skip_seconds, pending.region_seconds)

    def _write(self, doc: Document, pending: PendingWrite, analysis: Any) -> ChordTrackWrite:
        view = self._view(analysis, pending)
        skip = 0.0 if pending.region_seconds is not None else pending.skip_seconds
        # Making the chord track and filling it is one undo step.
        with doc.undo_group():
            track = self.window_.tracks.chord_track()
            if track is None:
                track = self.window_.tracks.add_chord(select=False)
            return write_analysis(doc, track.id, view, start_tick=pending.start_tick,
                                  skip_seconds=skip)

    # The key and tempo offer ----------------------------------------------------------
    def _offer(self, done: ChordTrackWrite, analysis: Any, pending: PendingWrite) -> None:
        key = analysis_key(done.key)
        tempo = done.tempo if done.tempo and MIN_BPM <= done.tempo <= MAX_BPM else None
        doc = pending.document
        first = doc.time_signatures()[0]
        current_meter = (first.numerator, first.denominator)
        found = getattr(analysis, "beats_per_bar", None)
        # Offered only for a song in one time signature: a song with meter changes has
        # been barred by hand.
        meter = found if (isinstance(found, int) and (found, 4) != current_meter
                          and len(doc.time_signatures()) == 1) else None
        if key is None and tempo is None and meter is None:
            return
        if meter is None and key is not None and key == self.tools.song_key and (
                tempo is None or abs(doc.tempo_changes()[0].bpm - tempo) < 0.05):
            return
        confidence = getattr(done.key, "confidence", None)
        offer = KeyTempoOffer(key, confidence, tempo, doc.tempo_changes()[0].bpm, self.window_,
                              meter, current_meter)
        offer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        offer.accepted.connect(lambda: self.apply_offer(
            offer.chosen_tempo(), key if offer.use_key.isChecked() else None, done,
            analysis, pending,
            meter if offer.use_meter.isChecked() else None))
        offer.finished.connect(lambda _r: setattr(self, "offer", None))
        self.offer = offer
        offer.open()

    def apply_offer(self, tempo: float | None, key: SongKey | None,
                    done: ChordTrackWrite, analysis: Any, pending: PendingWrite,
                    meter: int | None = None) -> None:
        doc = pending.document
        if doc is not self.window_.projects.document or doc.read_only:
            self.offer_applied.emit()  # another song is open now, or this one is locked
            return
        with doc.undo_group():  # key, tempo and time signature: one step to undo
            if key is not None:
                self.tools.set_song_key(key)
            if meter is not None:  # bars change, ticks do not: the chords stay put
                doc.set_time_signature(0, meter, 4)
            if tempo is not None:
                track = self.window_.tracks.chord_track()
                if track is not None:
                    existing = doc.chords(track.id)
                    for cid in done.added:
                        if cid in existing:
                            doc.remove_chord(track.id, cid)
                doc.set_tempo(0, round(tempo, 2))
                if track is not None:
                    self.last_write = write_analysis(
                        doc, track.id, self._view(analysis, pending),
                        start_tick=pending.start_tick,
                        skip_seconds=0.0 if pending.region_seconds is not None
                        else pending.skip_seconds)
        self.offer_applied.emit()

    # Export ---------------------------------------------------------------------------
    def export_chords(self, path: str | Path | None = None, fmt: str | None = None) -> Path | None:
        """Write the chord track as .lab, analysis JSON or a chord chart."""
        doc = self.window_.projects.document
        track = self.window_.tracks.chord_track()
        items = doc.chords(track.id) if track is not None else {}
        if not items:
            self.notices.show_notice(NOTICE_KEY, "The chord track is empty: there are no "
                                     "chords to export.", "info")
            return None
        if path is None:
            chosen, selected = QFileDialog.getSaveFileName(
                self.window_, "Export Chords", f"{self.window_.projects.project.title}.lab",
                ";;".join(EXPORT_FILTERS.values()))
            if not chosen:
                return None
            path = chosen
            fmt = fmt or next((k for k, v in EXPORT_FILTERS.items() if v == selected), None)
        out = Path(path)
        fmt = fmt or {".json": "json", ".txt": "chart"}.get(out.suffix.lower(), "lab")
        try:
            text = export_text(doc, list(items.values()), fmt, self.tools)
            out.write_text(text, encoding="utf-8")
        except (OSError, ValueError) as exc:
            self.notices.show_notice(NOTICE_KEY, f"The chords could not be exported to "
                                     f"{out}: {exc}", "error")
            return None
        self.window_.status.showMessage(f"Chords exported to {out}.", 6000)
        return out

    def shutdown(self) -> None:
        if self.job is not None:
            self.cancel()


def analysis_key(key: Any) -> SongKey | None:
    """(tonic, mode) of the runtime's KeyEstimate; None without one."""
    if key is None:
        return None
    tonic, mode = getattr(key, "tonic", None), getattr(key, "mode", None)
    if not isinstance(tonic, int) or mode not in ("major", "minor"):
        return None
    return tonic % 12, str(mode)


def track_analysis(doc: Document, items: list[ChordItem], key: SongKey | None) -> Any:
    """The chord track as a runtime `Analysis` (seconds through the tempo map, gaps as
    no-chord, beats and downbeats of the song's meter), for the export formats."""
    from models.chords.key_tempo import KeyEstimate
    from models.chords.runtime import Analysis, ChordSpan
    from models.chords.vocabulary import ChordLabelError, parse

    secs = doc.tempo_map().seconds_at_tick
    spans: list[ChordSpan] = []
    t = 0.0
    for item in sorted(items, key=lambda c: c.start):
        a, b = max(secs(item.start), t), secs(item.end)
        if b <= a:
            continue
        if a > t + 1e-6:
            spans.append(ChordSpan.of(t, a, parse("N"), 1.0))
        try:
            spans.append(ChordSpan.of(a, b, parse(item.label), item.confidence))
        except (ChordLabelError, ValueError):  # a hand-typed chord outside the vocabulary
            spans.append(ChordSpan(a, b, item.label, -1, "", -1, item.confidence))
        t = b
    duration = t
    ts = doc.time_signature_map()
    end_tick = max(c.end for c in items)
    beats: list[float] = []
    downbeats: list[float] = []
    bar = 0
    while (start := ts.bar_start_tick(bar)) < end_tick:
        meter = ts.meter_at_bar(bar)
        downbeats.append(secs(start))
        beats.extend(secs(start + k * meter.ticks_per_beat) for k in range(meter.numerator))
        bar += 1
    key_est = KeyEstimate(key[0], key[1], 1.0) if key is not None else None
    return Analysis(spans, duration, "chord track", key=key_est,
                    tempo=doc.tempo_changes()[0].bpm,
                    beats=[b for b in beats if b < duration],
                    downbeats=[d for d in downbeats if d < duration],
                    beats_per_bar=doc.time_signatures()[0].numerator,
                    beat_unit=doc.time_signatures()[0].denominator,
                    source=doc.title or None)


def export_text(doc: Document, items: list[ChordItem], fmt: str, tools: ChordTools) -> str:
    from models.chords.formats import FORMATS, render

    if fmt not in FORMATS:
        raise ValueError(f"unknown chord format {fmt!r}; use one of {', '.join(FORMATS)}")
    analysis = track_analysis(doc, items, tools.song_key)
    # The JSON names each chord's root, quality and bass: a label the vocabulary cannot
    # read has none. Say which chord, rather than the schema's error.
    bad = (next((s for s in analysis.segments if s.root < 0 and s.label != "N"), None)
           if fmt == "json" else None)
    if bad is not None:
        raise ValueError(f"the chord {bad.label!r} at {bad.start:.2f} s is not one the "
                         f"analysis JSON can describe (root, quality and bass); rename it, "
                         f"or export as .lab or a chord chart, which keep it as written")
    if fmt != "chart":
        return render(analysis, fmt)
    namer = tools.namer()
    capo = namer.capo % 12
    return render(analysis, "chart", style=namer.style, prefer_flats=namer.prefers_flats(capo),
                  capo=capo)
