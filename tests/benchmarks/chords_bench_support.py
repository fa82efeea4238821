"""A short rendered clip for the chord benchmark's tests (FluidR3_GM, as CI installs it)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from models.chords.performance import PlayStyle, perform
from models.chords.progressions import from_template
from models.chords.soundfonts import SOUNDFONTS_BY_NAME
from models.chords.synth_offline import OfflineSynth

RATE = 22050
Segments = list[tuple[float, float, str]]


@cache
def rendered_clip(template: str = "pop/axis", tonic: int = 0, program: int = 0
                  ) -> tuple[np.ndarray, Segments]:
    """About 10 s of a progression played on a piano (mono float32 at RATE) and its labels."""
    synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), RATE)
    style = PlayStyle(texture="block", tempo=100.0, lead_in=0.5, tail=1.0, humanize_ms=0)
    perf = perform(from_template(template, tonic, repeats=1), style, np.random.default_rng(0))
    audio = synth.render(perf, {0: program}).mean(axis=1).astype(np.float32)
    audio.setflags(write=False)
    return audio, [(s.start, s.end, s.label) for s in perf.segments]


def write_clip(folder: Path, name: str = "clip") -> tuple[Path, Path]:
    """The rendered clip as FLAC plus its reference .lab in `folder`."""
    audio, segments = rendered_clip()
    flac, lab = folder / f"{name}.flac", folder / f"{name}.lab"
    sf.write(flac, audio, RATE, subtype="PCM_16")
    lab.write_text("".join(f"{a:.6f}\t{b:.6f}\t{c}\n" for a, b, c in segments))
    return flac, lab
