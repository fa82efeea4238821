"""A singing voice for the lead line, rendered with Csound's FOF synthesis (CHANT).

Most musicians who strum also sing, and a voice is not a lead instrument: its
spectrum is shaped by five formants that move with every vowel, its pitch glides
between notes and wavers with vibrato and jitter, and breath and consonants add
noise. ``melody.lead_line`` writes the tune (the same notes a lead instrument would
play); this module sings it, one syllable per note, and the clip's labels stay the
accompaniment's.

Csound (Debian: ``csound``) renders it: one ``fof`` generator per formant (the
formant-wave-function synthesis made for the singing voice), the formant tables of
the Csound manual's appendix (soprano, alto, tenor and bass; vowels a, e, i, o, u).
Python writes the score: per note its pitch, vowel, glide from the previous note
when it is sung legato, vibrato, jitter and noise seeds, so a clip renders the same
every time. Soprano and tenor are the training voices; alto and bass are held out
for the evaluation sets (``manifest.VOICE_EVAL_SETS``). Male voices sing the tune an
octave lower, as they do.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.chords.performance import Note
from models.chords.synth_offline import SoundFontLoadError, run_renderer

RENDER_TIMEOUT_S = 120.0
VOWELS = ("a", "e", "i", "o", "u")
# (formant Hz, level dB, bandwidth Hz) x 5 per vowel: the Csound manual's table.
FORMANTS: dict[str, dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]]] = {
    "soprano": {
        "a": ((800, 1150, 2900, 3900, 4950), (0, -6, -32, -20, -50), (80, 90, 120, 130, 140)),
        "e": ((350, 2000, 2800, 3600, 4950), (0, -20, -15, -40, -56), (60, 100, 120, 150, 200)),
        "i": ((270, 2140, 2950, 3900, 4950), (0, -12, -26, -26, -44), (60, 90, 100, 120, 120)),
        "o": ((450, 800, 2830, 3800, 4950), (0, -11, -22, -22, -50), (40, 80, 100, 120, 120)),
        "u": ((325, 700, 2700, 3800, 4950), (0, -16, -35, -40, -60), (50, 60, 170, 180, 200)),
    },
    "alto": {
        "a": ((800, 1150, 2800, 3500, 4950), (0, -4, -20, -36, -60), (80, 90, 120, 130, 140)),
        "e": ((400, 1600, 2700, 3300, 4950), (0, -24, -30, -35, -60), (60, 80, 120, 150, 200)),
        "i": ((350, 1700, 2700, 3700, 4950), (0, -20, -30, -36, -60), (50, 100, 120, 150, 200)),
        "o": ((450, 800, 2830, 3500, 4950), (0, -9, -16, -28, -55), (70, 80, 100, 130, 135)),
        "u": ((325, 700, 2530, 3500, 4950), (0, -12, -30, -40, -64), (50, 60, 170, 180, 200)),
    },
    "tenor": {
        "a": ((650, 1080, 2650, 2900, 3250), (0, -6, -7, -8, -22), (80, 90, 120, 130, 140)),
        "e": ((400, 1700, 2600, 3200, 3580), (0, -14, -12, -14, -20), (70, 80, 100, 120, 120)),
        "i": ((290, 1870, 2800, 3250, 3540), (0, -15, -18, -20, -30), (40, 90, 100, 120, 120)),
        "o": ((400, 800, 2600, 2800, 3000), (0, -10, -12, -12, -26), (40, 80, 100, 120, 120)),
        "u": ((350, 600, 2700, 2900, 3300), (0, -20, -17, -14, -26), (40, 60, 100, 120, 120)),
    },
    "bass": {
        "a": ((600, 1040, 2250, 2450, 2750), (0, -7, -9, -9, -20), (60, 70, 110, 120, 130)),
        "e": ((400, 1620, 2400, 2800, 3100), (0, -12, -9, -12, -18), (40, 80, 100, 120, 120)),
        "i": ((250, 1750, 2600, 3050, 3340), (0, -30, -16, -22, -28), (60, 90, 100, 120, 120)),
        "o": ((400, 750, 2400, 2600, 2900), (0, -11, -21, -20, -40), (40, 80, 100, 120, 120)),
        "u": ((350, 600, 2400, 2675, 2950), (0, -20, -32, -28, -36), (40, 80, 100, 120, 120)),
    },
}
TRAIN_VOICES = ("soprano", "tenor")
HELD_OUT_VOICES = ("alto", "bass")
OCTAVE_DOWN = frozenset({"tenor", "bass"})
VOWEL_WEIGHTS = (0.3, 0.2, 0.2, 0.2, 0.1)
LEGATO_GAP_S = 0.12  # a note starting this soon after the last one is sung on one breath
RELEASE_S = 0.09

_ORCHESTRA = """
sr = {sr}
ksmps = 16
nchnls = 1
0dbfs = 1
giSine ftgen 1, 0, 4096, 10, 1
giRise ftgen 2, 0, 1024, 19, 0.5, 0.5, 270, 0.5

; p4 amplitude, p5 pitch Hz, p6 glide start Hz, p7 glide s, p8 vibrato Hz,
; p9 vibrato cents, p10 vibrato delay s, p11 jitter (fraction), p12 vowel change s,
; p13 breath level, p14 consonant level, p15 noise seed (0..1),
; p16..p30 this vowel's formants (Hz x5, dB x5, bandwidth x5), p31..p45 the last one's.
instr 1
  iatk = 0.04
  irel = {release}
  kf0 expseg p6, p7, p5, p3, p5
  kvd linseg 0, p10, 0, 0.3, 1, p3, 1
  kvib oscili p9 * kvd / 1200, p8
  kjit randi p11, 11, p15
  kf = kf0 * (2 ^ kvib) * (1 + kjit)
  kenv linseg 0, iatk, 1, p3 - iatk - irel, 0.85, irel, 0
  amix = 0
  ;formants
  abr rand 1, p15 * 0.5 + 0.25
  abr butterbp abr, kF2, 400
  amix = amix + abr * p13 * kenv
  if p14 > 0 then
    acn rand 1, p15 * 0.5 + 0.1
    acn butterbp acn, 5500, 3000
    kcn linseg 1, 0.05, 0, p3, 0
    amix = amix + acn * p14 * kcn
  endif
  out amix
endin
"""

_FORMANT = """
  kF{i} linseg p{pf_prev}, p12, p{pf}, p3, p{pf}
  kA{i} linseg p{pa_prev}, p12, p{pa}, p3, p{pa}
  kB{i} linseg p{pb_prev}, p12, p{pb}, p3, p{pb}
  aF{i} fof ampdb(kA{i}) * kenv, kf, kF{i}, 0, kB{i}, 0.003, 0.02, 0.007, 200, 1, 2, p3
  amix = amix + aF{i}
"""


def orchestra(sample_rate: int) -> str:
    formants = "".join(
        _FORMANT.format(i=i + 1, pf=16 + i, pa=21 + i, pb=26 + i,
                        pf_prev=31 + i, pa_prev=36 + i, pb_prev=41 + i)
        for i in range(5))
    return _ORCHESTRA.format(sr=sample_rate, release=RELEASE_S).replace(
        "  ;formants\n", formants)


@dataclass(frozen=True)
class Voice:
    """How one clip's singer sounds: the voice type's formants, scaled (a bigger or
    smaller vocal tract), vibrato, and how loud the voice sits over the band."""

    kind: str = "soprano"
    formant_scale: float = 1.0
    vibrato_hz: float = 5.5
    vibrato_cents: float = 40.0
    level_db: float = 2.0  # the voice's RMS over the accompaniment's

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Voice:
        if data.get("kind") not in FORMANTS:
            raise ValueError(f"unknown voice kind {data.get('kind')!r}; "
                             f"choose from {sorted(FORMANTS)}")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def draw_voice(rng: np.random.Generator, kinds: tuple[str, ...] = TRAIN_VOICES) -> Voice:
    """A training singer: one of ``kinds``, a vocal tract 10 % either way."""
    return Voice(kind=str(kinds[int(rng.integers(len(kinds)))]),
                 formant_scale=round(float(rng.uniform(0.9, 1.1)), 4),
                 vibrato_hz=round(float(rng.uniform(4.5, 6.5)), 3),
                 vibrato_cents=round(float(rng.uniform(20.0, 70.0)), 2),
                 level_db=round(float(rng.uniform(-4.0, 6.0)), 2))


def score(notes: list[Note], voice: Voice, rng: np.random.Generator,
          detune_cents: float = 0.0) -> str:
    """The Csound score that sings ``notes`` (one syllable each) as ``voice``, tuned
    ``detune_cents`` away from A 440 (with the band)."""
    table = FORMANTS[voice.kind]
    shift = (-12 if voice.kind in OCTAVE_DOWN else 0) + detune_cents / 100.0
    lines: list[str] = []
    prev_end, prev_hz, prev_vowel = -1.0, 0.0, "a"
    for note in sorted(notes, key=lambda n: n.start):
        hz = 440.0 * 2.0 ** ((note.pitch + shift - 69) / 12.0)
        legato = note.start - prev_end < LEGATO_GAP_S and prev_hz > 0
        # A melisma holds the vowel over the next note a quarter of the time.
        vowel = prev_vowel if legato and rng.random() < 0.25 else \
            str(VOWELS[int(rng.choice(len(VOWELS), p=VOWEL_WEIGHTS))])
        start_hz = prev_hz if legato else hz
        last = table[prev_vowel] if legato else table[vowel]
        now = table[vowel]
        amp = (note.velocity / 127.0) ** 1.5
        fields = [
            1, round(note.start, 5), round(max(note.end - note.start, 0.12) + RELEASE_S, 5),
            round(amp, 4), round(hz, 3), round(start_hz, 3),
            round(float(rng.uniform(0.04, 0.09)), 4), voice.vibrato_hz,
            voice.vibrato_cents * float(rng.uniform(0.7, 1.2)),
            round(float(rng.uniform(0.12, 0.35)), 3), round(float(rng.uniform(0.002, 0.006)), 4),
            round(float(rng.uniform(0.04, 0.08)), 4),
            round(float(rng.uniform(0.002, 0.02)), 4),
            0.0 if legato or rng.random() < 0.5 else round(float(rng.uniform(0.02, 0.1)), 4),
            round(float(rng.uniform(0.01, 0.99)), 5),
        ]
        for f in (now, last):
            fields += [round(x * voice.formant_scale, 1) for x in f[0]]
            fields += list(f[1]) + [round(x * voice.formant_scale, 1) for x in f[2]]
        lines.append("i " + " ".join(str(x) for x in fields))
        prev_end, prev_hz, prev_vowel = note.end, hz, vowel
    return "\n".join(lines) + "\n"


class VoiceSynth:
    """Sings note lists with the ``csound`` program, one fresh process per clip."""

    def __init__(self, sample_rate: int) -> None:
        exe = shutil.which("csound")
        if exe is None:
            raise SoundFontLoadError("Csound is not installed (Debian: csound); it sings "
                                     "the voice sets (models/chords/DATA.md)")
        self.exe = exe
        self.sample_rate = sample_rate

    def render(self, notes: list[Note], voice: Voice, seconds: float, seed: int,
               detune_cents: float = 0.0) -> np.ndarray:
        """Mono float32 audio of ``seconds`` (Csound writes floats: no clipping)."""
        frames = round(seconds * self.sample_rate)
        if not notes:
            return np.zeros(frames, np.float32)
        rng = np.random.default_rng([seed, 11])
        with tempfile.TemporaryDirectory(prefix="strumspace-voice-") as tmp:
            csd, wav = Path(tmp) / "voice.csd", Path(tmp) / "voice.wav"
            csd.write_text(
                "<CsoundSynthesizer>\n<CsInstruments>\n" + orchestra(self.sample_rate)
                + "</CsInstruments>\n<CsScore>\n" + score(notes, voice, rng, detune_cents)
                + "</CsScore>\n</CsoundSynthesizer>\n")
            cmd = [self.exe, "-d", "-m0", "-W", "-f", "-o", str(wav), str(csd)]
            audio = run_renderer(cmd, wav, "Csound", self.sample_rate, RENDER_TIMEOUT_S)
        out = np.zeros(frames, np.float32)
        n = min(frames, audio.shape[0])
        out[:n] = audio[:n, 0]
        return out


def mix(accompaniment: np.ndarray, sung: np.ndarray, level_db: float) -> np.ndarray:
    """The band (frames, 2) with the voice on both sides, its RMS (where it sings)
    ``level_db`` over the band's RMS where the band plays."""
    n = accompaniment.shape[0]
    sung = np.pad(sung[:n], (0, max(0, n - sung.shape[0])))
    band = accompaniment.mean(axis=1)
    loud = np.abs(band) > 1e-4
    voiced = np.abs(sung) > 1e-4
    if not voiced.any() or not loud.any():
        return accompaniment
    band_rms = float(np.sqrt(np.mean(band[loud] ** 2)))
    voice_rms = float(np.sqrt(np.mean(sung[voiced] ** 2)))
    gain = band_rms / voice_rms * 10.0 ** (level_db / 20.0)
    out: np.ndarray = accompaniment + (gain * sung)[:, None]
    return out.astype(np.float32)
