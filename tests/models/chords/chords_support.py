"""Helpers for the chord data tests: tiny renders with the CI SoundFont (FluidR3_GM)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from models.chords.soundfonts import SOUNDFONTS_BY_NAME
from models.chords.synth_offline import OfflineSynth

RATE = 22050
CI_SOUNDFONT = "FluidR3_GM"  # fluid-soundfont-gm: installed by installer/setup-system.sh


@cache
def synth() -> OfflineSynth:
    return OfflineSynth(Path(SOUNDFONTS_BY_NAME[CI_SOUNDFONT].path), RATE)


def read_lab(path: Path) -> list[tuple[float, float, str]]:
    rows = []
    for line in path.read_text().splitlines():
        a, b, label = line.split("\t")
        rows.append((float(a), float(b), label))
    return rows
