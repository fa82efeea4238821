"""The one place where the audio engine meets Qt.

`EngineAdapter` owns the `EngineClient` reference, polls it on a QTimer in the UI
thread and re-emits what it finds as typed Qt signals. Widgets never poll the
engine or hold the client themselves: they connect to these signals and call the
adapter's command methods, which do nothing (rather than fail) while no engine runs,
so the app stays usable without an audio device.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from strumspace_desktop.analysis.file_job import FileAnalysisJob, JobState
from strumspace_desktop.analysis.live import LiveChordService
from strumspace_desktop.analysis.live_events import LiveChord, LiveStatus
from strumspace_desktop.audio.client import EngineClient, EngineError, EngineStatus
from strumspace_desktop.audio.protocol import Evt, TransportState
from strumspace_desktop.core.settings import AudioSettings

POLL_INTERVAL_MS = 33  # ~30 Hz: smooth position display, negligible CPU


class EngineAdapter(QObject):
    status_changed = Signal(object)  # EngineStatus, every poll
    note_on_received = Signal(int, int, int, int)  # channel, note, velocity, source (0 port, 1 UI)
    note_off_received = Signal(int, int)  # channel, note
    control_changed = Signal(int, int, int)  # channel, controller, value (from a port)
    pitch_bend = Signal(int, int)  # channel, value
    program_received = Signal(int, int)  # channel, program (from a port)
    transport_changed = Signal(int, float)  # TransportState, beat
    xruns_changed = Signal(int)  # total since the stream opened
    midi_activity = Signal()  # anything arrived from a MIDI input port
    stream_opened = Signal(dict)  # open_stream's info
    stream_lost = Signal(str)
    stream_recovered = Signal(dict)
    graph_reset = Signal(dict)
    midi_ports_changed = Signal(dict)  # ports, open, api, virtual
    instrument_error = Signal(str)
    midi_error = Signal(str)
    engine_died = Signal(str)
    events_polled = Signal(list)  # the raw event records of one poll (the recorder's)
    live_chord = Signal(object)  # analysis.live_events.LiveChord (attach_live_chords)
    live_chord_status = Signal(object)  # analysis.live_events.LiveStatus
    analysis_progress = Signal(float)  # the watched file analysis (watch_analysis), 0..1
    analysis_finished = Signal(object)  # its models.chords.runtime.Analysis
    analysis_failed = Signal(str)  # its message for musicians (not sent on cancel)

    def __init__(self, client: EngineClient | None = None, parent: QObject | None = None,
                 interval_ms: int = POLL_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._client: EngineClient | None = None
        self._last_status: EngineStatus | None = None
        self._last_xruns = -1
        self._last_midi_in = -1
        self._intent: tuple[bool, int] | None = None  # last play/stop sent, block count
        self._live: LiveChordService | None = None
        self._job: FileAnalysisJob | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        if client is not None:
            self.attach(client)

    # Lifetime ------------------------------------------------------------------------
    def attach(self, client: EngineClient | None) -> None:
        """Follow a (new) engine, e.g. after a restart; polling starts at once."""
        self._client = client
        self._last_status = None
        self._last_xruns = -1
        self._last_midi_in = -1
        if client is not None:
            self._timer.start()
        else:
            self._timer.stop()

    @property
    def client(self) -> EngineClient | None:
        return self._client

    @property
    def engine_running(self) -> bool:
        """An engine process is up (False while the client restarts a lost one)."""
        return self._client is not None and self._client.alive

    @property
    def stream_running(self) -> bool:
        return self.engine_running and self._last_status is not None \
            and self._last_status.running

    @property
    def last_status(self) -> EngineStatus | None:
        return self._last_status

    def shutdown(self) -> None:
        """Stop polling and stop the engine process (on quit)."""
        self._timer.stop()
        client, self._client = self._client, None
        if self._live is not None:
            self._live.stop()
        if self._job is not None:
            self._job.cancel()
        if client is not None:
            client.stop()

    # Chord analysis (worker processes; see strumspace_desktop/analysis) -------------
    def attach_live_chords(self, service: LiveChordService | None) -> None:
        """Follow the engine's input with this service: it (re)starts on every stream
        opened or recovered and pauses while the engine is gone; its chords and status
        come out as `live_chord` and `live_chord_status`."""
        self._live = service
        if service is not None and self.engine_running and self._client is not None:
            try:  # a stream already open: listen to it now
                service.follow(self._client.request("info")["stream"])
            except EngineError as exc:
                service.engine_lost(str(exc))

    def watch_analysis(self, job: FileAnalysisJob) -> None:
        """Report a started file analysis job through the analysis_* signals."""
        self._job = job
        if not self._timer.isActive():
            self._timer.start()

    def _poll_analysis(self) -> None:
        if self._live is not None:
            for event in self._live.poll():
                if isinstance(event, LiveChord):
                    self.live_chord.emit(event)
                elif isinstance(event, LiveStatus):
                    self.live_chord_status.emit(event)
        job = self._job
        if job is not None:
            before = job.progress
            state = job.poll()
            if job.progress != before:
                self.analysis_progress.emit(job.progress)
            if job.finished:
                self._job = None
                if state is JobState.DONE:
                    self.analysis_finished.emit(job.result)
                elif state is JobState.FAILED:
                    self.analysis_failed.emit(job.error)
            if self._client is None and self._live is None and self._job is None:
                self._timer.stop()

    # Polling -------------------------------------------------------------------------
    def poll(self) -> None:
        self._poll_analysis()
        client = self._client
        if client is None:
            return
        # The client notices an engine that exited, reports it, and (once a device was
        # open) restarts it in the background until the device is back.
        for kind, payload in client.poll_notifications():
            self._notification(kind, payload)
        if not client.alive:
            self._last_status = None  # the shared status is stale until a new engine runs
            return
        records = client.poll_events()
        for record in records:
            self._event(record)
        if records:
            self.events_polled.emit(records)
        status = client.status()
        self._last_status = status
        if status.xruns != self._last_xruns:
            self._last_xruns = status.xruns
            self.xruns_changed.emit(status.xruns)
        if status.midi_in_count != self._last_midi_in:
            if self._last_midi_in >= 0:
                self.midi_activity.emit()
            self._last_midi_in = status.midi_in_count
        self.status_changed.emit(status)

    def _notification(self, kind: str, payload: dict[str, Any]) -> None:
        message = str(payload.get("message", ""))
        if self._live is not None:
            if kind in ("stream_lost", "engine_died"):
                self._live.engine_lost(message)
            elif kind == "stream_recovered":
                self._live.follow(payload)
        if kind == "stream_lost":
            self.stream_lost.emit(message)
        elif kind == "stream_recovered":
            self._last_xruns = self._last_midi_in = -1  # a new engine counts from zero
            self.stream_recovered.emit(payload)
        elif kind == "graph_reset":
            self.graph_reset.emit(payload)
        elif kind == "midi_ports":
            self.midi_ports_changed.emit(payload)
        elif kind == "instrument_error":
            self.instrument_error.emit(message)
        elif kind == "midi_error":
            self.midi_error.emit(message)
        elif kind == "engine_died":
            self.engine_died.emit(message or "The audio engine stopped unexpectedly.")

    def _event(self, r: tuple[float, ...]) -> None:
        op = int(r[0])
        if op == Evt.NOTE_ON:
            self.note_on_received.emit(int(r[2]), int(r[3]), int(r[4]), int(r[5]))
        elif op == Evt.NOTE_OFF:
            self.note_off_received.emit(int(r[2]), int(r[3]))
        elif op == Evt.CONTROL_CHANGE:
            self.control_changed.emit(int(r[2]), int(r[3]), int(r[4]))
        elif op == Evt.PITCH_BEND:
            self.pitch_bend.emit(int(r[2]), int(r[3]))
        elif op == Evt.PROGRAM:
            self.program_received.emit(int(r[2]), int(r[3]))
        elif op == Evt.TRANSPORT:
            self.transport_changed.emit(int(r[2]), float(r[3]))

    # Slow requests (they block for a moment; the caller shows a busy cursor) ----------
    def _require(self) -> EngineClient:
        if self._client is None:
            raise EngineError("The audio engine is not running.")
        return self._client

    def open_stream(self, audio: AudioSettings) -> dict[str, Any]:
        info = self._require().open_stream(
            host_api=audio.host_api, output_device=audio.output_device,
            input_device=audio.input_device, sample_rate=audio.sample_rate,
            blocksize=audio.blocksize)
        if self._live is not None:
            self._live.follow(info)
        self.stream_opened.emit(info)
        self.poll()
        return info

    def load_soundfont(self, path: str | None) -> dict[str, Any]:
        return self._require().load_soundfont(path)

    def list_devices(self) -> dict[str, Any]:
        return self._require().list_devices()

    def set_midi_inputs(self, names: list[str] | None) -> dict[str, Any]:
        return self._require().set_midi_inputs(names)

    def midi_state(self) -> dict[str, Any]:
        return self._require().midi_state()

    # Real-time commands ------------------------------------------------------------------
    # Notes are dropped while no stream runs: queued, they would all sound at once
    # when a device appears. Settings are always sent: the client keeps them and
    # sends them again to every new stream.
    def note_on(self, channel: int, note: int, velocity: int = 100) -> None:
        if self.stream_running and self._client is not None:
            self._client.note_on(channel, note, velocity)

    def note_off(self, channel: int, note: int) -> None:
        if self.stream_running and self._client is not None:
            self._client.note_off(channel, note)

    def all_notes_off(self, channel: int = -1) -> None:
        if self.stream_running and self._client is not None:
            self._client.all_notes_off(channel)

    def play(self) -> None:
        if self.engine_running and self._client is not None:
            self._client.play()
            self._intent = (True, self._client.status().heartbeat)

    def stop_transport(self) -> None:
        if self.engine_running and self._client is not None:
            self._client.stop_transport()
            self._intent = (False, self._client.status().heartbeat)

    def transport_rolling(self) -> bool:
        """Playing or counting in, including a play/stop sent but not yet applied (a
        quick second press of Space must stop what the first one started)."""
        client = self._client
        if client is None or not self.engine_running:
            return False
        status = client.status()
        if self._intent is not None:
            rolling, sent_at = self._intent
            if 0 <= status.heartbeat - sent_at < 2:
                return rolling
        return status.state != TransportState.STOPPED

    def locate(self, beat: float) -> None:
        if self.engine_running and self._client is not None:
            self._client.locate(beat)

    def toggle_play(self) -> None:
        if self.transport_rolling():
            self.stop_transport()
        else:
            self.play()

    def _sticky(self) -> EngineClient | None:
        # Sent even while the engine restarts: the client keeps the value and gives it
        # to the next engine, so a change made meanwhile is not lost.
        return self._client

    def program(self, channel: int, bank: int, program: int) -> None:
        if (c := self._sticky()) is not None:
            c.program(channel, bank, program)

    def channel_mix(self, channel: int, gain: float) -> None:
        if (c := self._sticky()) is not None:
            c.channel_mix(channel, gain)

    def set_input_channel(self, channel: int) -> None:
        if (c := self._sticky()) is not None:
            c.set_input_channel(channel)

    def set_tempo(self, bpm: float) -> None:
        if (c := self._sticky()) is not None:
            c.set_tempo(bpm)

    def set_meter(self, numerator: int, denominator: int) -> None:
        if (c := self._sticky()) is not None:
            c.set_meter(numerator, denominator)

    def set_count_in(self, bars: int) -> None:
        if (c := self._sticky()) is not None:
            c.set_count_in(bars)

    def set_loop(self, on: bool, start_beat: float, end_beat: float) -> None:
        if (c := self._sticky()) is not None:
            c.set_loop(on, start_beat, end_beat)

    def set_record_arm(self, armed: bool) -> None:
        if (c := self._sticky()) is not None:
            c.set_record_arm(armed)

    def set_metronome(self, on: bool, gain: float) -> None:
        if (c := self._sticky()) is not None:
            c.set_metronome(on, gain)

    def set_master_gain(self, gain: float) -> None:
        if (c := self._sticky()) is not None:
            c.set_master_gain(gain)

    def set_cc_consumed(self, channel: int, controller: int, consumed: bool) -> None:
        if (c := self._sticky()) is not None:
            c.set_cc_consumed(channel, controller, consumed)
