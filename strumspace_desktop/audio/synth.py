"""The built-in instrument: FluidSynth through pyfluidsynth's ctypes bindings.

Each of the 16 MIDI channels renders into its own stereo buffer (`synth.audio-groups`
16, `fluid_synth_process`), and so do its reverb and chorus (`synth.effects-groups`
16, effects buffers aliased onto the channel's dry buffers as FluidSynth's docs
describe), so that every channel is a mixer strip of its own. An effects group costs
CPU even while silent, so only the groups of channels in use are switched on.

Only the audio callback calls a live synth, so FluidSynth's own API mutex is turned
off (`synth.threadsafe-api` 0): the callback never waits on a lock. A new SoundFont
is loaded into a fresh synth off the audio thread and swapped in at a block boundary.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import numpy as np

DRUM_CHANNEL = 9
DRUM_BANK = 128
CHANNELS = 16

# Debian/Ubuntu (fluid-soundfont-gm, timgm6mb-soundfont), Fedora, Arch, Homebrew, Windows.
_DEFAULT_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "C:/soundfonts/default.sf2",
)


class SoundFontError(Exception):
    """A SoundFont that is missing, unreadable or not a SoundFont; the text is for users."""


class SynthUnavailableError(Exception):
    """The FluidSynth library itself could not be loaded."""


def find_default_soundfont() -> Path | None:
    """The user's $STRUMSPACE_SOUNDFONT, else the first General MIDI SoundFont found."""
    env = os.environ.get("STRUMSPACE_SOUNDFONT")
    candidates = ([env] if env else []) + list(_DEFAULT_SOUNDFONTS)
    for c in candidates:
        p = Path(c)
        if p.is_file():
            return p
    return None


def check_soundfont(path: Path) -> None:
    """Raise SoundFontError with a plain explanation unless `path` looks like a SoundFont."""
    if not path.exists():
        raise SoundFontError(f"The SoundFont {path} does not exist.")
    if not path.is_file():
        raise SoundFontError(f"{path} is a folder, not a SoundFont file.")
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise SoundFontError(f"The SoundFont {path} cannot be read: {exc.strerror}.") from exc
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(
            f"{path.name} is not a SoundFont (.sf2/.sf3) file, or it is damaged.")


def _load_library() -> ctypes.CDLL:
    try:
        import fluidsynth  # pyfluidsynth: finds and loads libfluidsynth
    except (ImportError, OSError) as exc:
        raise SynthUnavailableError(
            "FluidSynth is not installed (on Debian/Ubuntu: apt-get install libfluidsynth3)."
        ) from exc
    lib: ctypes.CDLL = fluidsynth._fl
    return lib


class FluidSynthInstrument:
    """One FluidSynth synth with one SoundFont; every call after construction is made
    from the audio thread only."""

    def __init__(self, sample_rate: int, soundfont: Path | None, polyphony: int = 256,
                 gain: float = 0.6) -> None:
        lib = _load_library()
        self._lib = lib
        lib.new_fluid_settings.restype = ctypes.c_void_p
        lib.new_fluid_synth.restype = ctypes.c_void_p
        lib.new_fluid_synth.argtypes = [ctypes.c_void_p]
        lib.fluid_settings_setint.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.fluid_settings_setnum.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_double]
        vp, ci = ctypes.c_void_p, ctypes.c_int
        for name, args in {
            "fluid_synth_noteon": [vp, ci, ci, ci],
            "fluid_synth_noteoff": [vp, ci, ci],
            "fluid_synth_cc": [vp, ci, ci, ci],
            "fluid_synth_pitch_bend": [vp, ci, ci],
            "fluid_synth_channel_pressure": [vp, ci, ci],
            "fluid_synth_key_pressure": [vp, ci, ci, ci],
            "fluid_synth_program_select": [vp, ci, ci, ci, ci],
            "fluid_synth_all_notes_off": [vp, ci],
            "fluid_synth_all_sounds_off": [vp, ci],
            "fluid_synth_sfload": [vp, ctypes.c_char_p, ci],
            "fluid_synth_get_active_voice_count": [vp],
            "fluid_synth_process": [vp, ci, ci, vp, ci, vp],
            "fluid_synth_reverb_on": [vp, ci, ci],
            "fluid_synth_chorus_on": [vp, ci, ci],
            "delete_fluid_synth": [vp],
            "delete_fluid_settings": [vp],
        }.items():
            getattr(lib, name).argtypes = args
        settings = lib.new_fluid_settings()
        for key, value in (("synth.threadsafe-api", 0), ("synth.midi-channels", 16),
                           ("synth.polyphony", polyphony), ("synth.cpu-cores", 1),
                           ("synth.audio-channels", CHANNELS),
                           ("synth.audio-groups", CHANNELS),
                           ("synth.effects-groups", CHANNELS),
                           ("synth.reverb.active", 1), ("synth.chorus.active", 1)):
            lib.fluid_settings_setint(settings, key.encode(), value)
        lib.fluid_settings_setnum(settings, b"synth.sample-rate", float(sample_rate))
        lib.fluid_settings_setnum(settings, b"synth.gain", gain)
        self._settings = settings
        self._synth = lib.new_fluid_synth(settings)
        if not self._synth:
            lib.delete_fluid_settings(settings)
            raise SynthUnavailableError("FluidSynth could not create a synthesizer.")
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        self.sfid = -1
        if soundfont is not None:
            self._load(soundfont)
        # Bound C functions kept as attributes: the callback skips attribute lookups.
        self.noteon = lib.fluid_synth_noteon
        self.noteoff = lib.fluid_synth_noteoff
        self.cc = lib.fluid_synth_cc
        self.pitch_bend = lib.fluid_synth_pitch_bend
        self.channel_pressure = lib.fluid_synth_channel_pressure
        self.key_pressure = lib.fluid_synth_key_pressure
        self._process = lib.fluid_synth_process
        self._voices = lib.fluid_synth_get_active_voice_count

    def _load(self, path: Path) -> None:
        check_soundfont(path)
        sfid = self._lib.fluid_synth_sfload(self._synth, os.fsencode(path), 1)
        if sfid < 0:
            self.close()
            raise SoundFontError(f"FluidSynth could not load {path.name}: it is damaged "
                                 "or not a SoundFont it understands.")
        self.sfid = sfid

    @property
    def ptr(self) -> int:
        return int(self._synth)

    def program_select(self, channel: int, bank: int, program: int) -> bool:
        if self.sfid < 0:
            return False
        if channel == DRUM_CHANNEL and bank == 0:
            bank = DRUM_BANK
        ok = self._lib.fluid_synth_program_select(self._synth, channel, self.sfid, bank, program)
        return bool(ok == 0)

    def set_effects(self, reverb: bool, chorus: bool,
                    channels: np.ndarray | None = None) -> None:
        """Switch the built-in reverb and chorus units: on for the channels marked in
        `channels` (16 booleans; None: every channel), off elsewhere."""
        for ch in range(CHANNELS):
            used = channels is None or bool(channels[ch])
            self._lib.fluid_synth_reverb_on(self._synth, ch, int(reverb and used))
            self._lib.fluid_synth_chorus_on(self._synth, ch, int(chorus and used))

    def all_notes_off(self, channel: int) -> None:
        self._lib.fluid_synth_all_notes_off(self._synth, channel)

    def all_sounds_off(self, channel: int) -> None:
        self._lib.fluid_synth_all_sounds_off(self._synth, channel)

    def active_voices(self) -> int:
        return int(self._voices(self._synth))

    def process(self, frames: int, nfx: int, fx: ctypes.Array[ctypes.c_void_p], nout: int,
                dry: ctypes.Array[ctypes.c_void_p]) -> None:
        """Add `frames` frames of every channel into the planar buffers `dry` points to
        (left and right of channel 0, then channel 1…) and their effects into `fx`."""
        self._process(self._synth, frames, nfx, fx, nout, dry)

    def close(self) -> None:
        if self._synth:
            self._lib.delete_fluid_synth(self._synth)
            self._synth = None
        if self._settings:
            self._lib.delete_fluid_settings(self._settings)
            self._settings = None

    def __del__(self) -> None:
        if sys.is_finalizing():
            return
        self.close()
