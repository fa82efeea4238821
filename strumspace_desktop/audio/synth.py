"""The built-in instrument: FluidSynth through pyfluidsynth's ctypes bindings.

Each of the 16 MIDI channels renders into its own stereo buffer (`synth.audio-groups`
16, `fluid_synth_process`), so that every channel is a mixer strip of its own. The
built-in reverb and chorus are one shared send bus, as on a General MIDI sound
module (`synth.effects-groups` 1: sixteen units cost about three times the whole
synth). Each voice's send is set when its note starts and whenever the channel's
send gain or CC91/CC93 change: gain * (the SoundFont's own send + the controller's
share, as FluidSynth's default CC91/CC93 modulators compute it, which are removed
so that nothing adds to it). The send gain is the strip's fader, zero when the
strip is muted, so a muted track sends nothing to the reverb.

Only the audio callback calls a live synth, so FluidSynth's own API mutex is turned
off (`synth.threadsafe-api` 0): the callback never waits on a lock. A new SoundFont
is loaded into a fresh synth off the audio thread and swapped in at a block boundary.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

DRUM_CHANNEL = 9
DRUM_BANK = 128
CHANNELS = 16
# SoundFont generators (SF2.01 8.1.3): the two sends, and two unused slots where each
# voice keeps its SoundFont send so that it can be scaled again later.
GEN_CHORUS_SEND = 15
GEN_REVERB_SEND = 16
GEN_SPARE_CHORUS = 14  # GEN_UNUSED1
GEN_SPARE_REVERB = 18  # GEN_UNUSED2
FLUID_MOD_CC = 16
SEND_CC_AMOUNT = 200.0  # FluidSynth's default CC91/CC93 modulators: +20 % at full scale

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
            "fluid_synth_set_sample_rate": [vp, ctypes.c_float],
            "fluid_synth_get_voicelist": [vp, vp, ci, ci],
            "fluid_voice_gen_get": [vp, ci],
            "fluid_voice_gen_set": [vp, ci, ctypes.c_float],
            "fluid_voice_update_param": [vp, ci],
            "fluid_voice_get_channel": [vp],
            "fluid_synth_get_gen": [vp, ci, ci],
            "fluid_synth_get_cc": [vp, ci, ci, ctypes.POINTER(ci)],
            "fluid_mod_set_source1": [vp, ci, ci],
            "fluid_mod_set_source2": [vp, ci, ci],
            "fluid_mod_set_dest": [vp, ci],
            "fluid_mod_set_amount": [vp, ctypes.c_double],
            "fluid_synth_remove_default_mod": [vp, vp],
            "delete_fluid_mod": [vp],
            "delete_fluid_synth": [vp],
            "delete_fluid_settings": [vp],
        }.items():
            getattr(lib, name).argtypes = args
        settings = lib.new_fluid_settings()
        for key, value in (("synth.threadsafe-api", 0), ("synth.midi-channels", 16),
                           ("synth.polyphony", polyphony), ("synth.cpu-cores", 1),
                           ("synth.audio-channels", CHANNELS),
                           ("synth.audio-groups", CHANNELS),
                           ("synth.effects-groups", 1),
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
        self._remove_send_modulators()
        lib.fluid_voice_gen_get.restype = ctypes.c_float
        lib.fluid_synth_get_gen.restype = ctypes.c_float
        # The send bus: per channel the send gain (the strip's fader, 0 when muted) and
        # the CC91/CC93 values, as plain lists (read in the callback without allocating).
        self.send_gain = [1.0] * CHANNELS
        self.reverb_cc = [0] * CHANNELS
        self.chorus_cc = [0] * CHANNELS
        level = ctypes.c_int()
        for ch in range(CHANNELS):
            if lib.fluid_synth_get_cc(self._synth, ch, 91, ctypes.byref(level)) == 0:
                self.reverb_cc[ch] = level.value
            if lib.fluid_synth_get_cc(self._synth, ch, 93, ctypes.byref(level)) == 0:
                self.chorus_cc[ch] = level.value
        self._next_note_id = 0  # FluidSynth numbers every note-on that starts voices
        self._dirty = [False] * CHANNELS  # channels whose sounding voices need new sends
        self._clean = [False] * CHANNELS
        self._voice_buf = (ctypes.c_void_p * (polyphony + 1))()
        self._voicelist = lib.fluid_synth_get_voicelist
        self._gen_get = lib.fluid_voice_gen_get
        self._gen_set = lib.fluid_voice_gen_set
        self._update = lib.fluid_voice_update_param
        self._voice_channel = lib.fluid_voice_get_channel
        self._flush = lib.fluid_synth_get_gen
        # Bound C functions kept as attributes: the callback skips attribute lookups.
        self._noteon = lib.fluid_synth_noteon
        self.noteoff = lib.fluid_synth_noteoff
        self.cc = lib.fluid_synth_cc
        self.pitch_bend = lib.fluid_synth_pitch_bend
        self.channel_pressure = lib.fluid_synth_channel_pressure
        self.key_pressure = lib.fluid_synth_key_pressure
        self._process = lib.fluid_synth_process
        self._voices = lib.fluid_synth_get_active_voice_count
        self._set_rate = lib.fluid_synth_set_sample_rate

    def _load(self, path: Path) -> None:
        check_soundfont(path)
        sfid = self._lib.fluid_synth_sfload(self._synth, os.fsencode(path), 1)
        if sfid < 0:
            self.close()
            raise SoundFontError(f"FluidSynth could not load {path.name}: it is damaged "
                                 "or not a SoundFont it understands.")
        self.sfid = sfid

    def _remove_send_modulators(self) -> None:
        """Drop FluidSynth's default CC91 -> reverb send and CC93 -> chorus send
        modulators: their share is folded into each voice's send here, scaled with it."""
        lib = self._lib
        lib.new_fluid_mod.restype = ctypes.c_void_p
        for cc, dest in ((91, GEN_REVERB_SEND), (93, GEN_CHORUS_SEND)):
            mod = lib.new_fluid_mod()
            if not mod:
                continue
            lib.fluid_mod_set_source1(mod, cc, FLUID_MOD_CC)  # linear, unipolar, positive
            lib.fluid_mod_set_source2(mod, 0, 0)
            lib.fluid_mod_set_dest(mod, dest)
            lib.fluid_mod_set_amount(mod, SEND_CC_AMOUNT)
            lib.fluid_synth_remove_default_mod(self._synth, mod)
            lib.delete_fluid_mod(mod)

    def noteon(self, synth: int, channel: int, key: int, velocity: int) -> int:
        """Start a note (`synth` is `ptr`, kept for the C signature) and set the sends
        of the voices it started."""
        result: int = self._noteon(synth, channel, key, velocity)
        if result == 0 and velocity > 0:
            note_id = self._next_note_id
            self._next_note_id = note_id + 1
            self._set_sends(note_id, True)
        return result

    def set_send_gains(self, gains: list[float]) -> None:
        """Every channel's send gain at once; voices already sounding follow."""
        if gains == self.send_gain:
            return
        dirty, current = self._dirty, self.send_gain
        for ch in range(CHANNELS):
            if gains[ch] != current[ch]:
                current[ch] = gains[ch]
                dirty[ch] = True
        self._set_sends(-1, False)

    def set_send_cc(self, channel: int, controller: int, value: int) -> None:
        """CC91 (reverb) or CC93 (chorus) on `channel`: voices sounding follow."""
        levels = self.reverb_cc if controller == 91 else self.chorus_cc
        if levels[channel] != value:
            levels[channel] = value
            self._dirty[channel] = True
            self._set_sends(-1, False)

    def _set_sends(self, note_id: int, new: bool) -> None:
        """The sends of the new voices of note `note_id` (their SoundFont sends are
        kept aside first), or (-1) of the sounding voices of the channels marked dirty."""
        buf = self._voice_buf
        self._voicelist(self._synth, buf, len(buf), note_id)
        gen_get, gen_set, update = self._gen_get, self._gen_set, self._update
        gains, rev, cho, dirty = self.send_gain, self.reverb_cc, self.chorus_cc, self._dirty
        for voice in buf:
            if not voice:
                break
            ch = self._voice_channel(voice)
            if not new and not dirty[ch]:
                continue
            if new:
                base_rev = gen_get(voice, GEN_REVERB_SEND)
                base_cho = gen_get(voice, GEN_CHORUS_SEND)
                gen_set(voice, GEN_SPARE_REVERB, base_rev)
                gen_set(voice, GEN_SPARE_CHORUS, base_cho)
            else:
                base_rev = gen_get(voice, GEN_SPARE_REVERB)
                base_cho = gen_get(voice, GEN_SPARE_CHORUS)
            g = gains[ch]
            gen_set(voice, GEN_REVERB_SEND, g * (base_rev + SEND_CC_AMOUNT * rev[ch] / 128.0))
            gen_set(voice, GEN_CHORUS_SEND, g * (base_cho + SEND_CC_AMOUNT * cho[ch] / 128.0))
            update(voice, GEN_REVERB_SEND)
            update(voice, GEN_CHORUS_SEND)
        if not new:
            dirty[:] = self._clean
        # Voice updates wait in FluidSynth's queue until a public call returns.
        self._flush(self._synth, 0, GEN_REVERB_SEND)

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

    def set_effects(self, reverb: bool, chorus: bool) -> None:
        """Switch the built-in reverb and chorus units (the shared send bus)."""
        self._lib.fluid_synth_reverb_on(self._synth, -1, int(reverb))
        self._lib.fluid_synth_chorus_on(self._synth, -1, int(chorus))

    def reset_effects(self) -> bool:
        """Bring the reverb and chorus back to the state of a new synth, so that a song
        played now sounds exactly like an offline render (a fresh synth). Their
        modulators and delay lines otherwise carry on from the synth's creation.
        Only while no voice sounds (FluidSynth would stop them); False if skipped.

        FluidSynth 2.3 exports no effect reset but system reset, which also resets
        every channel; setting the same sample rate again re-initialises both units
        (delay lines, read positions, LFO phases) in place: no allocation, no lock
        (`synth.threadsafe-api` 0), a few hundred queue entries (one per voice slot).
        """
        rate = self.sample_rate
        if rate > 96000 or self._voices(self._synth):  # FluidSynth clips above 96 kHz
            return False
        self._set_rate(self._synth, float(rate))
        return True

    def all_notes_off(self, channel: int) -> None:
        self._lib.fluid_synth_all_notes_off(self._synth, channel)

    def all_sounds_off(self, channel: int) -> None:
        self._lib.fluid_synth_all_sounds_off(self._synth, channel)

    def active_voices(self) -> int:
        return int(self._voices(self._synth))

    def process(self, frames: int, nfx: int, fx: ctypes.Array[ctypes.c_void_p], nout: int,
                dry: ctypes.Array[ctypes.c_void_p]) -> None:
        """Add `frames` frames of every channel into the planar buffers `dry` points to
        (left and right of channel 0, then channel 1…) and the reverb and chorus
        returns into `fx` (reverb left, right, chorus left, right)."""
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
