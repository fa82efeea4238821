"""Keeps the engine's synth channels in step with the session's tracks.

Each track change becomes the few engine commands it implies: the channel's
program (bank and preset) and the input channel that live MIDI plays (the live
MIDI track's: the selected track when it is MIDI, else the MIDI track selected
last, so selecting an audio or chord track leaves live MIDI where it was). Only
values that changed are sent. Audio and chord tracks own no synth channel.

Volume, pan, mute and solo are not folded into the synth channel any more: the
engine mixes each channel through its own strip (audio.song_sync sends the
document's mixer), so live MIDI on the selected track goes through that track's
strip, fader and effects too.
"""

from __future__ import annotations

from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.tracks import Change, Track, TrackList
from strumspace_desktop.ui.adapter import EngineAdapter


class TrackEngineSync:
    def __init__(self, tracks: TrackList, adapter: EngineAdapter) -> None:
        self.tracks = tracks
        self.adapter = adapter
        self._programs: dict[int, Instrument] = {}
        self._input_channel: int | None = None
        tracks.subscribe(self._changed)

    def _changed(self, change: Change, track: Track | None) -> None:
        self.sync()

    def resend_all(self) -> None:
        """Send everything again (a new engine starts from its defaults)."""
        self._programs.clear()
        self._input_channel = None
        self.sync()

    def sync(self) -> None:
        a = self.adapter
        for channel, inst in self.tracks.channel_instruments().items():
            if self._programs.get(channel) != inst:
                a.program(channel, inst.bank, inst.program)
                self._programs[channel] = inst
        live = self.tracks.live
        if live is not None and live.channel is not None \
                and live.channel != self._input_channel:
            a.set_input_channel(live.channel)
            self._input_channel = live.channel
