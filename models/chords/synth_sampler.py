"""Offline rendering from recorded notes: one audio file per note, named after its pitch
(``A2.mp3``, ``Cs3.mp3``, ``Fs4.flac``), as the tonejs-instruments packages on npm ship
them (real guitars, piano, harp, organ, bowed strings, electric bass). A timbre family
of its own for training, beside the SoundFonts and FreePats: recordings, not a
synthesizer's presets.

A note plays the nearest recorded pitch resampled to its own (at most a few semitones
away in these sets), at a gain from its velocity, until its note-off and a short
release; a note longer than its recording ends with the recording, as a plucked string
does. The result is stereo like the other renderers' (both channels the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.chords.performance import DRUM_CH, Performance
from models.chords.synth_offline import DEFAULT_RATE, SoundFontLoadError

# "Cs3" (C sharp 3), "Bb2" (B flat 2); MIDI 60 is C4. Variants such as "F2 v2" are left out.
NOTE_FILE = re.compile(r"^([A-G])(s|#|b)?(-?\d)$")
AUDIO_SUFFIXES = (".mp3", ".ogg", ".flac", ".wav")
PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
RELEASE_S = 0.12  # fade after note-off: a damped string or a released key
ONSET_DB = -40.0  # a recording starts where it first reaches this level below its peak
PEAK = 0.5  # every recording is scaled to this peak, so notes play evenly


def midi_of(stem: str) -> int | None:
    """MIDI pitch of a note file's stem, or None for a name that is not a note."""
    m = NOTE_FILE.match(stem)
    if m is None:
        return None
    letter, accidental, octave = m.groups()
    shift = {"s": 1, "#": 1, "b": -1}.get(accidental or "", 0)
    return 12 * (int(octave) + 1) + PITCH_CLASS[letter] + shift


@dataclass(frozen=True)
class SampleSet:
    """Recorded notes of one instrument (or several merged), sorted by pitch."""

    name: str
    pitches: np.ndarray  # int, ascending
    samples: tuple[np.ndarray, ...]  # mono float32 at the synth's rate, onset first

    def nearest(self, pitch: int) -> int:
        """Index of the recorded note closest to ``pitch`` (the lower one on a tie)."""
        return int(np.argmin(np.abs(self.pitches - pitch)))


def _decode(path: Path, rate: int) -> np.ndarray:
    import soundfile as sf

    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's errors name neither the file nor the cause
        raise SoundFontLoadError(f"cannot decode recorded note {path}: {exc}") from exc
    mono = audio.mean(axis=1)
    if sr != rate:
        import soxr

        mono = soxr.resample(mono, sr, rate).astype(np.float32)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak <= 0.0:
        raise SoundFontLoadError(f"recorded note {path} is silent")
    start = int(np.argmax(np.abs(mono) >= peak * 10 ** (ONSET_DB / 20)))
    start = max(0, start - round(0.002 * rate))  # keep the attack's first 2 ms
    out: np.ndarray = (mono[start:] * (PEAK / peak)).astype(np.float32)
    return out


def load_sample_set(folders: list[Path], rate: int, name: str = "") -> SampleSet:
    """Every note file in ``folders`` (merged; the first folder wins a pitch)."""
    found: dict[int, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise SoundFontLoadError(f"recorded notes {folder} are not installed "
                                     "(python -m models.chords.data samples)")
        for path in sorted(folder.iterdir()):
            pitch = midi_of(path.stem) if path.suffix.lower() in AUDIO_SUFFIXES else None
            if pitch is not None and pitch not in found:
                found[pitch] = path
    if not found:
        raise SoundFontLoadError(f"no recorded notes in {', '.join(map(str, folders))}")
    pitches = sorted(found)
    return SampleSet(name or folders[0].name, np.array(pitches),
                     tuple(_decode(found[p], rate) for p in pitches))


class SampleSynth:
    """Renders performances from recorded notes; the same interface as ``OfflineSynth``
    (``render``, ``close``). ``instruments`` maps a GM program to the folders (under
    ``root``) whose notes it plays; a folder is decoded once, on first use."""

    def __init__(self, root: Path, instruments: dict[int, tuple[str, ...]],
                 sample_rate: int = DEFAULT_RATE) -> None:
        if not Path(root).is_dir():
            raise SoundFontLoadError(f"recorded notes {root} are not installed "
                                     "(python -m models.chords.data samples)")
        self.root = Path(root)
        self.instruments = dict(instruments)
        self.sample_rate = sample_rate
        self._sets: dict[int, SampleSet] = {}

    def sample_set(self, program: int) -> SampleSet:
        if program not in self.instruments:
            raise SoundFontLoadError(f"the recorded notes have no program {program}")
        if program not in self._sets:
            self._sets[program] = load_sample_set(
                [self.root / f for f in self.instruments[program]], self.sample_rate,
                "+".join(self.instruments[program]))
        return self._sets[program]

    def render(self, perf: Performance, programs: dict[int, int], detune_cents: float = 0.0
               ) -> np.ndarray:
        """Stereo float32 audio, shape (frames, 2), of the whole performance."""
        sr = self.sample_rate
        total = round(perf.duration * sr)
        out = np.zeros(total, dtype=np.float32)
        sets = {ch: self.sample_set(p) for ch, p in programs.items() if ch != DRUM_CH}
        release = max(1, round(RELEASE_S * sr))
        fade = np.exp(np.linspace(0.0, -7.0, release)).astype(np.float32)  # about -60 dB
        for n in perf.notes:
            if n.channel not in sets:
                continue  # drums, or a channel without a program: silent here
            ss = sets[n.channel]
            k = ss.nearest(n.pitch)
            sample = ss.samples[k]
            ratio = 2.0 ** ((n.pitch - int(ss.pitches[k]) + detune_cents / 100.0) / 12.0)
            start = round(n.start * sr)
            held = max(1, round((n.end - n.start) * sr))
            length = min(held + release, int((sample.size - 1) / ratio), total - start)
            if length <= 0:
                continue
            voice = np.interp(np.arange(length) * ratio, np.arange(sample.size), sample)
            if length > held:  # the release, over what is left of it
                voice[held:] *= fade[:length - held]
            gain = (n.velocity / 127.0) ** 1.5
            out[start:start + length] += (gain * voice).astype(np.float32)
        return np.repeat(out[:, None], 2, axis=1)

    def close(self) -> None:
        self._sets.clear()
