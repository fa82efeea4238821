"""The UI process's handle on the engine process (no Qt: the Qt adapter wraps it).

Real-time commands go through the shared command ring; slow requests (open a
device, load a SoundFont) go over a pipe and wait for their reply, or, for the
song and the mix, return at once (`submit`) and leave the reply to be picked up
later (`reply`), so that the UI never waits while the engine decodes audio files. The client
remembers the last value of every setting it sent, and sends them again whenever
the engine builds a new graph (a new sample rate), so nothing is lost.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, Listener
from typing import Any

import numpy as np

from strumspace_desktop.audio.protocol import EXIT_STREAM_LOST, Cmd, St, TransportState
from strumspace_desktop.audio.shared_block import TIMING_CAPACITY, SharedBlock
from strumspace_desktop.audio.song_data import MixState, SongUpdate, TrackPlay

RESTART_INTERVAL_S = 2.0


class EngineError(Exception):
    """A request the engine could not carry out; the text is for musicians."""


@dataclass(frozen=True)
class EngineStatus:
    running: bool
    state: TransportState
    beat: float
    seconds: float
    tempo: float
    numerator: int
    denominator: int
    xruns: int
    load: float
    load_peak: float
    peak_left: float
    peak_right: float
    sample_rate: int
    blocksize: int
    input_latency: float
    output_latency: float
    record_armed: bool
    loop_on: bool
    loop_start: float
    loop_end: float
    count_in_bars: int
    metronome_on: bool
    midi_in_count: int
    voices: int
    clock: int
    heartbeat: int


class EngineClient:
    def __init__(self) -> None:
        self.block = SharedBlock.create()
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._ids = itertools.count(1)
        self.notifications: deque[tuple[str, dict[str, Any]]] = deque()
        self._sticky: dict[tuple[int, ...], tuple[float, ...]] = {}
        # What to restore in a fresh engine after the old one lost its device.
        self._stream_config: dict[str, Any] | None = None
        self._soundfont: str | None = None
        self._soundfont_set = False
        self._midi_wanted: list[str] | None = None
        # The song and mix as sent so far, merged: a restarted engine gets them whole.
        self._song_tracks: dict[str, TrackPlay] = {}
        self._song_last: SongUpdate | None = None
        self._mix: MixState | None = None
        self._restarter: threading.Thread | None = None
        self._stopping = False
        # Requests sent without waiting: id -> the engine (generation) that got it.
        self._generation = 0
        self._awaited: dict[int, int] = {}
        self._replies: dict[int, tuple[bool, Any]] = {}

    # Lifetime --------------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        self._stopping = False
        self._spawn(timeout)

    def _spawn(self, timeout: float = 20.0) -> None:
        """Start the engine as a fresh interpreter (`python -m ...engine_process`): it
        imports no Qt and shares no GIL with the UI. It connects back over a local
        socket authenticated with a one-time key."""
        authkey = secrets.token_bytes(32)
        family = "AF_UNIX" if sys.platform != "win32" else "AF_INET"
        listener = Listener(family=family, authkey=authkey)
        env = dict(os.environ, STRUMSPACE_ENGINE_KEY=authkey.hex())
        self._generation += 1
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "strumspace_desktop.audio.engine_process",
             "--shm", self.block.name, "--address", repr(listener.address)],
            env=env, stdin=subprocess.DEVNULL)
        try:
            conn = self._accept(listener, timeout)
        finally:
            listener.close()
        self._conn = conn
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if conn.poll(0.05):
                    msg = conn.recv()
                    if msg[0] == "notify" and msg[1] == "ready":
                        return
                    self._stash(msg)
                if not self.alive:
                    break
        except (EOFError, OSError):
            pass
        self._shutdown_process()
        raise EngineError("The audio engine did not start.")

    def _accept(self, listener: Listener, timeout: float) -> Connection:
        # Listener.accept() blocks forever; a thread keeps the wait bounded.
        box: list[Connection | BaseException] = []

        def accept() -> None:
            try:
                box.append(listener.accept())
            except BaseException as exc:
                box.append(exc)

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        t.join(timeout)
        if not box or isinstance(box[0], BaseException):
            if self._proc is not None:
                self._proc.kill()
            raise EngineError("The audio engine did not start.")
        return box[0]

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        restarter = self._restarter
        if restarter is not None:
            restarter.join(timeout + 30.0)
        self._shutdown_process(timeout)
        self.block.close()

    def _shutdown_process(self, timeout: float = 5.0) -> None:
        proc, conn = self._proc, self._conn
        if proc is not None and conn is not None and self.alive:
            with contextlib.suppress(EngineError, OSError):
                self.request("shutdown", timeout=timeout)
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2.0)
        if conn is not None:
            conn.close()
        self._proc = self._conn = None

    # Slow requests ---------------------------------------------------------------------------
    def _send_request(self, op: str, args: dict[str, Any]) -> tuple[Connection, int]:
        """Send one request to the running engine; its connection and request id."""
        conn = self._conn
        if self._restarter is not None and threading.current_thread() is not self._restarter:
            raise EngineError("The audio engine is restarting; try again in a moment.")
        if conn is None or not self.alive:
            raise EngineError("The audio engine is not running.")
        req_id = next(self._ids)
        try:
            conn.send((req_id, op, args))
        except OSError as exc:
            raise EngineError("The audio engine stopped unexpectedly.") from exc
        return conn, req_id

    def request(self, op: str, timeout: float = 15.0, **args: Any) -> Any:
        conn, req_id = self._send_request(op, args)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineError(f"The audio engine did not answer ({op}).")
            if not conn.poll(min(left, 0.1)):
                if not self.alive:
                    raise EngineError("The audio engine stopped unexpectedly.")
                continue
            msg = conn.recv()
            if msg[0] == "reply" and msg[1] == req_id:
                if not msg[2]:
                    raise EngineError(str(msg[3]))
                return msg[3]
            self._stash(msg)

    def submit(self, op: str, **args: Any) -> int:
        """Send a request without waiting for its reply (see `reply`); its id."""
        _, req_id = self._send_request(op, args)
        self._awaited[req_id] = self._generation
        return req_id

    def reply(self, req_id: int) -> tuple[bool, Any] | None:
        """The reply to a submitted request once it came: (True, result) or (False,
        message); None while it is on its way. A request whose engine ended first
        never gets one: `lost` says so (a restarted engine gets the song and mix
        whole anyway)."""
        conn = self._conn
        if req_id not in self._replies and conn is not None and self._restarter is None:
            try:
                while conn.poll(0):
                    self._stash(conn.recv())
            except (EOFError, OSError):
                pass  # poll_notifications notices the exit and restarts the engine
        return self._replies.pop(req_id, None)

    def lost(self, req_id: int) -> bool:
        """Whether a submitted request will never be answered (its engine ended)."""
        generation = self._awaited.get(req_id)
        if generation is None:
            return req_id not in self._replies
        if generation != self._generation or not self.alive:
            del self._awaited[req_id]
            return True
        return False

    def _stash(self, msg: tuple[Any, ...]) -> None:
        if msg[0] == "reply":
            if self._awaited.pop(msg[1], None) is not None:
                self._replies[msg[1]] = (bool(msg[2]), msg[3])
            return
        if msg[0] == "notify":
            kind, payload = msg[1], msg[2]
            if kind == "graph_reset":
                self.resend_settings()
            self.notifications.append((kind, payload))

    def poll_notifications(self) -> list[tuple[str, dict[str, Any]]]:
        conn = self._conn
        if conn is not None and self._restarter is None:
            try:
                while conn.poll(0):
                    self._stash(conn.recv())
            except (EOFError, OSError):
                self._conn = None
            if (self._conn is None or not self.alive) and not self._stopping:
                self._engine_exited()
        out = []
        while self.notifications:
            out.append(self.notifications.popleft())
        return out

    def _engine_exited(self) -> None:
        """The engine process ended on its own: its device vanished (it exits on
        purpose then) or it crashed. Start fresh engines in the background until one
        reopens the device."""
        code = self._proc.wait(5.0) if self._proc is not None else None
        self._shutdown_process(1.0)
        if code != EXIT_STREAM_LOST:
            self.notifications.append(("engine_died", {
                "message": "The audio engine stopped unexpectedly; restarting it."}))
        if self._stream_config is None:
            return
        self._restarter = threading.Thread(target=self._restart_loop, name="engine-restart",
                                           daemon=True)
        self._restarter.start()

    def _restart_loop(self) -> None:
        try:
            while not self._stopping:
                time.sleep(RESTART_INTERVAL_S)
                if self._stopping:
                    return
                try:
                    self._spawn()
                    info = self._reopen()
                except (EngineError, OSError, EOFError):
                    self._shutdown_process(1.0)
                    continue
                self.notifications.append(("stream_recovered", info))
                return
        finally:
            self._restarter = None

    def _reopen(self) -> dict[str, Any]:
        assert self._stream_config is not None
        info: dict[str, Any] = self.request("open_stream", timeout=30.0,
                                            **self._stream_config)
        if self._soundfont_set:
            self.request("load_soundfont", timeout=60.0, path=self._soundfont)
        self.request("set_midi_inputs", names=self._midi_wanted)
        self.resend_settings()
        song = self.full_song()
        if song is not None:
            self.request("set_song", timeout=120.0, update=song)
        if self._mix is not None:
            self.request("set_mix", timeout=60.0, mix=self._mix)
        return info

    def open_stream(self, **config: Any) -> dict[str, Any]:
        info: dict[str, Any] = self.request("open_stream", timeout=30.0, **config)
        self._stream_config = config
        self.resend_settings()
        return info

    def load_soundfont(self, path: str | None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("load_soundfont", timeout=60.0, path=path)
        self._soundfont, self._soundfont_set = path, True
        return result

    # The song -----------------------------------------------------------------------------
    def set_song(self, update: SongUpdate) -> dict[str, Any]:
        """Send the song (update.full) or the tracks that changed; the engine swaps
        them in at a block boundary. Remembered even when the engine is restarting."""
        self._remember_song(update)
        result: dict[str, Any] = self.request("set_song", timeout=120.0, update=update)
        return result

    def submit_song(self, update: SongUpdate) -> int:
        """`set_song` without waiting: the request's id for `reply`."""
        self._remember_song(update)
        return self.submit("set_song", update=update)

    def _remember_song(self, update: SongUpdate) -> None:
        if update.full:
            self._song_tracks = {}
        for t in update.tracks:
            self._song_tracks[t.track_id] = t
        for gone in set(self._song_tracks) - set(update.order):
            del self._song_tracks[gone]
        self._song_last = update

    def full_song(self) -> SongUpdate | None:
        last = self._song_last
        if last is None:
            return None
        tracks = tuple(self._song_tracks[t] for t in last.order if t in self._song_tracks)
        return SongUpdate(last.sample_rate, last.order, tracks, last.tempo, last.meters,
                          last.end_sample, True)

    def set_mix(self, mix: MixState) -> dict[str, Any]:
        """Volume, pan, mute/solo, effects of every strip and the master bus."""
        self._mix = mix
        result: dict[str, Any] = self.request("set_mix", timeout=60.0, mix=mix)
        return result

    def submit_mix(self, mix: MixState) -> int:
        """`set_mix` without waiting: the request's id for `reply`."""
        self._mix = mix
        return self.submit("set_mix", mix=mix)

    def track_peaks(self, strip: int) -> tuple[float, float]:
        """A mixer strip's decaying post-fader peak (left, right), linear."""
        row = self.block.strip_peaks[strip]
        return float(row[0]), float(row[1])

    def vst3_plugins(self) -> list[str]:
        """The VST3 plugins found in the standard folders of this computer."""
        result: dict[str, Any] = self.request("vst3_plugins")
        return list(result["plugins"])

    def list_devices(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("list_devices")
        return result

    def set_midi_inputs(self, names: list[str] | None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("set_midi_inputs", names=names)
        self._midi_wanted = names
        return result

    def midi_state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("midi_state")
        return result

    # Real-time commands ----------------------------------------------------------------------
    def send(self, op: Cmd, a: float = 0.0, b: float = 0.0, c: float = 0.0,
             d: float = 0.0) -> bool:
        """Queue a command for the next audio block; False if the ring is full."""
        return self.block.commands.push(int(op), a, b, c, d)

    def _send_sticky(self, key: tuple[int, ...], op: Cmd, *values: float) -> None:
        self._sticky[key] = (int(op), *values)
        self.send(op, *values)

    def resend_settings(self) -> None:
        for values in self._sticky.values():
            self.block.commands.push(*values)

    def note_on(self, channel: int, note: int, velocity: int = 100) -> None:
        self.send(Cmd.NOTE_ON, channel, note, velocity)

    def note_off(self, channel: int, note: int) -> None:
        self.send(Cmd.NOTE_OFF, channel, note)

    def control_change(self, channel: int, controller: int, value: int) -> None:
        self.send(Cmd.CONTROL_CHANGE, channel, controller, value)

    def pitch_bend(self, channel: int, value: int) -> None:
        self.send(Cmd.PITCH_BEND, channel, value)

    def all_notes_off(self, channel: int = -1) -> None:
        self.send(Cmd.ALL_NOTES_OFF, channel)

    def program(self, channel: int, bank: int, program: int) -> None:
        self._send_sticky((Cmd.PROGRAM, channel), Cmd.PROGRAM, channel, bank, program)

    def channel_mix(self, channel: int, gain: float) -> None:
        self._send_sticky((Cmd.CHANNEL_MIX, channel), Cmd.CHANNEL_MIX, channel, gain)

    def play(self) -> None:
        self.send(Cmd.PLAY)

    def stop_transport(self) -> None:
        self.send(Cmd.STOP)

    def locate(self, beat: float) -> None:
        self.send(Cmd.LOCATE, beat)

    def set_tempo(self, bpm: float) -> None:
        self._send_sticky((Cmd.TEMPO,), Cmd.TEMPO, bpm)

    def set_meter(self, numerator: int, denominator: int) -> None:
        self._send_sticky((Cmd.METER,), Cmd.METER, numerator, denominator)

    def set_count_in(self, bars: int) -> None:
        self._send_sticky((Cmd.COUNT_IN,), Cmd.COUNT_IN, bars)

    def set_loop(self, on: bool, start_beat: float, end_beat: float) -> None:
        self._send_sticky((Cmd.LOOP,), Cmd.LOOP, float(on), start_beat, end_beat)

    def set_record_arm(self, armed: bool) -> None:
        self._send_sticky((Cmd.RECORD_ARM,), Cmd.RECORD_ARM, float(armed))

    def set_metronome(self, on: bool, gain: float) -> None:
        self._send_sticky((Cmd.METRONOME,), Cmd.METRONOME, float(on), gain)

    def set_master_gain(self, gain: float) -> None:
        self._send_sticky((Cmd.MASTER_GAIN,), Cmd.MASTER_GAIN, gain)

    def set_input_channel(self, channel: int) -> None:
        self._send_sticky((Cmd.INPUT_CHANNEL,), Cmd.INPUT_CHANNEL, channel)

    def set_synth_effects(self, reverb: bool, chorus: bool) -> None:
        self._send_sticky((Cmd.SYNTH_EFFECTS,), Cmd.SYNTH_EFFECTS, float(reverb), float(chorus))

    def set_cc_consumed(self, channel: int, controller: int, consumed: bool) -> None:
        self.block.cc_consume[channel, controller] = 1 if consumed else 0

    # Reading back ----------------------------------------------------------------------------
    def poll_events(self) -> list[tuple[float, ...]]:
        return self.block.events.pop_all()

    def status(self) -> EngineStatus:
        s = self.block.status.copy()
        return EngineStatus(
            running=bool(s[St.RUNNING]), state=TransportState(int(s[St.STATE])),
            beat=float(s[St.BEAT]), seconds=float(s[St.SECONDS]), tempo=float(s[St.TEMPO]),
            numerator=int(s[St.NUMERATOR]), denominator=int(s[St.DENOMINATOR]),
            xruns=int(s[St.XRUNS]), load=float(s[St.LOAD]), load_peak=float(s[St.LOAD_PEAK]),
            peak_left=float(s[St.PEAK_LEFT]), peak_right=float(s[St.PEAK_RIGHT]),
            sample_rate=int(s[St.SAMPLE_RATE]), blocksize=int(s[St.BLOCKSIZE]),
            input_latency=float(s[St.INPUT_LATENCY]),
            output_latency=float(s[St.OUTPUT_LATENCY]),
            record_armed=bool(s[St.RECORD_ARMED]), loop_on=bool(s[St.LOOP_ON]),
            loop_start=float(s[St.LOOP_START]), loop_end=float(s[St.LOOP_END]),
            count_in_bars=int(s[St.COUNT_IN_BARS]), metronome_on=bool(s[St.METRONOME_ON]),
            midi_in_count=int(s[St.MIDI_IN_COUNT]), voices=int(s[St.VOICES]),
            clock=int(s[St.CLOCK]), heartbeat=int(s[St.HEARTBEAT]))

    def callback_loads(self) -> np.ndarray:
        """Every callback's time as a fraction of its period, oldest first (up to the
        ring's capacity)."""
        n = int(self.block.status[St.TIMING_INDEX])
        ring = self.block.timings
        if n <= TIMING_CAPACITY:
            return ring[:n].copy()
        i = n & (TIMING_CAPACITY - 1)
        return np.concatenate([ring[i:], ring[:i]])
