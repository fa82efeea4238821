"""Which chord-set timbres are, sample for sample, the same sound in two SoundFonts.

`python -m benchmarks.chords_shared_samples` renders single notes of every program the
validation and test sets play (the held-out programs, bass included;
models/chords/DATA.md) through
their SoundFonts, and through every training SoundFont for every program training
plays, and compares the notes' magnitude spectra (Pearson correlation; one note per
pitch in ``PITCHES``, the lowest correlation of them counts). Two renders of one
sample correlate at 0.99 or more; different instruments of one kind (two nylon
guitars) usually at 0.6 to 0.95.

It answers two questions the split rests on:

- `test_vs_training`: does any sound the training sets play equal a test program's
  (then the test set would not measure unseen timbres)? Each test program's best
  match over every training SoundFont and program.
- `valid_vs_test`: which held-out programs sound the same in the validation family
  (the Csound GM bank) and the test family (TimGM6mb)? Where they do, the choices made
  on validation (checkpoint, decoder settings) were made on the test set's sounds.

Prints one line per program and a JSON object last. Needs the SoundFonts of DATA.md
(installer/setup-system.sh and the Debian packages it names).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from models.chords.performance import Note, Performance
from models.chords.soundfonts import FAMILY_SPLIT, PROGRAMS, SOUNDFONTS, SoundFont, soundfonts_for
from models.chords.synth_offline import OfflineSynth

PITCHES = (45, 57, 64, 72)  # A2 to C5: the range the chord voicings use
SAME = 0.99  # renders of one sample correlate above this (a 1-second note, velocity 90)
RATE = 22050


def note_spectrum(synth: OfflineSynth, program: int, pitch: int) -> np.ndarray:
    """Magnitude spectrum of one 1-second note (the attack and most of its sustain)."""
    perf = Performance([Note(0.0, 1.0, pitch, 90, 0)], [], 1.2)
    audio = synth.render(perf, {0: program}).mean(axis=1)
    return np.abs(np.fft.rfft(audio))


def similarity(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The lowest spectral correlation over the pitches (1.0: the same sound)."""
    out = 1.0
    for x, y in zip(a, b, strict=True):
        if x.std() == 0 or y.std() == 0:  # a silent program matches nothing
            return 0.0
        out = min(out, float(np.corrcoef(x, y)[0, 1]))
    return out


def _heldout_programs() -> list[int]:
    return sorted({p for pools in PROGRAMS.values() for p in pools["heldout"]})


def _training_programs() -> list[int]:
    return sorted({p for pools in PROGRAMS.values() for p in pools["train"] + pools["wide"]})


def _only(split: str) -> SoundFont:
    found = soundfonts_for(split)
    if len(found) != 1:
        raise SystemExit(f"expected one {split} SoundFont, found {len(found)}")
    return found[0]


def spectra(sf: SoundFont, programs: list[int]) -> dict[int, list[np.ndarray]]:
    synth = OfflineSynth(Path(sf.path), RATE)
    try:
        return {p: [note_spectrum(synth, p, n) for n in PITCHES] for p in programs}
    finally:
        synth.close()


def run() -> dict[str, Any]:
    held = _heldout_programs()
    valid_sf, test_sf = _only("valid"), _only("test")
    test = spectra(test_sf, held)
    valid = spectra(valid_sf, held)
    train = {sf.name: spectra(sf, _training_programs())
             for sf in SOUNDFONTS if FAMILY_SPLIT[sf.family] == "train"
             and sf.engine == "fluidsynth" and sf.installed}
    out: dict[str, Any] = {"pitches": list(PITCHES), "same_above": SAME,
                           "test": test_sf.name, "valid": valid_sf.name,
                           "training": sorted(train), "valid_vs_test": {},
                           "test_vs_training": {}}
    for p in held:
        vt = similarity(valid[p], test[p])
        best = max(((similarity(notes, test[p]), name, q)
                    for name, progs in train.items() for q, notes in progs.items()),
                   default=(0.0, "", -1))
        out["valid_vs_test"][str(p)] = round(vt, 3)
        out["test_vs_training"][str(p)] = {"similarity": round(best[0], 3),
                                           "soundfont": best[1], "program": best[2]}
        print(f"program {p:3d}: valid vs test {vt:.3f}{' (same)' if vt >= SAME else ''}; "
              f"closest training sound {best[1]} program {best[2]} {best[0]:.3f}")
    out["shared_valid_test"] = [int(p) for p, v in out["valid_vs_test"].items() if v >= SAME]
    out["shared_test_training"] = [int(p) for p, v in out["test_vs_training"].items()
                                   if v["similarity"] >= SAME]
    return out


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m benchmarks.chords_shared_samples",
                            description=__doc__.splitlines()[0]).parse_args(argv)
    print(json.dumps(run()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
