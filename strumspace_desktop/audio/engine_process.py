"""The audio engine process: the sounddevice stream, the instrument and MIDI input.

It runs apart from the Qt UI so that the UI's Python never competes with the audio
callback for the GIL. Its main thread handles slow requests from the UI over a pipe
(open a device, load a SoundFont, choose MIDI ports); the audio callback only talks
to the UI through the shared block's lock-free rings and status fields.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
import traceback
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sounddevice as sd

from strumspace_desktop.audio import devices
from strumspace_desktop.audio.graph import EngineGraph
from strumspace_desktop.audio.input_ring import InputRing
from strumspace_desktop.audio.mixer import find_vst3_plugins
from strumspace_desktop.audio.protocol import EXIT_STREAM_LOST, Evt, St
from strumspace_desktop.audio.shared_block import TIMING_CAPACITY, SharedBlock
from strumspace_desktop.audio.song_loader import SongLoader
from strumspace_desktop.audio.synth import (
    FluidSynthInstrument,
    SoundFontError,
    SynthUnavailableError,
    find_default_soundfont,
)
from strumspace_desktop.midi.inputs import MidiInputs
from strumspace_desktop.midi.ports import api_name, is_jack, preferred_api

if TYPE_CHECKING:
    from strumspace_desktop.midi.jack_input import JackMidiInputs

JACK_API = "JACK Audio Connection Kit"
MIDI_REFRESH_S = 1.0
START_TRIES = 4
LOAD_PEAK_DECAY = 0.995


class StreamError(Exception):
    """The chosen audio device could not be opened; the text is for musicians."""


class EngineHost:
    """Everything that lives in the engine process."""

    def __init__(self, block: SharedBlock, conn: Connection) -> None:
        self.block = block
        self.conn = conn
        self.graph: EngineGraph | None = None
        self.stream: sd.Stream | sd.OutputStream | None = None
        self.stream_config: dict[str, Any] | None = None
        self.stream_info: dict[str, Any] = {}
        self.soundfont: Path | None = None
        self.midi: MidiInputs | JackMidiInputs | None = None
        self.input_ring: InputRing | None = None
        self._monitor_scratch = np.zeros(8192, np.float32)
        self.midi_wanted: list[str] | None = None
        # The song and the mix as the UI last sent them (they outlive a graph).
        self.loader = SongLoader(48000)
        self._xruns = 0
        self._timing_index = 0
        self._mono_scratch = np.zeros((8192, 2), np.float32)
        self._mono = False
        self._period = 1.0
        self._running = True

    # The audio callback -------------------------------------------------------------------
    def _callback(self, *args: Any) -> None:
        t0 = time.perf_counter()
        outdata, frames, status = args[-4], args[-3], args[-1]
        graph = self.graph
        st = self.block.status
        if status.output_underflow or status.input_overflow or status.output_overflow \
                or status.input_underflow:
            self._xruns += 1
            st[St.XRUNS] = self._xruns
            self.block.events.push(Evt.XRUN, graph.clock if graph else 0, self._xruns)
        if graph is None:
            outdata.fill(0)
            return
        ring = self.input_ring
        if ring is not None and len(args) == 5:  # recording: input stamped with the clock
            ring.write(args[0], frames, graph.clock)
        if self._mono:
            scratch = self._mono_scratch
            graph.process(scratch, frames)
            np.add(scratch[:frames, 0], scratch[:frames, 1], out=outdata[:, 0])
            outdata *= 0.5
        else:
            graph.process(outdata, frames)
        if graph.input_monitor > 0.0 and len(args) == 5:
            self._monitor(args[0], outdata, frames, graph.input_monitor)
        dt = time.perf_counter() - t0
        load = dt / self._period
        st[St.LOAD] = load
        st[St.LOAD_PEAK] = max(load, st[St.LOAD_PEAK] * LOAD_PEAK_DECAY)
        i = self._timing_index
        self.block.timings[i & (TIMING_CAPACITY - 1)] = load
        self._timing_index = i + 1
        st[St.TIMING_INDEX] = i + 1

    def _monitor(self, indata: np.ndarray, outdata: np.ndarray, frames: int,
                 gain: float) -> None:
        """Input monitoring: the input mixed into the output (mono input to both sides)."""
        mon = self._monitor_scratch[:frames]
        in_ch = indata.shape[1]
        for c in range(outdata.shape[1]):
            np.multiply(indata[:frames, min(c, in_ch - 1)], gain, out=mon)
            outdata[:frames, c] += mon

    def _callback_running(self) -> bool:
        return self.stream is not None and bool(self.stream.active)

    def _blocks_done(self) -> int:
        return self.graph.blocks if self.graph is not None else 0

    # Stream --------------------------------------------------------------------------------
    def open_stream(self, config: dict[str, Any]) -> dict[str, Any]:
        self.close_stream()
        self.stream_config = config
        devices.reinitialize()
        out = devices.choose_output(config.get("host_api"), config.get("output_device"))
        if out is None:
            raise StreamError("No audio output device was found. Connect an audio "
                              "interface or start an audio server (JACK, PulseAudio).")
        inp = devices.choose_input(out, config.get("input_device")) \
            if config.get("use_input", True) else None
        requested = int(config.get("blocksize", 256))
        rate = int(config.get("sample_rate", 48000))
        note = ""
        if out.host_api == JACK_API:
            rate, actual = _jack_rate_and_blocksize(requested, config.get("set_jack_blocksize",
                                                                          True))
            if actual != requested:
                note = (f"The JACK server runs at {actual} frames; StrumSpace uses that "
                        f"instead of {requested}.")
            requested = actual
        blocksizes = [requested] + [b for b in (256, 512, 1024) if b > requested]
        last_error: Exception | None = None
        for bs in blocksizes:
            try:
                stream = self._make_stream(out, inp, rate, bs)
                break
            except sd.PortAudioError as exc:
                last_error = exc
                inp = None if inp is not None and bs == blocksizes[0] else inp
        else:
            raise StreamError(f"{out.name} ({out.host_api}) refused to open: {last_error}.")
        if stream.blocksize != requested and not note:
            note = (f"{out.name} refused a buffer of {requested} frames; using "
                    f"{stream.blocksize} instead.")
        self._install_graph(int(stream.samplerate))
        if inp is not None and isinstance(stream, sd.Stream):
            self.input_ring = InputRing.create(int(stream.channels[0]), int(stream.samplerate))
        self._period = stream.blocksize / stream.samplerate if stream.blocksize else 0.005
        self.stream = stream
        st = self.block.status
        st[St.BLOCKSIZE] = stream.blocksize
        lat = stream.latency
        in_lat, out_lat = (lat if isinstance(lat, tuple) else (0.0, lat))
        st[St.INPUT_LATENCY] = in_lat
        st[St.OUTPUT_LATENCY] = out_lat
        self._start(stream)
        st[St.RUNNING] = 1
        self._setup_midi(out.host_api)
        self.stream_info = {
            "device": out.name, "host_api": out.host_api,
            "input_device": inp.name if inp else None,
            "sample_rate": int(stream.samplerate), "blocksize": int(stream.blocksize),
            "input_latency": in_lat, "output_latency": out_lat,
            "round_trip_ms": (in_lat + out_lat) * 1000.0 if inp else out_lat * 1000.0,
            "note": note, "midi_api": api_name(self.midi.api) if self.midi else None,
            "midi_virtual_port": self.midi.virtual_port_name if self.midi else None,
            "input_ring": self.input_ring.name if self.input_ring else None,
            "input_channels": self.input_ring.channels if self.input_ring else 0,
        }
        return self.stream_info

    def _start(self, stream: sd.Stream | sd.OutputStream) -> None:
        # A JACK server that has just left freewheel mode or lost a client can refuse
        # a new one for a moment; a few tries cover that without bothering the user.
        for attempt in range(START_TRIES):
            try:
                stream.start()
                return
            except sd.PortAudioError:
                if attempt == START_TRIES - 1:
                    stream.close(ignore_errors=True)
                    raise
                time.sleep(0.25)

    def _make_stream(self, out: devices.AudioDevice, inp: devices.AudioDevice | None,
                     rate: int, blocksize: int) -> sd.Stream | sd.OutputStream:
        out_ch = min(2, out.max_output_channels)
        self._mono = out_ch == 1
        common = dict(samplerate=rate, blocksize=blocksize, dtype="float32",
                      latency="low", callback=self._callback)
        if inp is not None:
            return sd.Stream(device=(inp.index, out.index),
                             channels=(min(2, inp.max_input_channels), out_ch), **common)
        return sd.OutputStream(device=out.index, channels=out_ch, **common)

    def _install_graph(self, rate: int) -> None:
        if self.graph is not None and self.graph.sample_rate == rate:
            return
        old = self.graph
        self.graph = EngineGraph(self.block, rate, self._build_instrument(rate, report=True))
        if old is not None:
            self.graph.midi_sources = old.midi_sources
            self.graph.stamped_midi = old.stamped_midi
            if old.instrument is not None:
                old.instrument.close()
        self.loader.reinstall(self.graph)
        self._notify("graph_reset", {"sample_rate": rate})

    def close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except sd.PortAudioError:
                pass
        self.block.status[St.RUNNING] = 0
        ring, self.input_ring = self.input_ring, None
        if ring is not None:
            ring.close()  # readers keep their own mapping until they let go

    def _check_stream(self) -> None:
        """A stream that stopped by itself means the device (or the JACK server) went
        away. PortAudio can hang for good when such a stream is stopped or closed, so
        the engine reports it and exits at once; EngineClient starts a fresh engine
        and reopens the device when it is back."""
        stream = self.stream
        if stream is None or stream.active:
            return
        self.block.status[St.RUNNING] = 0
        self._notify("stream_lost", {"message": (
            f"The audio device {self.stream_info.get('device', '')} stopped. "
            "StrumSpace keeps trying to reopen it.")})
        try:
            self.conn.close()
        finally:
            os._exit(EXIT_STREAM_LOST)  # skip PortAudio's atexit, which would hang too

    # Instrument -----------------------------------------------------------------------------
    def _build_instrument(self, rate: int, report: bool) -> FluidSynthInstrument | None:
        path = self.soundfont or find_default_soundfont()
        try:
            return FluidSynthInstrument(rate, path)
        except (SoundFontError, SynthUnavailableError) as exc:
            if report:
                self._notify("instrument_error", {"message": str(exc)})
            try:
                return FluidSynthInstrument(rate, None)  # silent, but the app still runs
            except SynthUnavailableError:
                return None

    def load_soundfont(self, path: str | None) -> dict[str, Any]:
        sf = Path(path) if path else find_default_soundfont()
        if sf is None:
            raise SoundFontError("No General MIDI SoundFont was found. Install one "
                                 "(on Debian/Ubuntu: apt-get install fluid-soundfont-gm) "
                                 "or choose a .sf2/.sf3 file.")
        rate = self.graph.sample_rate if self.graph else 48000
        inst = FluidSynthInstrument(rate, sf)  # raises SoundFontError with a clear text
        self.soundfont = sf
        graph = self.graph
        if graph is None:
            inst.close()
            return {"soundfont": str(sf)}
        if self.stream is not None and self.stream.active:
            graph.pending_instrument = inst
            deadline = time.monotonic() + 2.0
            while graph.pending_instrument is not None and time.monotonic() < deadline:
                time.sleep(0.005)
        if graph.pending_instrument is not None:
            # No callback is running: swap here, nothing else touches the synth now.
            graph._swap_instrument()
        self._free_retired()
        return {"soundfont": str(sf)}

    def _free_retired(self) -> None:
        graph = self.graph
        if graph is not None and graph.retired_instrument is not None:
            old, graph.retired_instrument = graph.retired_instrument, None
            old.close()

    # MIDI -------------------------------------------------------------------------------------
    def _setup_midi(self, host_api: str) -> None:
        api = preferred_api(host_api)
        if self.midi is not None and self.midi.api == api:
            self.midi.refresh(force=True)  # hand the open inputs to the new graph
            return
        if self.midi is not None:
            self.midi.close()
            self.midi = None
        try:
            if is_jack(api) and not os.environ.get("STRUMSPACE_JACK_MIDI_RTMIDI"):
                # JACK MIDI with exact frames; rtmidi stays for the other APIs.
                from strumspace_desktop.midi.jack_input import JackMidiInputs

                self.midi = JackMidiInputs(self._set_stamped_midi, self._blocks_done,
                                           status=self.block.status,
                                           offset_field=St.JACK_FRAME_OFFSET)
            else:
                self.midi = MidiInputs(api, self._set_midi_sources, self._blocks_done)
        except Exception as exc:
            self._notify("midi_error", {"message": f"MIDI input is unavailable: {exc}"})
            return
        self.midi.set_wanted(self.midi_wanted)
        self._notify("midi_ports", self._midi_state())

    def _set_midi_sources(self, sources: tuple[Any, ...]) -> None:
        if self.graph is not None:
            self.graph.midi_sources = sources

    def _set_stamped_midi(self, source: JackMidiInputs | None) -> None:
        if self.graph is not None:
            self.graph.stamped_midi = source

    def _midi_state(self) -> dict[str, Any]:
        midi = self.midi
        if midi is None:
            return {"ports": [], "open": [], "api": None, "virtual": None}
        return {"ports": [p.stable_name for p in midi.ports], "open": midi.open_names(),
                "api": api_name(midi.api), "virtual": midi.virtual_port_name}

    def set_midi_inputs(self, names: list[str] | None) -> dict[str, Any]:
        self.midi_wanted = names
        if self.midi is not None:
            self.midi.set_wanted(names)
        return self._midi_state()

    # Control loop -----------------------------------------------------------------------------
    def _notify(self, kind: str, payload: dict[str, Any]) -> None:
        try:
            self.conn.send(("notify", kind, payload))
        except (BrokenPipeError, OSError):
            self._running = False

    def handle(self, op: str, args: dict[str, Any]) -> Any:
        if op == "open_stream":
            return self.open_stream(args)
        if op == "close_stream":
            self.close_stream()
            return None
        if op == "load_soundfont":
            return self.load_soundfont(args.get("path"))
        if op == "list_devices":
            if self.stream is None:
                devices.reinitialize()
            return {"devices": [d.as_dict() for d in devices.list_devices()],
                    "host_apis": devices.host_api_names()}
        if op == "set_midi_inputs":
            return self.set_midi_inputs(args.get("names"))
        if op == "set_song":
            return self.loader.set_song(self.graph, args["update"], self._callback_running)
        if op == "set_mix":
            return self.loader.set_mix(self.graph, args["mix"], self._callback_running)
        if op == "vst3_plugins":
            return {"plugins": [str(p) for p in find_vst3_plugins()]}
        if op == "midi_state":
            if self.midi is not None:
                self.midi.refresh()
            return self._midi_state()
        if op == "info":
            return {"stream": self.stream_info, "soundfont": str(self.soundfont or
                                                                 find_default_soundfont()),
                    "pid": os.getpid(), "modules": sorted(sys.modules)}
        if op == "shutdown":
            self._running = False
            return None
        raise ValueError(f"unknown request {op!r}")

    def run(self) -> None:
        gc.collect()
        gc.freeze()  # what exists now is never scanned again by the callback's GC passes
        next_midi = time.monotonic() + MIDI_REFRESH_S
        parent = os.getppid()
        while self._running:
            try:
                ready = self.conn.poll(0.1)
            except (EOFError, OSError):
                break
            if ready:
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):
                    break
                req_id, op, args = msg
                try:
                    result = self.handle(op, args)
                    self.conn.send(("reply", req_id, True, result))
                except (StreamError, SoundFontError, SynthUnavailableError, ValueError,
                        sd.PortAudioError, OSError) as exc:
                    self.conn.send(("reply", req_id, False, str(exc)))
                except Exception:
                    self.conn.send(("reply", req_id, False, traceback.format_exc()))
            now = time.monotonic()
            self._free_retired()
            self._check_stream()
            if now >= next_midi:
                next_midi = now + MIDI_REFRESH_S
                if self.midi is not None and self.midi.refresh():
                    self._notify("midi_ports", self._midi_state())
            if os.getppid() != parent:
                break  # the UI died: do not keep a stream open forever
        self.shutdown()

    def shutdown(self) -> None:
        self.close_stream()
        if self.midi is not None:
            self.midi.close()
            self.midi = None
        if self.graph is not None and self.graph.instrument is not None:
            self.graph.instrument.close()


def _jack_rate_and_blocksize(requested: int, allow_change: bool) -> tuple[int, int]:
    """The JACK server's sample rate and period, after asking it for `requested`."""
    import jack

    client = jack.Client("StrumSpace-setup", no_start_server=True)
    try:
        if allow_change and client.blocksize != requested:
            with contextlib.suppress(jack.JackError):
                client.blocksize = requested
        return int(client.samplerate), int(client.blocksize)
    finally:
        client.close()


def engine_main(shm_name: str, conn: Connection) -> None:
    """Run the engine until the UI asks it to stop or goes away."""
    block = SharedBlock.attach(shm_name)
    host = EngineHost(block, conn)
    try:
        conn.send(("notify", "ready", {"pid": os.getpid()}))
        host.run()
    finally:
        host.shutdown()
        host.graph = None
        block.close()
        conn.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m strumspace_desktop.audio.engine_process --shm NAME --address ADDR`,
    started by EngineClient with the connection key in $STRUMSPACE_ENGINE_KEY."""
    import argparse
    import ast

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shm", required=True)
    parser.add_argument("--address", required=True)
    args = parser.parse_args(argv)
    key = bytes.fromhex(os.environ.pop("STRUMSPACE_ENGINE_KEY", ""))
    address = ast.literal_eval(args.address)
    conn = Client(address, authkey=key)
    engine_main(args.shm, conn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
