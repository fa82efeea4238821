"""The record button's logic on the Qt side, over the Qt-free recorder (record/).

Armed tracks live in one `ArmState` per process (the track rows toggle it, the
controller reads it). Pressing record starts the transport (with its count-in); the
engine's events, seen through the adapter, feed a `RecordSession`; armed audio
tracks also get a writer thread on the engine's input ring. When the transport
stops (or the device vanishes) the take lands in the document as one undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from strumspace_desktop.audio.client import EngineError
from strumspace_desktop.audio.input_ring import InputReader, InputRing
from strumspace_desktop.audio.protocol import Cmd, Evt, TransportState
from strumspace_desktop.core.document.model import AudioRegion, Document
from strumspace_desktop.core.document.project_files import Project
from strumspace_desktop.core.quantize import QuantizeSettings
from strumspace_desktop.core.settings import RecordingSettings, config_dir
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.record.audio_writer import AudioTakeWriter, blob_of
from strumspace_desktop.record.commit import commit_audio, commit_midi
from strumspace_desktop.record.input_choice import (
    DEFAULT_INPUT,
    INPUT_CHOICES,
    ChannelPick,
    InputChoice,
    resolve,
)
from strumspace_desktop.record.session import RecordMode, RecordOptions, RecordSession
from strumspace_desktop.ui.adapter import EngineAdapter


class ArmState(QObject):
    """Which tracks are armed for recording, and which inputs each audio track records
    (record/input_choice.py); session state, not saved with the song."""

    changed = Signal(str, bool)
    input_changed = Signal(str, str)  # track id, input choice

    def __init__(self) -> None:
        super().__init__()
        self.armed: set[str] = set()
        self.inputs: dict[str, InputChoice] = {}

    def set_armed(self, track_id: str, on: bool) -> None:
        if (track_id in self.armed) == on:
            return
        (self.armed.add if on else self.armed.discard)(track_id)
        self.changed.emit(track_id, on)

    def input_of(self, track_id: str) -> InputChoice:
        return self.inputs.get(track_id, DEFAULT_INPUT)

    def set_input(self, track_id: str, choice: InputChoice) -> None:
        if choice not in INPUT_CHOICES:
            raise ValueError(f"input must be one of {list(INPUT_CHOICES)}, got {choice!r}")
        if self.input_of(track_id) == choice:
            return
        self.inputs[track_id] = choice
        self.input_changed.emit(track_id, choice)


_ARM_STATE: ArmState | None = None


def arm_state() -> ArmState:
    global _ARM_STATE
    if _ARM_STATE is None:
        _ARM_STATE = ArmState()
    return _ARM_STATE


class RecordController(QObject):
    recording_changed = Signal(bool)
    message = Signal(str)  # for the notice area / status bar
    take_added = Signal(list)  # clip ids

    def __init__(self, adapter: EngineAdapter, settings: RecordingSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self.settings = settings or RecordingSettings()
        self.arms = arm_state()
        self.document: Document | None = None
        self.project_source: Callable[[], Project | None] = lambda: None
        self.punch_enabled = False  # the document's punch range applies when on
        self.enabled = False
        self.session: RecordSession | None = None
        self._writers: dict[str, AudioTakeWriter] = {}
        self._ring: InputRing | None = None
        self._last_clock = 0
        self._stopped = True
        adapter.events_polled.connect(self._events)
        adapter.stream_lost.connect(self._stream_lost)
        adapter.status_changed.connect(self._status)

    @property
    def recording(self) -> bool:
        return self.session is not None

    def options(self, sample_rate: int) -> RecordOptions:
        s = self.settings
        punch = None
        doc = self.document
        if doc is not None:
            p = doc.punch()
            if (p.enabled or self.punch_enabled) and p.end > p.start:
                punch = (p.start, p.end)
        return RecordOptions(
            mode=RecordMode(s.mode), loop_takes=s.loop_takes, punch=punch,
            input_quantize=QuantizeSettings(s.input_quantize) if s.input_quantize else None,
            latency_frames=round(s.latency_ms * sample_rate / 1000))

    # Start / stop ------------------------------------------------------------------
    # The record button enables recording (the engine's record arm, as before); the
    # take starts when the transport starts playing (after its count-in) and ends
    # when it stops, or when recording is switched off while it plays.
    def set_recording(self, on: bool) -> None:
        self.enabled = on
        if not on and self.session is not None:
            self._commit(None)

    def _begin(self, line: tuple[float, ...]) -> None:
        client, doc, status = self.adapter.client, self.document, self.adapter.last_status
        if client is None or doc is None or status is None:
            return
        tracks = {t.id: t for t in doc.tracks()}
        armed = [tid for tid in self.arms.armed if tid in tracks]
        if not armed:
            self.message.emit("Nothing is recorded: arm a track first (its ● button).")
            return
        count_in = status.count_in_bars * status.numerator \
            if int(line[2]) == TransportState.COUNT_IN else 0
        start_tick = (float(line[3]) + count_in) * PPQ * 4 / int(line[5])
        self.session = RecordSession(self.options(status.sample_rate), start_tick)
        audio = [tid for tid in armed if tracks[tid].kind == "audio"]
        if audio:
            try:
                self._open_writers(audio, int(line[1]))
            except (EngineError, OSError) as exc:
                self.message.emit(f"Audio recording is unavailable: {exc}")
                self._close_writers()
        self.recording_changed.emit(True)

    def _open_writers(self, track_ids: list[str], clock: int) -> None:
        assert self.adapter.client is not None
        info: dict[str, Any] = self.adapter.client.request("info")["stream"]
        if not info.get("input_ring"):
            raise EngineError("the audio device was opened without an input")
        self._ring = InputRing.attach(info["input_ring"])
        folder = self._audio_dir()
        for tid in track_ids:
            # Each track records its chosen inputs (In 1, In 2 or both, stereo).
            channels, note = resolve(self.arms.input_of(tid), self._ring.channels)
            if note:
                self.message.emit(note)
            reader = ChannelPick(self._ring.reader(at_clock=clock), channels)
            self._writers[tid] = AudioTakeWriter(cast(InputReader, reader), folder,
                                                 start_clock=clock)
        self.adapter.client.send(Cmd.INPUT_MONITOR, 1.0, 1.0)

    def _audio_dir(self) -> Path:
        project = self.project_source()
        return project.audio_dir if project is not None else config_dir() / "recordings"

    # Engine events ------------------------------------------------------------------
    def _events(self, records: list[tuple[float, ...]]) -> None:
        stop_clock = None
        for r in records:
            self._last_clock = max(self._last_clock, int(r[1]))
            if int(r[0]) != Evt.ANCHOR:
                if self.session is not None:
                    self.session.feed(r)
                continue
            state = int(r[2])
            if self.session is None and self.enabled and state != TransportState.STOPPED \
                    and self._stopped:
                self._begin(r)
            self._stopped = state == TransportState.STOPPED
            if self.session is not None:
                self.session.feed(r)
                if self.session.finished:
                    stop_clock = int(r[1])
                    self._commit(stop_clock)
        status = self.adapter.last_status
        if self.session is not None and status is not None:
            self.session.punch_out_passed(status.clock)

    def _status(self, status: object) -> None:
        """Time goes on between events: a punch-out passed closes the pass."""
        clock = getattr(status, "clock", None)
        if self.session is not None and clock is not None:
            self.session.punch_out_passed(clock)

    def _stream_lost(self, _message: str) -> None:
        """The device vanished: end the take with what was captured."""
        if self.session is not None:
            for w in self._writers.values():
                w.stop(None)
            self._commit(None, lost=True)

    def _commit(self, stop_clock: int | None, lost: bool = False) -> None:
        session, self.session = self.session, None
        assert session is not None
        passes = session.finish(None if session.finished else self._last_clock)
        doc = self.document
        options = session.options
        ids: list[str] = []
        errors = []
        if doc is not None:
            with doc.undo_group():
                kinds = {t.id: t.kind for t in doc.tracks()}
                for tid in sorted(self.arms.armed):
                    if kinds.get(tid) == "midi":
                        ids += commit_midi(doc, tid, passes, options)
                for tid, writer in self._writers.items():
                    if not lost:
                        end = stop_clock if stop_clock is not None else self._last_clock
                        writer.stop(end + options.latency_frames)
                    take = writer.finish(self._audio_dir())
                    if take.error:
                        errors.append(take.error)
                    if take.frames:
                        blob = blob_of(take, f"Recording {len(doc.clips(tid)) + 1}.wav")
                        doc.add_blob(blob)
                        ids += commit_audio(doc, tid, blob, take.file_clock, passes, options)
        self._close_writers()
        if self.adapter.client is not None:
            self.adapter.client.set_record_arm(False)
        for e in errors:
            self.message.emit(e)
        self.recording_changed.emit(False)
        if ids:
            self.take_added.emit(ids)

    def _close_writers(self) -> None:
        for w in self._writers.values():
            if w.running:
                w.stop(None)
                w.finish()
        self._writers.clear()
        if self.adapter.client is not None:
            self.adapter.client.send(Cmd.INPUT_MONITOR, 0.0, 0.0)
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    # Options -----------------------------------------------------------------------
    def options_menu(self, parent: QWidget) -> QMenu:
        """Overdub or replace, loop takes, punch, input quantize (the record button's
        context menu)."""
        s = self.settings
        menu = QMenu("Recording options", parent)
        group = QActionGroup(menu)
        for mode, label in (("overdub", "Overdub (keep what is there)"),
                            ("replace", "Replace (clear the recorded range)")):
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(s.mode == mode)
            act.setActionGroup(group)
            act.triggered.connect(lambda _=False, m=mode: setattr(s, "mode", m))
        menu.addSeparator()
        loop = menu.addAction("Loop recording makes takes")
        loop.setCheckable(True)
        loop.setChecked(s.loop_takes)
        loop.toggled.connect(lambda on: setattr(s, "loop_takes", on))
        punch = menu.addAction("Punch in/out (the song's punch range)")
        punch.setCheckable(True)
        punch.setChecked(self.punch_enabled)
        punch.toggled.connect(self._set_punch)
        quant = menu.addMenu("Input quantize")
        qgroup = QActionGroup(quant)
        for value, label in ((0, "Off"), (4, "1/4"), (8, "1/8"), (16, "1/16"), (32, "1/32")):
            act = quant.addAction(label)
            act.setCheckable(True)
            act.setChecked(s.input_quantize == value)
            act.setActionGroup(qgroup)
            act.triggered.connect(lambda _=False, v=value: setattr(s, "input_quantize", v))
        return menu

    def _set_punch(self, on: bool) -> None:
        self.punch_enabled = on
        doc = self.document
        if doc is not None and not doc.read_only and doc.punch().enabled != on:
            doc.set_punch(enabled=on)

    # Takes ---------------------------------------------------------------------------
    @staticmethod
    def choose_take(doc: Document, clip_id: str) -> None:
        """Make this clip its take group's active take (the others are muted)."""
        clip = doc.clip(clip_id)
        if not clip.take_group:
            return
        with doc.undo_group():
            for c in doc.clips(clip.track_id):
                if c.take_group == clip.take_group:
                    doc.update_clip(c.id, muted=c.id != clip_id)

    @staticmethod
    def is_audio(clip: object) -> bool:
        return isinstance(clip, AudioRegion)
