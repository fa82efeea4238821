"""A chroma-template chord recognizer: the benchmark's baseline (our own, simple code).

librosa chroma (`chroma_stft`, or `chroma_cqt`) -> cosine similarity with a binary
pitch-class template per chord of the chosen qualities (N only where the audio is quiet) ->
per-frame probabilities (softmax) -> Viterbi with a self-loop transition matrix
(librosa.sequence), so that a chord must hold for a while before the path changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from models.chords.vocabulary import NO_CHORD, QUALITY_TONES, SHARP_NAMES

Segments = list[tuple[float, float, str]]
MAJMIN7 = ("maj", "min", "7")
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class TemplateRecognizer:
    qualities: tuple[str, ...] = MAJMIN7
    chroma: str = "cqt"         # "cqt" or "stft" (stft: 0.1 to 0.25 lower majmin here)
    hop: int = 2048             # 93 ms at 22,050 Hz
    n_fft: int = 8192
    self_loop: float = 0.95     # per-frame probability of holding the chord
    sharpness: float = 20.0     # softmax temperature over cosine similarities
    silence_db: float = -50.0   # frames this far below the clip's peak RMS are N

    def labels(self) -> list[str]:
        return [f"{SHARP_NAMES[r]}:{q}" for q in self.qualities for r in range(12)] + [NO_CHORD]

    def templates(self) -> np.ndarray:
        rows = []
        for q in self.qualities:
            for r in range(12):
                t = np.zeros(12)
                for semis, _degree in QUALITY_TONES[q]:
                    t[(r + semis) % 12] = 1.0
                rows.append(t)
        m = np.array(rows)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    def chromagram(self, y: np.ndarray, sr: int) -> np.ndarray:
        if self.chroma == "cqt":
            return librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=self.hop)
        return librosa.feature.chroma_stft(y=y, sr=sr, n_fft=self.n_fft, hop_length=self.hop)

    def __call__(self, audio: np.ndarray, sr: int) -> Segments:
        y = audio.mean(axis=1) if audio.ndim == 2 else audio
        y = np.asarray(y, dtype=np.float32)
        if sr != SAMPLE_RATE:
            import soxr

            y = soxr.resample(y, sr, SAMPLE_RATE)
            sr = SAMPLE_RATE
        duration = len(y) / sr
        if len(y) < self.n_fft:
            return [(0.0, duration, NO_CHORD)] if duration > 0 else []
        chroma = self.chromagram(y, sr)                          # [12, T]
        norm = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
        # N only where the audio is quiet: a flat-chroma N template wins over drums
        # and noisy mixes (tried: it turned whole strummed clips into N).
        sim = np.vstack([self.templates() @ norm, np.full((1, norm.shape[1]), -1.0)])
        prob = np.exp(self.sharpness * (sim - sim.max(axis=0, keepdims=True)))
        rms = librosa.feature.rms(y=y, frame_length=self.n_fft, hop_length=self.hop)[0]
        rms = rms[: prob.shape[1]]
        quiet = 20 * np.log10(np.maximum(rms, 1e-10) / max(float(rms.max()), 1e-10))
        prob[:, quiet[: prob.shape[1]] < self.silence_db] = 1e-6
        prob[-1, quiet[: prob.shape[1]] < self.silence_db] = 1.0
        prob /= prob.sum(axis=0, keepdims=True)
        k = prob.shape[0]
        path = librosa.sequence.viterbi(prob, librosa.sequence.transition_loop(k, self.self_loop))
        names = self.labels()
        # Frame i is centred at i * hop (librosa's centred frames).
        bounds = np.flatnonzero(np.diff(path)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(path)]])
        out: Segments = []
        for s, e in zip(starts, ends, strict=True):
            t0 = 0.0 if s == 0 else (s - 0.5) * self.hop / sr
            t1 = duration if e == len(path) else (e - 0.5) * self.hop / sr
            out.append((t0, min(t1, duration), names[int(path[s])]))
        return [seg for seg in out if seg[1] > seg[0]]
