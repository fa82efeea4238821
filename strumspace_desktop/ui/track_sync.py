"""Keeps the engine's synth channels in step with the session's tracks.

Each track change becomes the few engine commands it implies: the channel's
program (bank and preset), the channel's gain with mute/solo/volume folded in,
and the input channel that live MIDI plays (the selected track's). Only values
that changed are sent, so dragging a fader does not re-send every program.
"""

from __future__ import annotations

from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.tracks import CHANNELS, Change, Track, TrackList
from strumspace_desktop.ui.adapter import EngineAdapter


class TrackEngineSync:
    def __init__(self, tracks: TrackList, adapter: EngineAdapter) -> None:
        self.tracks = tracks
        self.adapter = adapter
        self._programs: dict[int, Instrument] = {}
        self._gains: list[float | None] = [None] * CHANNELS
        self._input_channel: int | None = None
        tracks.subscribe(self._changed)

    def _changed(self, change: Change, track: Track | None) -> None:
        self.sync()

    def resend_all(self) -> None:
        """Send everything again (a new engine starts from its defaults)."""
        self._programs.clear()
        self._gains = [None] * CHANNELS
        self._input_channel = None
        self.sync()

    def sync(self) -> None:
        a = self.adapter
        for channel, inst in self.tracks.channel_instruments().items():
            if self._programs.get(channel) != inst:
                a.program(channel, inst.bank, inst.program)
                self._programs[channel] = inst
        for channel, gain in enumerate(self.tracks.channel_gains()):
            if self._gains[channel] != gain:
                a.channel_mix(channel, gain)
                self._gains[channel] = gain
        sel = self.tracks.selected
        if sel is not None and sel.channel != self._input_channel:
            a.set_input_channel(sel.channel)
            self._input_channel = sel.channel
