"""Render manifest clips to audio and MIREX .lab labels, deterministically."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from models.chords import augment
from models.chords.manifest import programs_of, progression_of, style_of
from models.chords.melody import LEAD_CH, MELODY_STREAM, lead_line
from models.chords.performance import Performance, perform
from models.chords.soundfonts import SOUNDFONTS_BY_NAME, TONEJS_INSTRUMENTS
from models.chords.synth_offline import OfflineSynth
from models.chords.synth_random import RandomTimbreSynth
from models.chords.synth_sampler import SampleSynth
from models.chords.synth_timidity import TimiditySynth
from models.chords.synth_voice import Voice, VoiceSynth, mix

Synth = OfflineSynth | TimiditySynth | SampleSynth | RandomTimbreSynth


class SynthPool:
    """One OfflineSynth per SoundFont, loaded on first use (sf3 files take seconds);
    ``fresh``: a new synth for every clip, for bit-exact evaluation sets."""

    def __init__(self, sample_rate: int, fresh: bool = False) -> None:
        self.sample_rate = sample_rate
        self.fresh = fresh
        self._synths: dict[str, Synth] = {}
        self._voice: VoiceSynth | None = None

    def voice(self) -> VoiceSynth:
        if self._voice is None:
            self._voice = VoiceSynth(self.sample_rate)
        return self._voice

    def get(self, name: str) -> Synth:
        if self.fresh and name in self._synths:
            self._synths.pop(name).close()
        if name not in self._synths:
            sf = SOUNDFONTS_BY_NAME[name]
            path = Path(sf.path)
            self._synths[name] = (
                RandomTimbreSynth(self.sample_rate) if sf.engine == "random"
                else TimiditySynth(path, self.sample_rate) if sf.engine == "timidity"
                else SampleSynth(path, TONEJS_INSTRUMENTS, self.sample_rate)
                if sf.engine == "sampler" else OfflineSynth(path, self.sample_rate))
        return self._synths[name]

    def close(self) -> None:
        for s in self._synths.values():
            s.close()
        self._synths.clear()


def performance_of(entry: dict[str, Any]) -> Performance:
    """The clip's notes and labels; a clip whose programs name the lead channel has a
    melody on top (melody.py), drawn from a stream of its own."""
    rng = np.random.default_rng([int(entry["seed"]), 2])
    prog, style = progression_of(entry), style_of(entry)
    perf = perform(prog, style, rng)
    if str(LEAD_CH) in entry["programs"]:
        lead_rng = np.random.default_rng([int(entry["seed"]), MELODY_STREAM])
        perf.notes.extend(lead_line(prog, style, lead_rng))
        perf.notes.sort(key=lambda n: (n.start, n.channel, n.pitch))
    return perf


def render_clip(entry: dict[str, Any], pool: SynthPool, with_augment: bool = True
                ) -> tuple[np.ndarray, Performance]:
    """Mono float32 audio at the manifest's rate, and the performance (labels, notes)."""
    perf = performance_of(entry)
    aug = entry["augment"]
    synth = pool.get(entry["soundfont"])
    detune = aug.get("detune_cents", 0.0) if with_augment else 0.0
    if isinstance(synth, RandomTimbreSynth):  # the clip's seed and category pick its instruments
        stereo = synth.render(perf, programs_of(entry), detune, seed=int(entry["seed"]),
                              category=str(entry["category"]))
    else:
        stereo = synth.render(perf, programs_of(entry), detune)
    if "voice" in entry:  # the tune sung over the band, before the room and the mic
        stereo = mix(stereo, _sung(entry, pool, perf.duration, detune), entry["voice"]["level_db"])
    if with_augment:
        mono = augment.apply(stereo, pool.sample_rate, aug, int(entry["seed"]))
    else:
        mono = stereo.mean(axis=1)
    return mono, perf


def _sung(entry: dict[str, Any], pool: SynthPool, seconds: float, detune_cents: float
          ) -> np.ndarray:
    """The clip's tune (melody.py, the lead's own stream) sung by its voice, detuned
    with the band."""
    prog, style = progression_of(entry), style_of(entry)
    notes = lead_line(prog, style, np.random.default_rng([int(entry["seed"]), MELODY_STREAM]))
    return pool.voice().render(notes, Voice.from_json(entry["voice"]), seconds,
                               int(entry["seed"]), detune_cents)


def write_clip(entry: dict[str, Any], audio: np.ndarray, perf: Performance, out: Path,
               sample_rate: int) -> dict[str, Any]:
    import soundfile as sf

    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    audio_path = out / "audio" / f"{entry['id']}.flac"
    tmp = audio_path.with_suffix(".tmp.flac")
    sf.write(tmp, audio, sample_rate, subtype="PCM_16")
    tmp.replace(audio_path)
    (out / "labels" / f"{entry['id']}.lab").write_text(perf.lab())
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
    return {"seconds": round(audio.shape[0] / sample_rate, 3),
            "bytes": audio_path.stat().st_size,
            "sha256_pcm16": hashlib.sha256(pcm.tobytes()).hexdigest()}
