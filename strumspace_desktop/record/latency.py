"""Recording latency calibration: play clicks, record them back, cross-correlate.

With the interface's output wired (or, under JACK, connected) to its input, the
engine plays metronome clicks at sample-exact clocks it reports (ANCHOR lines); the
input ring returns them stamped with the engine clock. The lag that best aligns the
known click with what came back, the median over the clicks, is the round trip:
audio recorded at engine clock c was played at c - lag, so a take is shifted by it.

Non-blocking and Qt-free: `start()`, then `step(events)` at each UI poll until it
returns True; the dialog (ui/latency_dialog.py) and the tests drive it the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from strumspace_desktop.audio.input_ring import InputReader, InputRing
from strumspace_desktop.audio.metronome import make_click
from strumspace_desktop.audio.protocol import Cmd, Evt, TransportState

MAX_LATENCY_S = 0.4
MIN_CLICKS = 3
MAX_SPREAD_FRAMES = 2  # clicks that disagree by more mean noise, not a loopback
SILENCE = 1e-3


class Commands(Protocol):
    """The part of EngineClient the calibration uses."""

    def send(self, op: Cmd, a: float = 0.0, b: float = 0.0, c: float = 0.0,
             d: float = 0.0) -> bool: ...

    def resend_settings(self) -> None: ...


class CalibrationError(Exception):
    """No usable clicks came back; the text says what to check."""


@dataclass(frozen=True)
class LatencyResult:
    frames: int
    sample_rate: int
    clicks: int
    spread: int  # frames between the earliest and latest click's lag

    @property
    def ms(self) -> float:
        return self.frames * 1000.0 / self.sample_rate


def measure_lag(audio: np.ndarray, audio_clock: int, click_clocks: list[tuple[int, bool]],
                sample_rate: int) -> tuple[int, int, int]:
    """(median lag, spread, clicks used) of known clicks in mono `audio` whose first
    frame is engine clock `audio_clock`; each click is (clock, accented)."""
    refs = {True: make_click(sample_rate, 1760.0), False: make_click(sample_rate, 1320.0)}
    max_lag = int(MAX_LATENCY_S * sample_rate)
    lags = []
    for clock, accent in click_clocks:
        ref = refs[accent]
        i = clock - audio_clock
        seg = audio[i:i + max_lag + len(ref)]
        if i < 0 or len(seg) < max_lag + len(ref) or np.abs(seg).max() < SILENCE:
            continue
        corr = np.correlate(seg, ref, mode="valid")
        lags.append(int(np.argmax(np.abs(corr))))
    if len(lags) < MIN_CLICKS:
        raise CalibrationError(
            "No clicks came back. Connect the audio output to the input (a cable from "
            "an output to an input of the interface, or under JACK, StrumSpace's output "
            "port to its input port) and try again.")
    lags.sort()
    spread = lags[-1] - lags[0]
    if spread > MAX_SPREAD_FRAMES:
        raise CalibrationError(
            f"The clicks came back at different times (they disagree by {spread} "
            "samples): check that nothing else is connected to the input, and turn "
            "off any effects on the way.")
    return lags[len(lags) // 2], spread, len(lags)


class LatencyCalibration:
    """Plays clicks for `seconds` and measures how late they come back."""

    def __init__(self, client: Commands, ring: InputRing, seconds: float = 2.5,
                 bpm: float = 120.0, channel: int = 0) -> None:
        self.client = client
        self.ring = ring
        self.rate = ring.sample_rate
        self.seconds = seconds
        self.bpm = bpm
        self.channel = min(channel, ring.channels - 1)
        self.reader: InputReader | None = None
        self._chunks: list[np.ndarray] = []
        self._clock0: int | None = None
        self._line: tuple[int, float, float] | None = None  # clock, beat, spb
        self._numerator = 4
        self.result: LatencyResult | None = None
        self.error = ""
        self.done = False

    def start(self, numerator: int = 4) -> None:
        """Raw (not sticky) commands: the musician's own settings come back after."""
        self._numerator = numerator
        c = self.client
        c.send(Cmd.STOP)
        c.send(Cmd.STOP)  # back to the start
        c.send(Cmd.COUNT_IN, 0)
        c.send(Cmd.TEMPO, self.bpm)
        c.send(Cmd.METRONOME, 1.0, 1.0)
        c.send(Cmd.INPUT_MONITOR, 0.0, 0.0)  # a monitored loopback would feed back
        self.reader = self.ring.reader()
        c.send(Cmd.PLAY)

    def step(self, events: list[tuple[float, ...]]) -> bool:
        """Take new engine events and input; True once finished (see result/error)."""
        if self.done:
            return True
        for e in events:
            if int(e[0]) == Evt.ANCHOR and int(e[2]) != TransportState.STOPPED \
                    and self._line is None:
                self._line = (int(e[1]), float(e[3]), float(e[4]))
        assert self.reader is not None
        chunk = self.reader.read()
        if self._clock0 is None:
            self._clock0 = chunk.clock
        if chunk.lost:
            self._chunks.clear()  # fell behind: start over from here
            self._clock0 = chunk.clock
        self._chunks.append(chunk.frames[:, self.channel].copy())
        if self._line is None:
            return False
        end = self._clock0 + sum(len(c) for c in self._chunks)
        if end < self._line[0] + self.seconds * self.rate:
            return False
        self._finish()
        return True

    def _finish(self) -> None:
        self.done = True
        self.client.send(Cmd.STOP)
        self.client.send(Cmd.STOP)
        self.client.resend_settings()
        assert self._line is not None and self._clock0 is not None
        clock, beat, spb = self._line
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        clicks = []
        b = math.ceil(beat - 1e-9)
        while True:
            at = round(clock + (b - beat) * spb)
            if at > self._clock0 + len(audio):
                break
            clicks.append((at, b % self._numerator == 0))
            b += 1
        try:
            lag, spread, used = measure_lag(audio, self._clock0, clicks, self.rate)
        except CalibrationError as exc:
            self.error = str(exc)
            return
        self.result = LatencyResult(lag, self.rate, used, spread)
