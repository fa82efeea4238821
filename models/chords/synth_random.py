"""Offline rendering with a random timbre per clip: a synthesizer family of our own, for
training only, whose every clip is a new instrument.

The SoundFont families each hold a few dozen instruments, and the test family plays
its own; this family draws each clip's timbre from broad distributions instead
(domain randomization): a spectrum per instrument kind (plucked strings with a pluck
position and a brightness that fades, hammered strings, a tine, drawbar organs that
sound a sub-octave and a fifth above it, bowed and ensemble sounds with vibrato,
mallets with inharmonic modes), a random body resonance over absolute frequency,
attack, decay and release. The instrument kind follows the clip's category
(``soundfonts.PROGRAMS``), so textures stay what a musician would play.

Every note is a wavetable (its harmonics up to 5 kHz, from an inverse FFT) read at the
note's pitch; a plucked or struck note crossfades from a bright table to a dull one,
which is how its upper partials die sooner. Mallet notes are summed modes. The result
is stereo like the other renderers' (both channels the same); drums are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.chords.performance import BASS_CH, DRUM_CH, Performance
from models.chords.soundfonts import PROGRAMS
from models.chords.synth_offline import DEFAULT_RATE

TABLE = 2048  # samples per wavetable period
TOP_HZ = 5000.0  # the features stop at C8 (4.2 kHz); nothing above is needed
KINDS = ("pluck", "hammer", "tine", "organ", "bowed", "pad", "mallet")
KIND_OF_CATEGORY = {"guitar": ("pluck",), "piano": ("hammer",), "electric_piano": ("tine",),
                    "organ": ("organ",), "strings": ("bowed", "pluck"), "pad": ("pad",),
                    "mallet": ("mallet",), "bass": ("pluck", "pluck", "bowed")}
# Organ drawbars as multiples of the note's frequency: 16', 5 1/3', 8', 4', 2 2/3', 2',
# 1 3/5', 1 1/3', 1'. The sub-octave and the fifth above it sound below the written
# note's own second harmonic, as on a real organ (and on the test family's organs).
DRAWBARS = (0.5, 1.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
# Mode ratios of struck bars (marimba, vibraphone, xylophone, glockenspiel).
MALLET_MODES = ((1.0, 3.93, 9.2), (1.0, 4.0, 10.1), (1.0, 3.0, 6.0), (1.0, 2.76, 5.4, 8.93))


def category_of(program: int) -> str:
    for category, pools in PROGRAMS.items():
        if any(program in pool for pool in pools.values()):
            return category
    return "piano"


@dataclass
class Timbre:
    """One instrument: what every note of a channel shares."""

    kind: str
    slope: float  # harmonic k at k**-slope
    jitter_db: np.ndarray  # per harmonic, fixed for the instrument
    phases: np.ndarray  # per harmonic
    body: list[tuple[float, float, float]]  # (log2 Hz centre, octaves wide, dB)
    attack: float  # seconds
    release: float
    decay: float  # seconds to -60 dB at 110 Hz (struck kinds)
    fade: float  # seconds for the bright table to give way to the dull one
    dull: float  # extra slope of the dull table
    pluck: float  # pluck or hammer position (fraction of the string)
    drawbars: np.ndarray = field(default_factory=lambda: np.zeros(len(DRAWBARS)))
    vibrato_hz: float = 0.0
    vibrato_cents: float = 0.0
    voices: int = 1
    spread_cents: float = 0.0
    modes: tuple[float, ...] = ()
    noise_db: float = -120.0  # attack noise (pick, hammer) relative to the note


def draw_timbre(kind: str, rng: np.random.Generator) -> Timbre:
    u = rng.uniform
    body = [(float(u(np.log2(90), np.log2(3500))), float(u(0.15, 0.8)), float(u(-10, 12)))
            for _ in range(int(rng.integers(1, 5)))]
    t = Timbre(kind=kind, slope=1.0, jitter_db=rng.normal(0, u(1, 5), 256),
               phases=rng.uniform(0, 2 * np.pi, 256), body=body, attack=0.005,
               release=0.08, decay=3.0, fade=0.3, dull=2.0, pluck=0.15)
    if kind == "pluck":
        t.slope, t.pluck = u(0.5, 1.4), u(0.06, 0.33)
        t.decay, t.fade, t.dull = u(1.0, 6.0), u(0.03, 0.5), u(1.0, 3.5)
        t.attack, t.release, t.noise_db = u(0.001, 0.008), u(0.02, 0.15), u(-40, -18)
    elif kind == "hammer":
        t.slope, t.pluck = u(0.8, 2.0), u(0.1, 0.15)
        t.decay, t.fade, t.dull = u(3.0, 10.0), u(0.1, 0.8), u(1.0, 3.0)
        t.attack, t.release, t.noise_db = u(0.001, 0.006), u(0.08, 0.3), u(-45, -25)
    elif kind == "tine":
        t.slope, t.pluck = u(1.8, 3.5), 0.0
        t.decay, t.fade, t.dull = u(2.0, 6.0), u(0.02, 0.15), u(2.0, 5.0)
        t.jitter_db[4:20] += u(0, 18)  # the tine's bell partials, gone within the fade
        t.attack, t.release = u(0.001, 0.004), u(0.05, 0.25)
    elif kind == "organ":
        t.slope = 0.0
        bars = rng.integers(0, 9, len(DRAWBARS)).astype(float)
        bars[rng.random(len(DRAWBARS)) < 0.4] = 0  # many registrations leave bars in
        top = max(bars.max(), 4.0)
        if max(bars[0], bars[2]) < top - 2:  # the 16' or the 8' leads, as organists pull them
            bars[int(rng.choice([0, 2]))] = top
        t.drawbars = np.where(bars > 0, 10 ** ((bars - 8) * 3 / 20), 0.0)
        t.attack, t.release = u(0.003, 0.03), u(0.02, 0.15)
        t.vibrato_hz, t.vibrato_cents = u(0, 7), u(0, 12) * (rng.random() < 0.5)
        t.voices, t.spread_cents = int(rng.integers(1, 3)), u(0, 6)
    elif kind == "bowed":
        t.slope, t.pluck = u(0.6, 1.4), u(0.05, 0.2)  # the bow's contact point
        t.attack, t.release = u(0.03, 0.3), u(0.08, 0.4)
        t.vibrato_hz, t.vibrato_cents = u(4.5, 6.5), u(3, 25)
        t.voices, t.spread_cents = int(rng.integers(1, 4)), u(3, 15)
    elif kind == "pad":
        t.slope, t.pluck = u(0.8, 2.5), 0.0
        t.attack, t.release = u(0.08, 0.8), u(0.2, 1.0)
        t.vibrato_hz, t.vibrato_cents = u(0.2, 5), u(0, 10)
        t.voices, t.spread_cents = int(rng.integers(2, 4)), u(4, 18)
    elif kind == "mallet":
        base = MALLET_MODES[int(rng.integers(len(MALLET_MODES)))]
        t.modes = tuple(m * u(0.97, 1.03) if i else m for i, m in enumerate(base))
        t.decay, t.fade = u(0.4, 4.0), u(0.05, 0.5)
        t.attack, t.release, t.noise_db = u(0.001, 0.004), u(0.05, 0.4), u(-40, -20)
    else:
        raise ValueError(f"unknown instrument kind {kind!r}")
    return t


def _body_gain(t: Timbre, hz: np.ndarray) -> np.ndarray:
    db = np.zeros_like(hz)
    x = np.log2(np.maximum(hz, 1.0))
    for centre, width, gain in t.body:
        db += gain * np.exp(-0.5 * ((x - centre) / width) ** 2)
    return np.asarray(10 ** (db / 20))


def harmonic_amplitudes(t: Timbre, f0: float, extra_slope: float = 0.0) -> np.ndarray:
    """Amplitudes of harmonics 1..K of the table's fundamental ``f0`` (organs build
    their tables an octave down, so the sub-octave drawbar is harmonic 1)."""
    k = np.arange(1, max(2, int(TOP_HZ / f0)) + 1, dtype=np.float64)[:255]
    if t.kind == "organ":
        a = np.zeros(k.size)
        for bar, level in zip(DRAWBARS, t.drawbars, strict=True):
            h = round(bar * 2) - 1  # harmonic of f0 / 2, 0-based
            if level > 0 and h < a.size:
                a[h] += level
    else:
        a = k ** -(t.slope + extra_slope)
        if t.pluck > 0:  # a string plucked or struck at a point lacks its harmonics there
            a *= np.abs(np.sin(np.pi * k * t.pluck)) + 0.05
    a *= 10 ** (t.jitter_db[: k.size] / 20)
    a *= _body_gain(t, k * f0)
    return a


def wavetable(amplitudes: np.ndarray, phases: np.ndarray) -> np.ndarray:
    spec = np.zeros(TABLE // 2 + 1, dtype=np.complex128)
    spec[1: amplitudes.size + 1] = amplitudes * np.exp(1j * phases[: amplitudes.size])
    table = np.fft.irfft(spec, TABLE)
    rms = float(np.sqrt(np.mean(table**2))) or 1.0
    return np.append(table / rms, table[0] / rms)  # one guard sample for interpolation


class RandomTimbreSynth:
    """Renders performances with a random instrument per clip and channel; the same
    interface as ``OfflineSynth`` (``render``, ``close``), with the clip's seed and
    category, which fix the instruments."""

    def __init__(self, sample_rate: int = DEFAULT_RATE) -> None:
        self.sample_rate = sample_rate

    def render(self, perf: Performance, programs: dict[int, int], detune_cents: float = 0.0,
               *, seed: int = 0, category: str | None = None) -> np.ndarray:
        """Stereo float32 audio, shape (frames, 2), of the whole performance."""
        sr = self.sample_rate
        total = round(perf.duration * sr)
        out = np.zeros(total, dtype=np.float64)
        players: dict[int, _Player] = {}
        for ch, program in sorted(programs.items()):
            if ch == DRUM_CH:
                continue
            cat = "bass" if ch == BASS_CH else (category or category_of(program))
            rng = np.random.default_rng([seed, 7, ch])
            kinds = KIND_OF_CATEGORY[cat]
            timbre = draw_timbre(kinds[int(rng.integers(len(kinds)))], rng)
            players[ch] = _Player(timbre, sr, np.random.default_rng([seed, 8, ch]))
        for n in perf.notes:
            player = players.get(n.channel)
            if player is None:
                continue
            f0 = 440.0 * 2 ** ((n.pitch - 69 + detune_cents / 100) / 12)
            start = round(n.start * sr)
            held = max(1, round((n.end - n.start) * sr))
            voice = player.note(f0, held, (n.velocity / 127.0) ** 1.5, total - start)
            out[start:start + voice.size] += voice
        mono = out.astype(np.float32)
        return np.repeat(mono[:, None], 2, axis=1)

    def close(self) -> None:
        pass


class _Player:
    def __init__(self, timbre: Timbre, sample_rate: int, rng: np.random.Generator) -> None:
        self.t = timbre
        self.sr = sample_rate
        self.rng = rng
        self._tables: dict[tuple[int, float], np.ndarray] = {}
        self.noise = rng.standard_normal(sample_rate // 10)

    def table(self, f0: float, extra_slope: float) -> np.ndarray:
        key = (round(12 * np.log2(f0 / 440.0) * 4), extra_slope)  # quarter-semitone steps
        if key not in self._tables:
            base = f0 / 2 if self.t.kind == "organ" else f0
            self._tables[key] = wavetable(harmonic_amplitudes(self.t, base, extra_slope),
                                          self.t.phases)
        return self._tables[key]

    def note(self, f0: float, held: int, gain: float, room: int) -> np.ndarray:
        t, sr = self.t, self.sr
        sustained = t.kind in ("organ", "bowed", "pad")
        # Struck notes ring until damped; low notes ring longer.
        decay = t.decay * (110.0 / f0) ** 0.5
        length = held + int(5 * t.release * sr)
        if not sustained:  # -60 dB by then
            length = min(length, int(decay * sr) + 1)
        length = max(1, min(length, room))
        time = np.arange(length) / sr
        env = np.minimum(1.0, time / max(t.attack, 1e-4))
        if not sustained:
            env *= np.exp(-6.9 * time / decay)
        if length > held:  # the release after note-off
            env[held:] *= np.exp(-6.9 * (time[held:] - time[held - 1]) / t.release)
        if t.kind == "mallet":
            y = self._modes(f0, time, decay)
        else:
            y = np.zeros(length)
            voices = max(1, t.voices)
            for v in range(voices):
                cents = t.spread_cents * (v - (voices - 1) / 2) / max(1, voices - 1) * 2
                y += self._read(f0 * 2 ** (cents / 1200), time, v) / np.sqrt(voices)
        y *= env * gain
        if t.noise_db > -100:
            n = min(length, self.noise.size, int(0.02 * sr))
            off = int(self.rng.integers(0, self.noise.size - n + 1))
            y[:n] += self.noise[off:off + n] * np.linspace(1, 0, n) * gain * 10 ** (t.noise_db / 20)
        return y

    def _phase(self, f: float, time: np.ndarray, voice: int) -> np.ndarray:
        t = self.t
        phase = f * time
        if t.vibrato_cents > 0:  # the integral of f * (1 + depth * sin)
            depth = 2 ** (t.vibrato_cents / 1200) - 1
            w = 2 * np.pi * t.vibrato_hz
            phase = phase + f * depth * (1 - np.cos(w * time + voice)) / w
        return phase

    def _read(self, f0: float, time: np.ndarray, voice: int) -> np.ndarray:
        t = self.t
        table_f = f0 / 2 if t.kind == "organ" else f0
        pos = (self._phase(table_f, time, voice) * TABLE + voice * TABLE / 3) % TABLE
        i = pos.astype(np.int64)
        frac = pos - i
        bright = self.table(f0, 0.0)
        y = bright[i] + frac * (bright[i + 1] - bright[i])
        if t.kind in ("pluck", "hammer", "tine"):  # the upper partials die first
            dull = self.table(f0, t.dull)
            yd = dull[i] + frac * (dull[i + 1] - dull[i])
            w = np.exp(-time / t.fade)
            y = w * y + (1 - w) * yd
        return np.asarray(y)

    def _modes(self, f0: float, time: np.ndarray, decay: float) -> np.ndarray:
        t = self.t
        y = np.zeros(time.size)
        for j, ratio in enumerate(t.modes):
            f = f0 * ratio
            if f >= TOP_HZ:
                break
            amp = 10 ** (t.jitter_db[j] / 20) * (0.5 ** j) * _body_gain(t, np.array([f]))[0]
            tau = decay / (1 + 2.5 * j)  # upper modes die sooner
            y += amp * np.sin(2 * np.pi * f * time + t.phases[j]) * np.exp(-6.9 * time / tau)
        return y
