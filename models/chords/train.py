"""Train the chord CRNN (model.py) on rendered clips (DATA.md) within a time budget.

    python -m models.chords.train --out build/chords-run --minutes 70 --threads 1
    python -m models.chords.train --out build/chords-run --minutes 70 --resume
    python -m models.chords.train --out build/chords-run --steps 10000   # any machine
    python -m models.chords.train --smoke --out build/chords-smoke   # ~2 min, CI

Features are computed once per set into ``--cache`` (fp16 memmap over a pitch range
six semitones wider below and four above the model's, so a transposition shifts real
spectrum into view instead of zeros) with frame labels (chord index, bass pitch class)
from the .lab files. Training: random crops, 12-fold transposition (a shift of 3 bins
per semitone, labels transposed), a random gain, losses CTC (offline branch, target
the crop's merged chord sequence) + frame cross-entropy (offline and live branches) +
bass cross-entropy; AdamW, warm-up and cosine over the time budget, gradient clipping.
Validation scores frame-argmax segments with mir_eval (WCSR root, majmin, sevenths) on
each ``--valid`` set: by default ``valid`` (Csound GM bank) and ``valid_freepats``
(FreePats through TiMidity++), two families that share no samples with training or
with each other. best.pt keeps the best mean, over the sets, of majmin and sevenths.
The test sets (unseen_timbre, music21) are never read here.

``--live-only --init CKPT`` fine-tunes the causal live branch alone (trunk and offline
branch frozen; without ``--init``, a new model's live branch from scratch).
``--offline-only`` trains everything but the live branch, which it leaves as it is and
does not compute: with a live branch on a causal trunk of its own (``--live-lookahead
0``) the two branches share no weight, so two processes (one core each) train them at
once and ``merge.py`` puts them together, in less time than a joint run.
``--onset-weight W`` weighs the live frames in the first ``--onset-frames`` after each
chord change W times, so that the live display learns to name a new chord sooner
(MODEL.md, live latency). ``--crop-coverage frames`` lets
crops reach a clip's first and last seconds as often as its middle (``Sampler``).
``--notes-weight W`` adds a training-only head on the trunk that names the pitch
classes sounding in each frame (``note_targets``: rebuilt from each training set's
manifest), its binary cross-entropy weighted W; it is saved beside the model in the
checkpoint and never exported.

``--device`` trains on a GPU when torch sees one (default) or on the CPU; ``--bf16``
computes the forward pass in bfloat16 (autocast; weights, optimiser, losses and
validation in float32), 1.5 times faster per step on this machine's CPU (MODEL.md).

Checkpoints (``last.pt``, ``best.pt``) are written atomically; SIGINT/SIGTERM end the
run with a checkpoint; ``--resume`` continues from ``last.pt`` with the rest of the
budget. ``--steps N`` budgets steps instead of minutes: the schedule and validation
follow steps, so a seed gives the same run on any machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.chords import features as feat
from models.chords.note_targets import NoteTargetError, bits_to_matrix, set_bits
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, NUM_QUALITIES, parse

# The cached range: MIDI 22..112 (5.3 kHz, under the 5.5 kHz Nyquist frequency).
CACHE_LOW_MIDI = feat.LOWEST_MIDI - 6
CACHE_HIGH_MIDI = feat.HIGHEST_MIDI + 4
CACHE_BINS = feat.BINS_PER_SEMITONE * (CACHE_HIGH_MIDI - CACHE_LOW_MIDI + 1)  # 273
CACHE_OFFSET = feat.BINS_PER_SEMITONE * (feat.LOWEST_MIDI - CACHE_LOW_MIDI)  # 18
SHIFTS = tuple(range(-6, 6))  # transpositions, semitones (12 keys)
BASS_N = 12
IGNORE = -100
CROP_COVERAGE = ("start", "frames")
ENVELOPE_TERMS = 12  # cosines in Sampler.envelope: the shortest period is 1.1 octaves
# Sampler.harmonic_copies: the spectrum shifted up by the 2nd, 3rd and 4th harmonics'
# intervals (12, 19 and 24 semitones; the twelfth 2 cents narrow of 3:1, under a third
# of a bin), and each copy's largest gain relative to --harmonics.
HARMONIC_SHIFTS = (12, 19, 24)
HARMONIC_WEIGHTS = (1.0, 0.7, 0.5)
WARP_TERMS = 4  # cosines in Sampler.warp_curve: the shortest period 3.4 octaves
MASKS = 2  # bands of bins Sampler.frequency_masks silences per crop
CACHE_VERSION = 2  # 2: FIR decimation for the bass window (features differ by <0.002)
DEFAULT_VALID = ("build/chords/valid", "build/chords/valid_freepats")
# Test sets: never for training or selection.
FORBIDDEN_SETS = ("unseen_timbre", "music21", "unseen_melody", "unseen_voice")


class TrainError(RuntimeError):
    """A problem the user can fix (missing data, a bad checkpoint)."""


# ---------------------------------------------------------------------------------
# Labels


def read_lab(path: Path) -> list[tuple[float, float, str]]:
    rows = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) < 3:
            raise TrainError(f"{path}:{n}: expected 'start end label'")
        rows.append((float(parts[0]), float(parts[1]), parts[2]))
    return rows


def frame_labels(rows: list[tuple[float, float, str]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Chord index (int16) and bass pitch class (int8, 12 = N) of frames 0..n-1: the
    segment holding each frame's centre (N outside every segment)."""
    chord = np.full(n, N_INDEX, np.int16)
    bass = np.full(n, BASS_N, np.int8)
    t = np.asarray(feat.frame_time(np.arange(n)), dtype=np.float64)
    for start, end, label in rows:
        c = parse(label)
        sel = (t >= start) & (t < end)
        chord[sel] = c.index
        bass[sel] = c.bass_pc if not c.is_no_chord else BASS_N
    return chord, bass


def transpose_tables() -> tuple[np.ndarray, np.ndarray]:
    """[12, 157] chord and [12, 13] bass maps for a shift of s semitones (row s % 12)."""
    chord = np.zeros((12, NUM_CLASSES), np.int64)
    bass = np.zeros((12, BASS_N + 1), np.int64)
    for s in range(12):
        for i in range(NUM_CLASSES):
            chord[s, i] = i if i == N_INDEX else (
                ((i // NUM_QUALITIES + s) % 12) * NUM_QUALITIES + i % NUM_QUALITIES)
        bass[s, :12] = (np.arange(12) + s) % 12
        bass[s, 12] = BASS_N
    return chord, bass


def merged(seq: np.ndarray) -> np.ndarray:
    """The sequence with consecutive repeats merged (a CTC target)."""
    if seq.size == 0:
        return seq
    keep = np.ones(seq.size, bool)
    keep[1:] = seq[1:] != seq[:-1]
    return seq[keep]


def segments_from_frames(chord: np.ndarray, bass: np.ndarray, duration: float
                         ) -> tuple[np.ndarray, list[str]]:
    """Intervals [n, 2] and Harte labels of frame-wise predictions: runs of one chord
    index, the run's most frequent bass written as an inversion when it is a chord tone
    other than the root."""
    from models.chords.vocabulary import from_index

    n = chord.size
    if n == 0:
        return np.array([[0.0, max(duration, 1e-3)]]), ["N"]
    change = np.flatnonzero(chord[1:] != chord[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    half = 0.5 / feat.FPS
    intervals, labels = [], []
    for a, b in zip(starts, ends, strict=True):
        t0 = 0.0 if a == 0 else float(feat.frame_time(int(a))) - half
        t1 = max(duration, t0 + 1e-3) if b == n else float(feat.frame_time(int(b))) - half
        idx = int(chord[a])
        c = from_index(idx)
        if not c.is_no_chord:
            counts = np.bincount(bass[a:b], minlength=BASS_N + 1)
            pc = int(counts.argmax())
            if pc < 12 and pc != c.root and pc in c.pitch_classes:
                c = from_index(idx, (pc - c.root) % 12)
        intervals.append((t0, t1))
        labels.append(c.label())
    return np.array(intervals), labels


# ---------------------------------------------------------------------------------
# Feature cache


@dataclass
class CachedSet:
    name: str
    feats: np.ndarray  # memmap float16 [N, CACHE_BINS]
    chord: np.ndarray  # int16 [N]
    bass: np.ndarray  # int8 [N]
    offsets: np.ndarray  # int64 [clips + 1]
    ids: list[str]
    durations: np.ndarray  # seconds per clip
    labs: list[str]  # .lab paths (for mir_eval)
    notes: np.ndarray | None = None  # uint16 [N] sounding pitch classes (note_targets)

    def __len__(self) -> int:
        return len(self.ids)

    def clip(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.feats[a:b], self.chord[a:b], self.bass[a:b]


def _clip_ids(set_dir: Path) -> list[str]:
    audio = set_dir / "audio"
    if not audio.is_dir():
        raise TrainError(f"{set_dir} has no audio/ folder (render it: DATA.md)")
    ids = sorted(p.name[:-5] for p in audio.glob("*.flac") if not p.name.endswith(".tmp.flac")
                 and (set_dir / "labels" / f"{p.name[:-5]}.lab").exists())
    if not ids:
        raise TrainError(f"{set_dir} holds no rendered clips")
    return ids


def build_cache(set_dir: Path, cache_dir: Path, name: str | None = None,
                progress: bool = True) -> CachedSet:
    """The set's cached features and labels, computed now if the cache is missing or
    holds other clips."""
    import soundfile as sf

    set_dir = Path(set_dir)
    name = name or set_dir.name
    if name in FORBIDDEN_SETS or set_dir.name in FORBIDDEN_SETS:
        raise TrainError(f"{set_dir} is a test set: it is never used for training or "
                         "model selection")
    ids = _clip_ids(set_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    f16 = cache_dir / f"{name}.f16"
    index = cache_dir / f"{name}.npz"
    labs = [str(set_dir / "labels" / f"{i}.lab") for i in ids]
    if index.exists() and f16.exists():
        z = np.load(index, allow_pickle=False)
        if (int(z["version"]) == CACHE_VERSION and list(z["ids"]) == ids
                and str(z["set_dir"]) == str(set_dir.resolve())):
            offsets = z["offsets"]
            feats = np.memmap(f16, np.float16, "r", shape=(int(offsets[-1]), CACHE_BINS))
            return CachedSet(name, feats, z["chord"], z["bass"], offsets, ids,
                             z["durations"], labs)
    t0 = time.time()
    # Temporary names of this build's own: two runs started together on a new set
    # each build the cache, and the last rename wins with the same bytes.
    fd, tmp_name = tempfile.mkstemp(prefix=f"{name}.", suffix=".f16.tmp", dir=cache_dir)
    tmp = Path(tmp_name)
    offsets = [0]
    chords, basses, durations = [], [], []
    try:
        with os.fdopen(fd, "wb") as fh:
            for k, cid in enumerate(ids):
                audio, sr = sf.read(set_dir / "audio" / f"{cid}.flac", dtype="float32",
                                    always_2d=False)
                x = feat.features_range(audio, sr, CACHE_LOW_MIDI, CACHE_HIGH_MIDI)
                c, b = frame_labels(read_lab(set_dir / "labels" / f"{cid}.lab"), x.shape[0])
                fh.write(x.astype(np.float16).tobytes())
                offsets.append(offsets[-1] + x.shape[0])
                chords.append(c)
                basses.append(b)
                durations.append(len(audio) / sr)
                if progress and (k + 1) % 100 == 0:
                    print(f"features {name}: {k + 1}/{len(ids)} clips, "
                          f"{time.time() - t0:.0f} s", flush=True)
    except BaseException:  # a damaged file or an interrupt: leave no stray file
        tmp.unlink(missing_ok=True)
        raise
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is not
    tmp.replace(f16)
    tmp_index = tmp.with_name(tmp.name.replace(".f16.tmp", ".tmp.npz"))
    np.savez(tmp_index, version=CACHE_VERSION, ids=np.array(ids),
             set_dir=str(set_dir.resolve()), offsets=np.array(offsets, np.int64),
             chord=np.concatenate(chords), bass=np.concatenate(basses),
             durations=np.array(durations))
    tmp_index.replace(index)
    if progress:
        print(f"features {name}: {len(ids)} clips, {offsets[-1]} frames, "
              f"{sum(durations) / 3600:.2f} h of audio in {time.time() - t0:.0f} s",
              flush=True)
    return build_cache(set_dir, cache_dir, name, progress=False)


# ---------------------------------------------------------------------------------
# Batches


class Sampler:
    """Random crops from one or more cached sets, weighted by length, transposed and
    gain-shifted."""

    def __init__(self, sets: list[CachedSet], crop_frames: int, batch: int,
                 rng: np.random.Generator, augment: bool = True,
                 coverage: str = "start", envelope_db: float = 0.0,
                 harmonics: float = 0.0, warp: float = 0.0, mask_bins: int = 0,
                 shares: dict[str, float] | None = None) -> None:
        if coverage not in CROP_COVERAGE:
            raise TrainError(f"crop coverage must be one of {CROP_COVERAGE}")
        if envelope_db < 0:
            raise TrainError("the spectral envelope's strength is in dB, >= 0")
        if harmonics < 0:
            raise TrainError("the harmonic copies' strength is a gain, >= 0")
        if warp < 0 or mask_bins < 0:
            raise TrainError("the frequency warp and the masks' width are in bins, >= 0")
        self.coverage, self.envelope_db, self.harmonics = coverage, envelope_db, harmonics
        self.warp, self.mask_bins = warp, mask_bins
        self.clips = [(s, i) for s in sets for i in range(len(s))]
        lengths = np.array([s.offsets[i + 1] - s.offsets[i] for s, i in self.clips], float)
        self.p = self.crop_probabilities(sets, lengths, shares or {})
        self.crop, self.batch, self.rng, self.augment = crop_frames, batch, rng, augment
        self.tchord, self.tbass = transpose_tables()
        # Note targets only when every set has them (a crop without would be unlabelled).
        self.with_notes = all(s.notes is not None for s in sets)

    @staticmethod
    def crop_probabilities(sets: list[CachedSet], lengths: np.ndarray,
                           shares: dict[str, float]) -> np.ndarray:
        """Each clip's chance of giving a crop: by length within its set; a set named
        in ``shares`` gets that fraction of all crops, the other sets the rest by their
        lengths (so a small family can be heard more, or a large one less, than its
        hours alone would make it)."""
        names = [s.name for s in sets]
        unknown = sorted(set(shares) - set(names))
        if unknown:
            raise TrainError(f"--share names {unknown[0]}, which is not a training set "
                             f"({', '.join(names)})")
        if any(not 0.0 < f < 1.0 for f in shares.values()):
            raise TrainError("a set's share of the crops is a fraction between 0 and 1")
        fixed = sum(shares.values())
        if fixed >= 1.0 or (fixed > 0 and len(shares) == len(names)):
            raise TrainError("the shares must leave part of the crops to the other sets")
        owner = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
        p = np.empty_like(lengths)
        rest = ~np.isin(owner, [names.index(n) for n in shares])
        p[rest] = lengths[rest] / lengths[rest].sum() * (1.0 - fixed)
        for name, f in shares.items():
            mine = owner == names.index(name)
            p[mine] = lengths[mine] / lengths[mine].sum() * f
        return p / p.sum()

    def crop_start(self, n: int) -> int:
        """First frame of a crop of a clip of ``n`` frames. "start": uniform over the
        starts that fit, which leaves a clip's first and last seconds in few crops (the
        last frame only in the crop that ends there: the closing no-chord while the
        release rings was about 1 crop in 20). "frames": the start drawn so that a
        crop may overhang either end, then moved inside: the edge frames are seen as
        often as the middle ones (the frames a crop's length from an edge twice as
        often)."""
        last = max(0, n - self.crop)
        if self.coverage == "start":
            return int(self.rng.integers(0, last + 1))
        return int(np.clip(self.rng.integers(-self.crop + 1, n), 0, last))

    def envelope(self) -> np.ndarray:
        """A random smooth spectral envelope in dB over the model's bins (after the
        transposition, so it stays on absolute frequency, like an EQ or an instrument's
        body): cosines over log frequency, the k-th with a period of 13.5 / k octaves (the
        first a tilt over the 6.75 octaves) and at most ``envelope_db / sqrt(k)``; about
        0.7 ``envelope_db`` standard deviation at a bin. A timbre is largely the balance
        of its harmonics, and a rendered clip keeps one instrument and one EQ
        throughout; this gives every crop another balance."""
        return self.envelope_db * self.smooth_curve(ENVELOPE_TERMS)

    def smooth_curve(self, terms: int) -> np.ndarray:
        """A random sum over the model's bins of ``terms`` cosines over log frequency,
        the k-th with a period of 13.5 / k octaves, a random phase and an amplitude
        drawn up to 1/sqrt(k) (what ``envelope`` and ``warp_curve`` scale)."""
        k = np.arange(1, terms + 1, dtype=np.float64)[:, None]
        a = self.rng.uniform(-1, 1, terms)[:, None] / np.sqrt(k)
        phase = self.rng.uniform(0, np.pi, terms)[:, None]
        u = np.linspace(0.0, 1.0, feat.N_BINS)[None, :]  # the bins, bottom to top
        return (a * np.cos(np.pi * k * u + phase)).sum(axis=0)

    def harmonic_copies(self, m: np.ndarray) -> np.ndarray:
        """``m`` (linear magnitudes [T, bins]) plus copies of itself shifted up by the
        intervals of the 2nd, 3rd and 4th harmonics, each at a random gain up to
        ``harmonics`` x its weight. A shifted copy of a harmonic sound lands only on
        that sound's own harmonics (f -> 2f: 2f, 4f, 6f...), so this is another balance
        of partials, as a brighter organ stop or a nasal reed has. Measured worse
        (MODEL.md): the twelfth above a triad's third or fifth is its major seventh or
        ninth, so louder copies put into a crop tones that other labels name."""
        out = m.copy()
        for semis, w in zip(HARMONIC_SHIFTS, HARMONIC_WEIGHTS, strict=True):
            k = semis * feat.BINS_PER_SEMITONE
            out[:, k:] += self.rng.uniform(0.0, self.harmonics * w) * m[:, :-k]
        return out

    def warp_curve(self) -> np.ndarray:
        """A random smooth displacement in bins over the model's bins: ``smooth_curve``
        with 4 terms (the shortest period 3.4 octaves), scaled so that it can reach
        ``warp`` at most. Each register is detuned on its own and the partials of one
        note are stretched or squeezed, as in instruments not quite in tune with
        themselves, strings whose partials run sharp, or samples tuned by ear; the
        render's detune moves the whole clip by one amount. At 1 bin it measured no
        better than without (MODEL.md)."""
        bound = float((1 / np.sqrt(np.arange(1, WARP_TERMS + 1))).sum())
        return self.smooth_curve(WARP_TERMS) * self.warp / bound

    def frequency_warp(self, m: np.ndarray) -> np.ndarray:
        """``m`` (linear magnitudes [T, bins]) with bin k showing what it had at k - d(k)
        (``warp_curve``), interpolated linearly, so a partial's energy stays whole."""
        src = np.clip(np.arange(feat.N_BINS) - self.warp_curve(), 0, feat.N_BINS - 1)
        i0 = np.minimum(src.astype(np.int64), feat.N_BINS - 2)
        w = (src - i0).astype(m.dtype)
        return m[:, i0] * (1 - w) + m[:, i0 + 1] * w

    def frequency_masks(self, m: np.ndarray) -> np.ndarray:
        """``m`` with ``MASKS`` random bands of up to ``mask_bins`` bins silenced over
        the whole crop (SpecAugment's frequency masks): a partial or a note missing in
        one octave, as a thin or formant-shaped timbre leaves it. At 6 bins it measured
        a little worse (MODEL.md)."""
        out = m.copy()
        for _ in range(MASKS):
            width = int(self.rng.integers(0, self.mask_bins + 1))
            k0 = int(self.rng.integers(0, feat.N_BINS - width + 1))
            out[:, k0:k0 + width] = 0.0
        return out

    def batch_arrays(self) -> dict[str, np.ndarray]:
        picks = self.rng.choice(len(self.clips), size=self.batch, p=self.p)
        crops = []
        note_bits: list[np.ndarray] = []
        for k in picks:
            s, i = self.clips[int(k)]
            f, c, b = s.clip(i)
            n = f.shape[0]
            start = self.crop_start(n)
            crops.append((f[start: start + self.crop], c[start: start + self.crop],
                          b[start: start + self.crop]))
            if self.with_notes and s.notes is not None:
                a = int(s.offsets[i]) + start
                note_bits.append(s.notes[a: a + crops[-1][0].shape[0]])
        t = max(x[0].shape[0] for x in crops)
        x = np.zeros((self.batch, t, feat.N_BINS), np.float32)
        chord = np.full((self.batch, t), IGNORE, np.int64)
        bass = np.full((self.batch, t), IGNORE, np.int64)
        lengths = np.zeros(self.batch, np.int64)
        targets: list[np.ndarray] = []
        notes = np.zeros((self.batch, t, 12), np.float32) if note_bits else None
        for j, (f, c, b) in enumerate(crops):
            n = f.shape[0]
            sh = int(self.rng.choice(SHIFTS)) if self.augment else 0
            # Up by sh semitones: bin k shows what the clip had at bin k - 3 sh.
            lo = CACHE_OFFSET - feat.BINS_PER_SEMITONE * sh
            hi = min(lo + feat.N_BINS, CACHE_BINS)
            x[j, :n, : hi - lo] = f[:, lo:hi]
            if self.augment:  # gain: +-10 dB on the magnitudes under log1p
                g = 10.0 ** (self.rng.uniform(-10, 10) / 20)
                if self.envelope_db > 0:
                    g = g * 10.0 ** (self.envelope() / 20)
                m = np.expm1(x[j, :n])
                if self.warp > 0:
                    m = self.frequency_warp(m)
                if self.mask_bins > 0:
                    m = self.frequency_masks(m)
                if self.harmonics > 0:
                    m = self.harmonic_copies(m)
                x[j, :n] = np.log1p(g * m)
            cc = self.tchord[sh % 12][c.astype(np.int64)]
            chord[j, :n] = cc
            bass[j, :n] = self.tbass[sh % 12][b.astype(np.int64)]
            lengths[j] = n
            targets.append(merged(cc))
            if notes is not None:
                notes[j, :n] = bits_to_matrix(note_bits[j], sh)
        tl = np.array([len(q) for q in targets], np.int64)
        out = {"x": x, "chord": chord, "bass": bass, "lengths": lengths,
               "targets": np.concatenate(targets), "target_lengths": tl}
        if notes is not None:
            out["notes"] = notes
        return out


def onset_weights(chord: np.ndarray, frames: int, weight: float) -> np.ndarray:
    """Per-frame loss weights [B, T]: `weight` on the `frames` frames that start at a
    chord change (the label differs from the previous frame's), 1 elsewhere, 0 on
    padding. The first frame of a crop is not a change: its predecessor is unseen."""
    w = (chord != IGNORE).astype(np.float32)
    if weight == 1.0 or frames <= 0:
        return w
    change = np.zeros(chord.shape, bool)
    change[:, 1:] = (chord[:, 1:] != chord[:, :-1]) & (chord[:, 1:] != IGNORE)
    near = change.copy()
    for k in range(1, frames):
        near[:, k:] |= change[:, :-k]
    return np.where(near & (chord != IGNORE), np.float32(weight), w)


# ---------------------------------------------------------------------------------
# Evaluation


def evaluate(model: Any, vset: CachedSet, max_clips: int | None = None) -> dict[str, float]:
    """WCSR (duration-weighted over the set) of frame-argmax segments, offline and live
    branches, against the reference .lab files."""
    import mir_eval
    import torch

    metrics = ("root", "majmin", "sevenths")
    acc = {f"{b}_{m}": 0.0 for b in ("offline", "live") for m in metrics}
    weight = {k: 0.0 for k in acc}
    frame_hits = frame_total = 0
    model.eval()
    device = next(model.parameters()).device
    n = len(vset) if max_clips is None else min(max_clips, len(vset))
    with torch.no_grad():
        for i in range(n):
            f, c, _ = vset.clip(i)
            x = torch.from_numpy(np.asarray(f[:, CACHE_OFFSET: CACHE_OFFSET + feat.N_BINS],
                                            dtype=np.float32))[None]
            if x.shape[1] == 0:
                continue
            out = model.offline(x.to(device))
            ref_iv, ref_lab = mir_eval.io.load_labeled_intervals(vset.labs[i])
            for branch, fk, bk in (("offline", "frame", "bass"), ("live", "live_frame",
                                                                  "live_bass")):
                pc = out[fk][0].argmax(-1).cpu().numpy()
                pb = out[bk][0].argmax(-1).cpu().numpy()
                if branch == "offline":
                    frame_hits += int((pc == c).sum())
                    frame_total += int(c.size)
                est_iv, est_lab = segments_from_frames(pc, pb, float(vset.durations[i]))
                est_iv, est_lab = mir_eval.util.adjust_intervals(
                    est_iv, est_lab, ref_iv.min(), ref_iv.max(), mir_eval.chord.NO_CHORD,
                    mir_eval.chord.NO_CHORD)
                iv, r, e = mir_eval.util.merge_labeled_intervals(ref_iv, ref_lab, est_iv,
                                                                 est_lab)
                dur = mir_eval.util.intervals_to_durations(iv)
                for m in metrics:
                    comp = getattr(mir_eval.chord, m)(r, e)
                    ok = comp >= 0
                    acc[f"{branch}_{m}"] += float((comp[ok] * dur[ok]).sum())
                    weight[f"{branch}_{m}"] += float(dur[ok].sum())
    model.train()
    res = {k: round(acc[k] / weight[k], 4) if weight[k] else 0.0 for k in acc}
    res["frame_acc"] = round(frame_hits / max(1, frame_total), 4)
    res["score"] = round((res["offline_majmin"] + res["offline_sevenths"]) / 2, 4)
    return res


def evaluate_sets(model: Any, vsets: list[CachedSet], live_only: bool = False
                  ) -> dict[str, Any]:
    """``evaluate`` on each set. The first set's figures stay at the top level (logs
    and plots read them as before), the others under ``sets``; ``score`` is the mean
    of every set's score, on the live branch when only that branch trains."""
    per = []
    for vs in vsets:
        r = evaluate(model, vs)
        if live_only:  # the offline heads do not move: choose on the live branch
            r["score"] = round((r["live_majmin"] + r["live_sevenths"]) / 2, 4)
        per.append(r)
    res: dict[str, Any] = dict(per[0])
    if len(per) > 1:
        res["sets"] = {vs.name: r for vs, r in zip(vsets, per, strict=True)}
        res["score"] = round(sum(r["score"] for r in per) / len(per), 4)
    return res


# ---------------------------------------------------------------------------------
# Checkpoints


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def lr_at(progress: float, peak: float, warm: float = 0.03, floor: float = 0.02) -> float:
    """Warm-up then cosine to ``floor * peak`` over the budget (progress 0..1)."""
    if progress < warm:
        return peak * max(progress / warm, 0.01)
    p = min(1.0, (progress - warm) / (1 - warm))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def plot_log(log: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = [e for e in log if "loss" in e]
    va = [e for e in log if "valid" in e]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    if tr:
        m = [e["elapsed_s"] / 60 for e in tr]
        for k in ("loss", "ctc", "frame", "live", "bass"):
            a1.plot(m, [e[k] for e in tr], label=k)
        a1.set_xlabel("minutes")
        a1.set_yscale("log")
        a1.legend()
        a1.set_title("training loss")
    if va:
        m = [e["elapsed_s"] / 60 for e in va]
        for k in ("offline_root", "offline_majmin", "offline_sevenths", "live_majmin",
                  "live_sevenths"):
            a2.plot(m, [e["valid"][k] for e in va], marker="o", label=k)
        for n in list(va[-1]["valid"].get("sets", {}))[1:]:  # the first is drawn above
            pts = [(e["elapsed_s"] / 60, e["valid"]["sets"][n]["offline_majmin"])
                   for e in va if n in e["valid"].get("sets", {})]
            a2.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", marker=".",
                    label=f"{n} offline_majmin")
        a2.set_xlabel("minutes")
        a2.set_title("validation WCSR (first set; others dashed)")
        a2.legend()
        a2.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------
# Smoke data


def render_smoke_set(out: Path, name: str, count: int, seed: int) -> Path:
    """A few short clips with the CI SoundFont (FluidR3_GM), written like data.py does."""
    from models.chords.performance import perform, random_style
    from models.chords.progressions import random_walk
    from models.chords.soundfonts import SOUNDFONTS_BY_NAME, TEXTURES_FOR, program_pool
    from models.chords.synth_offline import OfflineSynth

    set_dir = out / name
    if (set_dir / "labels").is_dir() and len(list((set_dir / "labels").glob("*.lab"))) >= count:
        return set_dir
    import soundfile as sf

    (set_dir / "audio").mkdir(parents=True, exist_ok=True)
    (set_dir / "labels").mkdir(parents=True, exist_ok=True)
    synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), 22050)
    try:
        for i in range(count):
            rng = np.random.default_rng([seed, i])
            cats = ("piano", "guitar", "organ")
            cat = cats[i % len(cats)]
            style = random_style(rng, TEXTURES_FOR[cat][0])
            perf = perform(random_walk(rng, 6), style, rng)
            pool = program_pool(cat, "train")
            programs = {0: int(pool[int(rng.integers(len(pool)))])}
            audio = synth.render(perf, programs).mean(axis=1) * 0.5
            sf.write(set_dir / "audio" / f"{name}-{i:03d}.flac", audio, 22050,
                     subtype="PCM_16")
            (set_dir / "labels" / f"{name}-{i:03d}.lab").write_text(perf.lab())
    finally:
        synth.close()
    return set_dir


# ---------------------------------------------------------------------------------
# Training


class _Stop:
    requested = False


def _weighted_ce(logits: Any, target: Any, w: Any) -> Any:
    """Cross-entropy averaged with per-frame weights (0 on padding)."""
    from torch.nn import functional as F

    ce = F.cross_entropy(logits.flatten(0, 1), target.flatten().clamp(min=0),
                         reduction="none")
    wf = w.flatten()
    return (ce * wf).sum() / wf.sum().clamp(min=1e-6)


def _on_signal(signum: int, frame: Any) -> None:
    _Stop.requested = True


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from torch.nn import functional as F

    from models.chords.model import (
        BLANK,
        CHECKPOINT_FORMAT,
        CheckpointError,
        ChordCRNN,
        ModelConfig,
        config_dict,
        count_parameters,
        load_checkpoint,
        meta,
    )

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: this torch sees no CUDA device")
    # A GPU when there is one (the same run, faster); the CPU otherwise. One thread on
    # the CPU gives the same weights bit for bit on any machine; a GPU does not promise it.
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cache_dir: Path = args.cache or (out / "features" if args.smoke
                                     else Path("build/chords/features"))
    if args.smoke:
        data_dir = out / "smoke-data"
        train_dirs = [render_smoke_set(data_dir, "smoke-train", 10, args.seed)]
        # Two validation sets, as in a real run (best.pt on their mean).
        valid_dirs = [render_smoke_set(data_dir, "smoke-valid", 3, args.seed + 1000),
                      render_smoke_set(data_dir, "smoke-valid-b", 2, args.seed + 2000)]
        cfg = ModelConfig.tiny()
        if args.live_lookahead is not None:
            cfg = dataclasses.replace(cfg, live_lookahead=args.live_lookahead)
        crop_s, batch, peak_lr, valid_every = 6.0, 4, 3e-3, 20.0
    else:
        train_dirs = [Path(d) for d in args.train] if args.train else [
            d for d in (Path("build/chords/train"), Path("build/chords/train200"))
            if d.is_dir()]
        valid_dirs = [Path(d) for d in (args.valid or DEFAULT_VALID)]
        missing = [d for d in valid_dirs if not d.is_dir()]
        if missing:
            raise TrainError(f"validation set {missing[0]} is missing: render it first "
                             f"(DATA.md: python -m models.chords.data render "
                             f"models/chords/manifests/{missing[0].name}.json --out "
                             f"{missing[0]})")
        sizes = {k: getattr(args, k) for k in ("c1", "trunk", "hidden", "live_hidden")
                 if getattr(args, k) is not None}
        if args.live_lookahead is not None:
            sizes["live_lookahead"] = args.live_lookahead
        if args.stack_harmonics is not None:
            sizes["stacked_harmonics"] = args.stack_harmonics
        if args.contrast_bins is not None:
            sizes["contrast_bins"] = args.contrast_bins
        cfg = ModelConfig(**sizes)
        crop_s, batch, peak_lr, valid_every = args.crop, args.batch, args.lr, args.valid_every
    if not train_dirs:
        raise TrainError("no training set: render build/chords/train first (DATA.md)")
    train_sets = [build_cache(d, cache_dir) for d in train_dirs]
    vsets = [build_cache(d, cache_dir) for d in valid_dirs]

    if args.notes_weight > 0:
        for s, d in zip(train_sets, train_dirs, strict=True):
            try:
                s.notes = set_bits(d, s.ids, s.offsets, cache_dir, s.name)
            except NoteTargetError as e:
                raise TrainError(str(e)) from e

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = ChordCRNN(cfg).to(device)
    # The auxiliary head (note_targets): which pitch classes sound, from the offline
    # trunk. Training only: it is kept in the checkpoint beside the model, not exported.
    # Its initial weights come from a stream of their own, so that a run with the head
    # draws the same dropout masks and crops as one without (a controlled pair).
    notes_head = None
    if args.notes_weight > 0:
        with torch.random.fork_rng():
            torch.manual_seed(args.seed + 7919)
            notes_head = torch.nn.Linear(cfg.trunk, 12).to(device)
    head_params = list(notes_head.parameters()) if notes_head is not None else []
    # A step budget gives the same run on any machine (a time budget gives a faster
    # machine more steps); validation then follows steps too, every twentieth.
    valid_steps = max(1, args.steps // 20) if args.steps else 0

    def progress() -> float:
        if args.steps:
            return state["step"] / args.steps
        return state["elapsed_s"] / (args.minutes * 60.0)

    state: dict[str, Any] = {"step": 0, "elapsed_s": 0.0, "best": None, "log": [],
                             "audio_s": 0.0}
    last_path, best_path = out / "last.pt", out / "best.pt"
    def optimizer_for(m: Any) -> Any:
        if not (args.live_only or args.offline_only):
            return torch.optim.AdamW(list(m.parameters()) + head_params, lr=peak_lr,
                                     weight_decay=args.weight_decay)
        # One branch learns; the other stays as it is (--live-only: the offline graph
        # and the catalogue embedding do not move; --offline-only: the live branch does
        # not, and another process can train it at the same time: merge.py).
        for n, p in m.named_parameters():
            p.requires_grad_(n.startswith("live_") == args.live_only)
        return torch.optim.AdamW([p for p in m.parameters() if p.requires_grad]
                                 + head_params, lr=peak_lr,
                                 weight_decay=args.weight_decay)

    resumed_average: dict[str, Any] | None = None
    if args.resume:
        if not last_path.exists():
            raise TrainError(f"--resume: no {last_path}")
        try:  # truncated or foreign: say so, keep the file
            model, ck = load_checkpoint(last_path)
        except CheckpointError as e:
            raise TrainError(f"--resume: {last_path} is not readable ({e})") from e
        cfg = model.cfg
        model.to(device)
        if notes_head is not None and "notes_head" in ck:
            notes_head.load_state_dict(ck["notes_head"])
        opt = optimizer_for(model)
        opt.load_state_dict(ck["optimizer"])
        for k in state:
            state[k] = ck["state"][k]
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        resumed_average = ck.get("average")
        print(f"resumed at step {state['step']}, {state['elapsed_s'] / 60:.1f} min done",
              flush=True)
    elif args.init:
        # Fine-tuning: another run's weights, with a fresh optimizer and schedule.
        try:
            model, ck = load_checkpoint(args.init)
        except CheckpointError as e:
            raise TrainError(f"--init: {args.init} is not readable ({e})") from e
        cfg = model.cfg
        if args.live_lookahead is not None and args.live_lookahead != cfg.live_lookahead:
            cfg = dataclasses.replace(cfg, live_lookahead=args.live_lookahead)
            wider = ChordCRNN(cfg)
            wider.load_state_dict(model.state_dict(), strict=False)
            if wider.live_trunk is not None:
                # Warm start: the shared trunk, its kernel now one frame earlier (at
                # first the branch answers as before, a frame later; training moves it).
                wider.live_trunk.load_state_dict(model.trunk.state_dict())
            model = wider
        model.to(device)
        if notes_head is not None and "notes_head" in ck:
            notes_head.load_state_dict(ck["notes_head"])
        opt = optimizer_for(model)
        print(f"fine-tuning from {args.init} (step {ck['state']['step']})", flush=True)
    else:
        opt = optimizer_for(model)
    if (args.live_only or args.offline_only) and cfg.live_lookahead != 0:
        # A branch alone needs a trunk of its own: with a shared trunk, training one
        # branch would move the other.
        raise TrainError("--live-only / --offline-only train one branch: the live "
                         "branch needs its own causal trunk (--live-lookahead 0)")
    # Weight averaging (SWA): a uniform mean of the weights (and batch-norm statistics)
    # every ``average_every`` steps from ``average_from`` of the budget on, kept beside
    # the trained weights and written to average.pt at every validation.
    averaged: Any = None
    if args.average_from < 1.0:
        averaged = torch.optim.swa_utils.AveragedModel(model, use_buffers=True)
        if resumed_average is not None:
            averaged.load_state_dict(resumed_average)
    sampler = Sampler(train_sets, round(crop_s * feat.FPS), batch, rng,
                      coverage=args.crop_coverage, envelope_db=args.spectral_envelope,
                      harmonics=args.harmonics, warp=args.warp, mask_bins=args.mask_bins,
                      shares=dict(args.share or []))
    n_params = count_parameters(model)
    total_h = sum(float(s.durations.sum()) for s in train_sets) / 3600
    print(json.dumps({"parameters": n_params, "train_clips": sum(len(s) for s in train_sets),
                      "train_hours": round(total_h, 2),
                      "valid_clips": {v.name: len(v) for v in vsets},
                      "budget_min": args.minutes, "budget_steps": args.steps,
                      "device": str(device), "config": config_dict(cfg)}), flush=True)

    def checkpoint(path: Path, with_opt: bool = True) -> None:
        ck: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT, "config": config_dict(cfg),
            "model": model.state_dict(), "meta": meta(model), "state": state,
            "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        if notes_head is not None:
            ck["notes_head"] = notes_head.state_dict()
        if with_opt:
            ck["optimizer"] = opt.state_dict()
            if averaged is not None:
                ck["average"] = averaged.state_dict()
        save_atomic(ck, path)

    def save_average() -> dict[str, float] | None:
        """Validate the averaged weights and write them to average.pt (a checkpoint of
        the same format, ``state["averaged"]`` the number of weights in the mean)."""
        if averaged is None or int(averaged.n_averaged) == 0:
            return None
        avg = averaged.module
        res = evaluate_sets(avg, vsets, args.live_only)
        ck = {"format": CHECKPOINT_FORMAT, "config": config_dict(cfg),
              "model": avg.state_dict(), "meta": meta(avg),
              "state": {**state, "averaged": int(averaged.n_averaged)},
              "args": {k: str(v) for k, v in vars(args).items()}}
        save_atomic(ck, out / "average.pt")
        return res

    def validate() -> dict[str, float]:
        t0 = time.time()
        res = evaluate_sets(model, vsets, args.live_only)
        res["seconds"] = round(time.time() - t0, 1)
        entry = {"step": state["step"], "elapsed_s": round(state["elapsed_s"], 1),
                 "valid": res}
        avg_res = save_average()
        if avg_res is not None:
            entry["average"] = {**avg_res, "weights": int(averaged.n_averaged)}
        state["log"].append(entry)
        print(json.dumps(entry), flush=True)
        if state["best"] is None or res["score"] > state["best"]["score"]:
            state["best"] = {**res, "step": state["step"]}
            checkpoint(best_path, with_opt=False)
        checkpoint(last_path)
        (out / "log.json").write_text(json.dumps(state["log"], indent=1))
        plot_log(state["log"], out / "plot.png")
        return res

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # --bf16: the model's matrix products and LSTMs in bfloat16 (1.7 times faster on a
    # CPU with AVX512-BF16, measured); weights, gradients, the optimiser, the losses
    # and validation stay float32, so a checkpoint is what a float32 run writes.
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    model.train()
    sums: dict[str, float] = {}
    n_sum = 0
    t_last = time.monotonic()
    last_valid = state["elapsed_s"]
    last_print = state["elapsed_s"]
    while progress() < 1.0 and not _Stop.requested:
        lr = lr_at(progress(), peak_lr)
        for g in opt.param_groups:
            g["lr"] = lr
        if args.live_only:  # frozen parts: no dropout, no batch-norm statistics updates
            model.trunk.eval()
            model.rnn.eval()
        b = sampler.batch_arrays()
        x = torch.from_numpy(b["x"]).to(device)
        chord = torch.from_numpy(b["chord"]).to(device)
        bass = torch.from_numpy(b["bass"]).to(device)
        w = torch.from_numpy(onset_weights(b["chord"], args.onset_frames,
                                           args.onset_weight)).to(device)
        if args.live_only:  # the frozen parts need no gradient: their weights have none
            with autocast:
                live_frame, live_bass = model.live_logits(x)
            live_frame, live_bass = live_frame.float(), live_bass.float()
            ctc = frame = torch.zeros((), device=device)
            live = _weighted_ce(live_frame, chord, w)
            bass_l = F.cross_entropy(live_bass.flatten(0, 1), bass.flatten(),
                                     ignore_index=IGNORE)
        else:
            with autocast:
                outs = model.offline(x, live=not args.offline_only)
            outs = {k: v.float() for k, v in outs.items()}  # the losses in float32
            # CTC per target chord (summed over the batch, over its chords).
            logp = F.log_softmax(outs["ctc"], -1).transpose(0, 1)  # [T, B, C]
            ctc = F.ctc_loss(logp, torch.from_numpy(b["targets"]).to(device),
                             torch.from_numpy(b["lengths"]).to(device),
                             torch.from_numpy(b["target_lengths"]).to(device), blank=BLANK,
                             reduction="sum", zero_infinity=True)
            ctc = ctc / float(b["target_lengths"].sum())
            frame = F.cross_entropy(outs["frame"].flatten(0, 1), chord.flatten(),
                                    ignore_index=IGNORE)
            bass_off = F.cross_entropy(outs["bass"].flatten(0, 1), bass.flatten(),
                                       ignore_index=IGNORE)
            if args.offline_only:  # the live branch is not computed: another run trains it
                live = torch.zeros((), device=device)
                bass_l = 0.5 * bass_off  # the offline head's weight in a joint run
            else:
                live = _weighted_ce(outs["live_frame"], chord, w)
                bass_l = 0.5 * (bass_off + F.cross_entropy(outs["live_bass"].flatten(0, 1),
                                                           bass.flatten(),
                                                           ignore_index=IGNORE))
        loss = ctc + frame + live + 0.5 * bass_l
        notes_l = torch.zeros((), device=device)
        if notes_head is not None and not args.live_only:
            target = torch.from_numpy(b["notes"]).to(device)
            valid = (torch.arange(target.shape[1], device=device)[None, :]
                     < torch.from_numpy(b["lengths"]).to(device)[:, None]).float()
            bce = F.binary_cross_entropy_with_logits(notes_head(outs["trunk"]), target,
                                                     reduction="none").sum(-1)
            notes_l = (bce * valid).sum() / valid.sum().clamp(min=1.0)
            loss = loss + args.notes_weight * notes_l
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(
            [p for g in opt.param_groups for p in g["params"]], args.clip)
        opt.step()
        state["step"] += 1
        state["audio_s"] += float(b["lengths"].sum()) / feat.FPS
        if (averaged is not None and progress() >= args.average_from
                and state["step"] % args.average_every == 0):
            averaged.update_parameters(model)
        for k, v in (("loss", loss), ("ctc", ctc), ("frame", frame), ("live", live),
                     ("bass", bass_l), ("notes", notes_l), ("grad_norm", gn)):
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n_sum += 1
        now = time.monotonic()
        state["elapsed_s"] += now - t_last
        t_last = now
        if state["elapsed_s"] - last_print >= args.log_every or state["step"] == 1:
            entry = {"step": state["step"], "elapsed_s": round(state["elapsed_s"], 1),
                     "lr": round(lr, 6), "audio_h": round(state["audio_s"] / 3600, 2),
                     **{k: round(v / n_sum, 4) for k, v in sums.items()}}
            state["log"].append(entry)
            print(json.dumps(entry), flush=True)
            sums, n_sum = {}, 0
            last_print = state["elapsed_s"]
        due = (state["step"] % valid_steps == 0 and state["step"] < args.steps
               if args.steps else state["elapsed_s"] - last_valid >= valid_every)
        if due:  # (a step budget's last step is validated below, once)
            validate()
            last_valid = state["elapsed_s"]
            t_last = time.monotonic()  # validation time does not eat the training budget
    res = validate()
    summary = {"done": not _Stop.requested, "step": state["step"],
               "elapsed_min": round(state["elapsed_s"] / 60, 2),
               "audio_h_seen": round(state["audio_s"] / 3600, 2), "final": res,
               "best": state["best"], "out": str(out)}
    print(json.dumps(summary), flush=True)
    return summary


def _share(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        fraction = float(value)
    except ValueError:
        fraction = -1.0
    if not sep or not name or not 0.0 < fraction < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: give SET=FRACTION, the fraction "
                                         "between 0 and 1 (train_tonejs=0.1)")
    return Path(name).name, fraction


def _harmonic_list(text: str) -> tuple[float, ...]:
    try:
        hs = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not hs or any(not h > 0 for h in hs) or len(set(hs)) != len(hs):
        raise argparse.ArgumentTypeError(f"harmonics are distinct positive numbers: {text!r}")
    return hs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.chords.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, log)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="training budget in minutes (default 70; smoke 1.5)")
    ap.add_argument("--steps", type=int, default=None,
                    help="a budget in steps instead of minutes, the same on any machine "
                         "(the schedule follows steps, validation every twentieth)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--init", type=Path, default=None,
                    help="fine-tune: start from this checkpoint's weights (fresh schedule)")
    ap.add_argument("--smoke", action="store_true",
                    help="render a few tiny clips with FluidR3_GM and train a tiny model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", action="append", help="training set folder (repeatable; "
                    "default build/chords/train and build/chords/train200)")
    ap.add_argument("--share", action="append", type=_share, default=None,
                    metavar="SET=FRACTION",
                    help="that training set (folder name) gives this fraction of the crops, "
                         "the others the rest by length (repeatable; default: all by length)")
    ap.add_argument("--valid", action="append", default=None,
                    help="validation set folder, repeatable; best.pt keeps the best mean "
                         "over the sets (default: build/chords/valid and "
                         "build/chords/valid_freepats)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="feature cache folder (default build/chords/features)")
    ap.add_argument("--crop", type=float, default=15.0, help="crop seconds")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    ap.add_argument("--valid-every", type=float, default=300.0, help="seconds of training")
    ap.add_argument("--log-every", type=float, default=30.0, help="seconds")
    ap.add_argument("--device", choices=("cpu", "cuda"), default=None,
                    help="where to train (default: cuda when torch sees a GPU, else cpu)")
    ap.add_argument("--bf16", action="store_true",
                    help="compute the forward pass in bfloat16 (torch.autocast on the CPU; "
                         "weights, optimiser, losses and validation in float32): 1.7 times "
                         "faster where the CPU has AVX512-BF16")
    ap.add_argument("--live-only", action="store_true",
                    help="train the causal live branch alone (the rest frozen; from "
                         "--init, or a new model with --live-lookahead 0)")
    ap.add_argument("--offline-only", action="store_true",
                    help="train the offline branch alone, the live branch frozen (not "
                         "computed): with --live-only in a second process, the two "
                         "branches of one model at once on two cores (merge.py)")
    ap.add_argument("--live-lookahead", type=int, choices=(0, 1), default=None,
                    help="0: a causal trunk of its own for the live branch (23 ms sooner)")
    for name, what in (("c1", "conv channels"), ("trunk", "trunk width"),
                       ("hidden", "offline BiLSTM units per direction"),
                       ("live-hidden", "live LSTM units")):
        ap.add_argument(f"--{name}", type=int, default=None,
                        help=f"a new model's {what} (default: ModelConfig's)")
    ap.add_argument("--stack-harmonics", type=_harmonic_list, default=None, metavar="H,H,...",
                    help="a new model's input channels: the spectrum at these multiples "
                         "of each bin's frequency, e.g. 0.5,1,2,3,4,5 (a harmonic CQT; "
                         "default: the spectrum alone)")
    ap.add_argument("--contrast-bins", type=int, default=None, metavar="BINS",
                    help="a new model's second input channel: each bin less the mean of "
                         "the BINS bins around it (odd; 3 per semitone; default: none)")
    ap.add_argument("--onset-weight", type=float, default=1.0,
                    help="weight of the live frames just after a chord change")
    ap.add_argument("--onset-frames", type=int, default=6,
                    help="how many frames from a change get --onset-weight")
    ap.add_argument("--crop-coverage", choices=CROP_COVERAGE, default="start",
                    help="start: crop starts uniform (the first runs); frames: every "
                         "frame equally likely, a clip's edges too (Sampler.crop_start)")
    ap.add_argument("--spectral-envelope", type=float, default=0.0, metavar="DB",
                    help="a random smooth EQ per crop, its k-th cosine at most DB/sqrt(k) "
                         "(Sampler.envelope; 0: off, as in the first runs)")
    ap.add_argument("--harmonics", type=float, default=0.0, metavar="GAIN",
                    help="add to every crop copies of its spectrum an octave, a twelfth "
                         "and two octaves up, at random gains up to GAIN, 0.7 GAIN and "
                         "0.5 GAIN (Sampler.harmonic_copies; 0: off, as in the first runs)")
    ap.add_argument("--warp", type=float, default=0.0, metavar="BINS",
                    help="move every crop's bins by a random smooth displacement of at "
                         "most BINS (3 per semitone; Sampler.warp_curve; 0: off)")
    ap.add_argument("--mask-bins", type=int, default=0, metavar="BINS",
                    help=f"silence {MASKS} random bands of up to BINS bins per crop "
                         "(Sampler.frequency_masks; 0: off)")
    ap.add_argument("--average-from", type=float, default=1.0, metavar="FRACTION",
                    help="average the weights from this fraction of the budget on into "
                         "OUT/average.pt (SWA; 1: off, as in the first runs)")
    ap.add_argument("--average-every", type=int, default=20, metavar="STEPS",
                    help="steps between two weights in the average")
    ap.add_argument("--notes-weight", type=float, default=0.0, metavar="W",
                    help="an auxiliary head on the trunk names the pitch classes that "
                         "sound in each frame (note_targets; rebuilt from each training "
                         "set's manifest), its loss weighted W (0: off, as shipped)")
    args = ap.parse_args(argv)
    if not 0.0 <= args.average_from <= 1.0 or args.average_every < 1:
        ap.error("--average-from is a fraction of the budget (0 to 1), --average-every "
                 "a number of steps (>= 1)")
    if args.warp < 0 or args.mask_bins < 0:
        ap.error("--warp and --mask-bins are in bins, >= 0")
    if args.spectral_envelope < 0:
        ap.error("--spectral-envelope is a strength in dB, >= 0")
    if args.harmonics < 0:
        ap.error("--harmonics is a gain, >= 0")
    if args.notes_weight < 0 or (args.notes_weight > 0 and (args.live_only or args.smoke)):
        ap.error("--notes-weight is a weight >= 0, for a full model's training (not "
                 "--live-only or --smoke)")
    if args.contrast_bins is not None and (args.contrast_bins < 1
                                           or args.contrast_bins % 2 == 0):
        ap.error("--contrast-bins is an odd number of bins")
    if (args.init or args.resume or args.smoke) and any(
            getattr(args, k) is not None
            for k in ("c1", "trunk", "hidden", "live_hidden", "stack_harmonics",
                      "contrast_bins")):
        ap.error("--c1/--trunk/--hidden/--live-hidden/--stack-harmonics/--contrast-bins "
                 "shape a new model: "
                 "a checkpoint (--init, --resume) has its own shape, and --smoke trains "
                 "the tiny one")
    if args.live_only and args.offline_only:
        ap.error("--live-only and --offline-only: one branch, or neither (both)")
    if args.steps is not None and (args.steps < 1 or args.minutes is not None):
        ap.error("--steps is a budget of at least 1 step, instead of --minutes")
    if args.minutes is None and args.steps is None:
        args.minutes = 1.5 if args.smoke else 70.0
    if args.smoke:
        args.log_every = min(args.log_every, 10.0)
    try:
        train(args)
    except TrainError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
