"""Helpers for the chord export and session tests: a tiny randomly initialised model
saved in train.py's checkpoint format, its ONNX graphs, and a two-clip labelled set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from models.chords import export
from models.chords import model as chords_model
from models.chords.session import LIVE_FILE, OFFLINE_FILE

RATE = 22050


def tiny_checkpoint(path: Path, seed: int = 0, live_lookahead: int = 1,
                    stacked_harmonics: tuple[float, ...] = (),
                    contrast_bins: int = 0) -> chords_model.ChordCRNN:
    """A ModelConfig.tiny() model with random weights (and non-trivial batch-norm
    statistics), saved as train.py saves one."""
    import dataclasses

    torch.manual_seed(seed)
    cfg = dataclasses.replace(chords_model.ModelConfig.tiny(), live_lookahead=live_lookahead,
                              stacked_harmonics=stacked_harmonics,
                              contrast_bins=contrast_bins)
    model = chords_model.ChordCRNN(cfg)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    torch.save({"format": chords_model.CHECKPOINT_FORMAT, "config": chords_model.config_dict(cfg),
                "model": model.state_dict(), "smoke": True}, path)
    return model


def export_graphs(model: chords_model.ChordCRNN, out: Path, int8: bool) -> tuple[Path, Path]:
    """chords.onnx and chords_live.onnx of ``model`` in ``out`` (fp32, or dynamic int8),
    with their metadata, as the exporter writes them (no chords.json)."""
    out.mkdir(parents=True, exist_ok=True)
    off, live = out / OFFLINE_FILE, out / LIVE_FILE
    export.export_offline(model, off)
    export.export_live(model, live)
    if int8:
        export.quantize(off, off, export.QUANT_OPS["int8"])
        export.quantize(live, live, export.QUANT_OPS["int8"])
    meta = export.base_meta(export.Loaded(model, chords_model.config_dict(model.cfg), {}, True),
                            "chords-crnn-test-" + ("int8" if int8 else "fp32"))
    export.write_metadata(off, meta)
    export.write_metadata(live, meta)
    return off, live


def chord_clip(pcs_per_segment: list[tuple[int, ...]], seconds: float) -> np.ndarray:
    """Sine tones (three octaves of each pitch class) held for ``seconds`` per chord."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    parts = []
    for pcs in pcs_per_segment:
        x = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((48 + 12 * o + pc - 69) / 12) * t)
                for pc in pcs for o in range(3))
        parts.append(0.1 * np.asarray(x))
    return np.concatenate(parts).astype(np.float32)


def labelled_set(root: Path) -> Path:
    """Two clips (audio/ID.flac, labels/ID.lab) of held chords, 1.5 s each."""
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    clips: dict[str, list[tuple[tuple[int, ...], str]]] = {
        "clip-0": [((0, 4, 7), "C:maj"), ((9, 0, 4), "A:min")],
        "clip-1": [((7, 11, 2, 5), "G:7"), ((5, 9, 0), "F:maj")]}
    for cid, chords in clips.items():
        audio = chord_clip([pcs for pcs, _ in chords], 1.5)
        sf.write(root / "audio" / f"{cid}.flac", audio, RATE)
        rows = [f"{i * 1.5:.3f}\t{(i + 1) * 1.5:.3f}\t{label}"
                for i, (_, label) in enumerate(chords)]
        (root / "labels" / f"{cid}.lab").write_text("\n".join(rows) + "\n")
    return root
