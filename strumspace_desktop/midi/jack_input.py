"""Frame-accurate MIDI input under JACK.

rtmidi's JACK backend queues each cycle's events with one time stamp, so a note
could be placed up to a period off. Here the engine process owns a JACK client,
`StrumSpace`, with one MIDI input port, `StrumSpace:midi_in` (the same well-known name
the rtmidi virtual port had). Its process callback copies each event with its exact
JACK frame into a preallocated ring; the audio callback drains the ring at the start
of each block and converts JACK frames to the engine's sample clock with the JACK
frame time of the block it is in (`last_frame_time`, read in the PortAudio callback).

The ports the musician chooses (or every MIDI output, by default) are connected to
that one input, followed every second as they come and go.

Both callbacks run Python, so they contend for the GIL; the JACK MIDI callback does
almost nothing (no allocation beyond the event's bytes) and returns at once when no
event came. docs/RECORDING.md has the xrun measurements.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import jack
import numpy as np
import rtmidi

from strumspace_desktop.midi.ports import OWN_CLIENT_PREFIX, MidiPort

RING_CAPACITY = 4096  # events between two audio blocks; a power of two
PORT_NAME = "midi_in"


class MidiSink(Protocol):
    """What the ring is drained into: EngineGraph."""

    clock: int

    def handle_midi(self, data: list[int], offset: int = 0) -> None: ...


class StampedMidiRing:
    """Single producer (JACK's MIDI thread), single consumer (the audio callback),
    in one process: the GIL orders the index updates, each written by one side."""

    __slots__ = ("_data", "_frames", "_lens", "_mask", "dropped", "read", "write")

    def __init__(self, capacity: int = RING_CAPACITY) -> None:
        if capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two")
        self._mask = capacity - 1
        self._frames = np.zeros(capacity, np.int64)
        self._data = np.zeros((capacity, 3), np.uint8)
        self._lens = np.zeros(capacity, np.uint8)
        self.write = 0
        self.read = 0
        self.dropped = 0

    def push(self, frame: int, data: bytes | memoryview) -> None:
        w = self.write
        if w - self.read > self._mask:
            self.dropped += 1
            return
        i = w & self._mask
        raw = bytes(data[:3])  # JACK's buffer (cffi) is only valid during its cycle
        n = len(raw)
        self._frames[i] = frame
        row = self._data[i]
        for k in range(n):
            row[k] = raw[k]
        self._lens[i] = n
        self.write = w + 1

    def drain(self, sink: MidiSink, cycle_frame: int) -> int:
        """Hand every queued event to `sink` with its offset from the current block's
        first frame (negative for events of an earlier cycle); returns the count."""
        r, w = self.read, self.write
        for j in range(r, w):
            i = j & self._mask
            n = int(self._lens[i])
            sink.handle_midi(self._data[i, :n].tolist(), int(self._frames[i]) - cycle_frame)
        self.read = w
        return w - r


class JackMidiInputs:
    """The engine's JACK MIDI input: same interface as `MidiInputs` (rtmidi)."""

    api = int(rtmidi.API_UNIX_JACK)

    def __init__(self, publish: Callable[[JackMidiInputs | None], None],
                 blocks_done: Callable[[], int], client_name: str = OWN_CLIENT_PREFIX,
                 status: np.ndarray | None = None, offset_field: int = -1) -> None:
        self._publish = publish
        self._blocks_done = blocks_done
        self.ring = StampedMidiRing()
        self.client = jack.Client(client_name, no_start_server=True)
        self.port = self.client.midi_inports.register(PORT_NAME)
        self._status = status
        self._offset_field = offset_field
        self.client.set_process_callback(self._process)
        self.client.activate()
        self.wanted: set[str] | None = None
        self.ports: list[MidiPort] = []
        self._connected: set[str] = set()
        self._closed = False

    @property
    def virtual_port_name(self) -> str:
        return f"{self.client.name}:{PORT_NAME}"

    # JACK's MIDI thread -------------------------------------------------------------
    def _process(self, frames: int) -> None:
        t0 = self.client.last_frame_time
        push = self.ring.push
        for offset, data in self.port.incoming_midi_events():
            push(t0 + offset, data)

    # The audio callback -----------------------------------------------------------------
    def drain_into(self, sink: MidiSink) -> None:
        """Called by the graph at the start of each block (PortAudio's JACK thread, in
        the JACK cycle whose frame time this reads)."""
        cycle = self.client.last_frame_time
        st = self._status
        if st is not None and self._offset_field >= 0:
            st[self._offset_field] = cycle - sink.clock
        if self.ring.write != self.ring.read:
            self.ring.drain(sink, cycle)

    # Ports (the engine's main thread) ---------------------------------------------------
    def open_names(self) -> list[str]:
        return sorted(self._connected)

    def set_wanted(self, names: Iterable[str] | None) -> None:
        self.wanted = None if names is None else set(names)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        try:
            found = self.client.get_ports(is_midi=True, is_output=True)
        except jack.JackError:
            found = []
        names = [p.name for p in found if not p.name.startswith(OWN_CLIENT_PREFIX)]
        ports = [MidiPort(i, n, n) for i, n in enumerate(names)]
        changed = [p.name for p in ports] != [p.name for p in self.ports]
        self.ports = ports
        if force:
            self._publish(self)
        if not (changed or force):
            return False
        present = set(names)
        target = present if self.wanted is None else self.wanted & present
        mine = self.virtual_port_name
        for name in sorted(self._connected - target):
            with contextlib.suppress(jack.JackError):
                self.client.disconnect(name, mine)
        self._connected &= target  # a vanished port is no longer ours either
        for name in sorted(target - self._connected):
            try:
                already = mine in [p.name for p in self.client.get_all_connections(name)]
                if not already:
                    self.client.connect(name, mine)
            except jack.JackError:
                continue  # vanished between listing and connecting: the next refresh retries
            self._connected.add(name)
        return changed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._publish(None)
        start = self._blocks_done()
        deadline = time.monotonic() + 0.5
        while self._blocks_done() < start + 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        with contextlib.suppress(jack.JackError):
            self.client.deactivate()
        with contextlib.suppress(jack.JackError):
            self.client.close()
