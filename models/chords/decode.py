"""Turn the chord model's log-probabilities into timed chord segments.

Two decoders, both pure numpy on the model's outputs (no model, no audio here):

- ``decode_ctc``: CTC prefix beam search over ``ctc_logprobs`` [T, 158] (blank 157)
  gives the chord *sequence*; a Viterbi forced alignment of that sequence on the frame
  posteriors (``frame_logprobs`` [T, 157], plus the CTC label posteriors) places every
  boundary on a frame, since CTC spikes say *what* but not exactly *when*.
- ``decode_frames``: frame argmax after a median filter over the posteriors, for
  comparison (the benchmark reports both).

Both then share the post-processing: minimum duration, the bass (an inversion only
when the bass head is confident), optional beat-synchronous smoothing, and no-chord
forced where the audio is silent (``force_no_chord``).

Times: frame ``i`` covers ``[t0 + i / fps, t0 + (i + 1) / fps)``; a segment's start and
end are frame edges, the first is clamped to 0 and the last to the clip's duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numba import njit

from models.chords.transitions import switch_bonus
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, from_index

BLANK = NUM_CLASSES  # 157: the CTC blank comes after the 157 chord classes
NUM_BASS = 13  # pitch classes 0..11, 12 = no bass (N)
BASS_NONE = 12

# The bass head names an inversion only when its mean posterior over the segment
# reaches this and the named note is a tone of the chord: a wrong "/3" is worse for a
# musician than a missing one, so root position is the default.
BASS_THRESHOLD = 0.7
# Shortest segment kept (seconds); shorter ones join a neighbour. Rendered chord changes
# are at least a beat apart (>= 0.35 s at 170 bpm); 0.12 s keeps fast changes but drops
# one- or two-frame flickers.
MIN_DURATION = 0.12
# Beat snapping: a boundary this close (s) to a beat moves onto it.
SNAP_TOLERANCE = 0.12


@dataclass(frozen=True)
class Segment:
    """One decoded chord span. ``index``: vocabulary class (N = 156); ``bass``: pitch
    class 0..11 of the bass when an inversion was detected, else -1 (root position or
    N); ``confidence``: mean posterior of the class over the segment's frames."""

    start: float
    end: float
    index: int
    confidence: float
    bass: int = -1

    @property
    def label(self) -> str:
        chord = from_index(self.index)
        if self.bass >= 0 and not chord.is_no_chord:
            chord = from_index(self.index, (self.bass - chord.root) % 12)
        return chord.label()


@dataclass(frozen=True)
class DecodeOptions:
    beam_width: int = 8
    # Per frame, only classes whose CTC probability reaches this extend a prefix
    # (the output is peaky: most frames try one or two classes).
    prune: float = 1e-3
    min_duration: float = MIN_DURATION
    bass_threshold: float = BASS_THRESHOLD
    # Weight of the CTC label posteriors beside the frame head in the alignment: 0
    # since the frame head mixes the offline and causal branches (30 validation
    # clips, ctc decoder majmin 0.813 at 0 against 0.805 at 0.5; where the CTC head
    # drops chords, its label posteriors dragged boundaries across them).
    ctc_weight: float = 0.0
    # Frame decoder: median filter length in frames (odd).
    median_frames: int = 9
    # HMM decoder: log-probability cost of a chord change (per change, not per frame),
    # and the weight of the CTC label posteriors in its emissions (tuned on validation
    # clips: 48 and 0; docs/ANALYSIS.md).
    switch_penalty: float = 48.0
    hmm_ctc_weight: float = 0.0
    # HMM decoder: weight of the bass head's vote in the emissions (``bass_evidence``).
    # Chords that share notes (C:maj6 = A:min7; C:min6 against A:dim/C) differ by their
    # root, which a root-position bass names; an inverted triad (A:min/C) is pulled
    # towards the root-position chord of its bass (C:maj6) the same way. Validation
    # (docs/ANALYSIS.md): progressions and random walks gain (majmin 0.915 -> 0.924 at
    # 0.25, 0.929 at 0.5), chorales lose (0.911 -> 0.908, 0.906); 0.25 keeps most of
    # the gain for a third of the loss.
    bass_weight: float = 0.25
    # HMM decoder: log-probability added to no-chord's emission in every frame. A
    # chord's release rings on after its notes end, where the reference says N; with
    # the switch penalty the decoder waited for the model to be sure of N and held the
    # chord too long (validation, model d1661fcf's successor: ring-out errors 1.7 % of
    # the time). 2.0 on both validation sets: majmin 0.927 -> 0.932 and 0.910 ->
    # 0.915; 3 loses on chorales (MODEL.md, Decoding).
    no_chord_bias: float = 2.0
    # Every decoder: frames a chord's start may move back to the strongest bass-band
    # onset (``snap_to_onsets``; needs ``outputs["onset"]``). Decoded changes came a
    # median 15 ms late, 74 ms at p90. 4 frames (93 ms) on both validation sets,
    # model 0707b850, hmm: majmin 0.932 -> 0.936 and 0.915 -> 0.923 (MODEL.md).
    onset_snap_frames: int = 4
    # HMM decoder: weight of the chord-change model (``transitions``: how often one
    # chord follows another in the training labels, transposition-invariant). A change
    # to b after a costs ``switch_penalty`` less this weight times log(P(b | a) / P
    # uniform). Chosen on both validation sets with model e4af93ab: majmin 0.951 ->
    # 0.954 on `valid` (progressions and random walks alike), 0.926 -> 0.930 on
    # `valid_music21`; 4 to 8 within 0.1 point (MODEL.md). 0: every change costs the same.
    transition_weight: float = 6.0


# --------------------------------------------------------------------------- CTC ---


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def ctc_beam_search_py(ctc_logprobs: np.ndarray, beam_width: int = 8, prune: float = 1e-3,
                       blank: int = BLANK) -> list[int]:
    """``ctc_beam_search`` in plain Python (the reference the compiled one is tested
    against; several times slower on ambiguous outputs)."""
    lp = np.asarray(ctc_logprobs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] != blank + 1:
        raise ValueError(f"ctc_logprobs must be [T, {blank + 1}], got {lp.shape}")
    log_prune = math.log(prune)
    # prefix -> (log p ending in blank, log p ending in a label)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    ninf = -math.inf
    labels = lp[:, :blank]
    busy = np.flatnonzero((labels >= log_prune).any(axis=1))
    # Frames where no label reaches ``prune`` are (nearly) certain blanks: a run of them
    # adds the same log p to every prefix and ends each in blank, in one step. (The
    # path that repeats the last label through such a frame has p < prune per frame,
    # the same order as the pruning itself.)
    cum_blank = np.concatenate([[0.0], np.cumsum(lp[:, blank])])
    t_prev = 0
    for t in [*busy.tolist(), lp.shape[0]]:
        if t > t_prev:
            gain = float(cum_blank[t] - cum_blank[t_prev])
            beams = {k: (_logaddexp(pb, pnb) + gain, ninf) for k, (pb, pnb) in beams.items()}
        t_prev = t + 1
        if t == lp.shape[0]:
            break
        row = lp[t]
        cands = np.flatnonzero(labels[t] >= log_prune)
        if cands.size > beam_width:
            cands = cands[np.argsort(row[cands])[-beam_width:]]
        lb = float(row[blank])
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], pb: float, pnb: float,
                store: dict[tuple[int, ...], list[float]] = nxt) -> None:
            cur = store.get(prefix)
            if cur is None:
                store[prefix] = [pb, pnb]
            else:
                cur[0] = _logaddexp(cur[0], pb)
                cur[1] = _logaddexp(cur[1], pnb)

        for prefix, (pb, pnb) in beams.items():
            total = _logaddexp(pb, pnb)
            add(prefix, total + lb, ninf)  # blank: prefix unchanged
            last = prefix[-1] if prefix else -1
            if last >= 0:  # the last label repeated (collapses)
                add(prefix, ninf, pnb + float(row[last]))
            for c in cands.tolist():
                lc = float(row[c])
                if c == last:
                    # a new copy of the same label needs a blank in between
                    add((*prefix, c), ninf, pb + lc)
                else:
                    add((*prefix, c), ninf, total + lc)
        ranked = sorted(nxt.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]),
                        reverse=True)[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    best = max(beams.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]))[0]
    return list(best)


def ctc_beam_search(ctc_logprobs: np.ndarray, beam_width: int = 8, prune: float = 1e-3,
                    blank: int = BLANK) -> list[int]:
    """The most probable label sequence under CTC (prefix beam search, no language
    model). Each prefix keeps two scores: ending in blank and ending in its last label,
    so a repeated label needs a blank between (``A A`` -> one A; ``A _ A`` -> two).
    Per frame only the ``beam_width`` most probable labels at or above ``prune`` extend
    a prefix; frames where none reaches it are certain blanks, taken a run at a time.
    Compiled with numba (the first call in a process compiles or loads the cache)."""
    lp = np.asarray(ctc_logprobs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] != blank + 1:
        raise ValueError(f"ctc_logprobs must be [T, {blank + 1}], got {lp.shape}")
    labels = lp[:, :blank]
    log_prune = math.log(prune)
    busy = np.flatnonzero((labels >= log_prune).any(axis=1))
    k = min(beam_width, blank)
    rows = labels[busy]
    if rows.shape[0]:
        top = np.argpartition(-rows, k - 1, axis=1)[:, :k] if k < blank \
            else np.tile(np.arange(blank), (rows.shape[0], 1))
        top_lp = np.take_along_axis(rows, top, axis=1)
        cands = np.where(top_lp >= log_prune, top, -1).astype(np.int64)
    else:
        cands = np.zeros((0, k), np.int64)
    cum_blank = np.concatenate([[0.0], np.cumsum(lp[:, blank])])
    seq = _beam_kernel(lp, busy.astype(np.int64), cands, cum_blank, blank, beam_width)
    return [int(c) for c in seq]


# numba (a librosa dependency) compiles these once; cache=True keeps the machine code
# in __pycache__ (or the user cache) for the next process.

@njit(cache=True)
def _lae(a: float, b: float) -> float:
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))

@njit(cache=True)
def _beam_kernel(lp, busy, cands, cum_blank, blank, width):
    T = lp.shape[0]
    K = cands.shape[1]
    max_nodes = 1 + busy.shape[0] * width * K
    parent = np.empty(max_nodes, np.int64)
    label = np.empty(max_nodes, np.int64)
    parent[0] = -1
    label[0] = -1
    n_nodes = 1
    # beams: node, log p ending in blank, log p ending in a label
    b_node = np.zeros(width, np.int64)
    b_pb = np.full(width, -np.inf)
    b_pnb = np.full(width, -np.inf)
    b_pb[0] = 0.0
    nb = 1
    cap = width * (K + 2)
    c_node = np.empty(cap, np.int64)
    c_pb = np.empty(cap)
    c_pnb = np.empty(cap)
    c_tot = np.empty(cap)
    t_prev = 0
    for ib in range(busy.shape[0] + 1):
        t = busy[ib] if ib < busy.shape[0] else T
        if t > t_prev:
            gain = cum_blank[t] - cum_blank[t_prev]
            for i in range(nb):
                b_pb[i] = _lae(b_pb[i], b_pnb[i]) + gain
                b_pnb[i] = -np.inf
        t_prev = t + 1
        if t == T:
            break
        lb = lp[t, blank]
        nc = 0
        for i in range(nb):
            node = b_node[i]
            pb = b_pb[i]
            pnb = b_pnb[i]
            total = _lae(pb, pnb)
            last = label[node]
            # the prefix itself: a blank, or its last label repeated
            rep = pnb + lp[t, last] if last >= 0 else -np.inf
            j = 0
            while j < nc and c_node[j] != node:
                j += 1
            if j == nc:
                c_node[nc] = node
                c_pb[nc] = -np.inf
                c_pnb[nc] = -np.inf
                nc += 1
            c_pb[j] = _lae(c_pb[j], total + lb)
            c_pnb[j] = _lae(c_pnb[j], rep)
            for kk in range(K):
                c = cands[ib, kk]
                if c < 0:
                    continue
                add = (pb if c == last else total) + lp[t, c]
                # the extension may already be a beam (or a candidate)
                child = -1
                for m in range(nb):
                    if parent[b_node[m]] == node and label[b_node[m]] == c:
                        child = b_node[m]
                if child < 0:
                    child = n_nodes
                    parent[child] = node
                    label[child] = c
                    n_nodes += 1
                j = 0
                while j < nc and c_node[j] != child:
                    j += 1
                if j == nc:
                    c_node[nc] = child
                    c_pb[nc] = -np.inf
                    c_pnb[nc] = -np.inf
                    nc += 1
                c_pnb[j] = _lae(c_pnb[j], add)
        for j in range(nc):
            c_tot[j] = _lae(c_pb[j], c_pnb[j])
        order = np.argsort(-c_tot[:nc], kind="mergesort")
        nb = min(width, nc)
        for i in range(nb):
            j = order[i]
            b_node[i] = c_node[j]
            b_pb[i] = c_pb[j]
            b_pnb[i] = c_pnb[j]
    best = 0
    best_tot = -np.inf
    for i in range(nb):
        tot = _lae(b_pb[i], b_pnb[i])
        if tot > best_tot:
            best_tot = tot
            best = i
    node = b_node[best]
    n = 0
    m = node
    while m > 0:
        n += 1
        m = parent[m]
    seq = np.empty(n, np.int64)
    m = node
    for i in range(n - 1, -1, -1):
        seq[i] = label[m]
        m = parent[m]
    return seq


def align(sequence: Sequence[int], emissions: np.ndarray) -> np.ndarray:
    """Viterbi forced alignment of ``sequence`` (class indices, in order, each taking a
    contiguous run of at least one frame) on ``emissions`` [T, C] (log scores). Returns
    the first frame of each element (``starts[0] == 0``).

    The dynamic programme runs per element over all frames at once: with cumulative
    scores ``S``, ``best_j(t) = S_j(t) + max_{s <= t} (best_{j-1}(s - 1) - S_j(s - 1))``, a
    running maximum (``np.maximum.accumulate``) -- L numpy passes instead of T."""
    seq = list(sequence)
    T = emissions.shape[0]
    L = len(seq)
    if L == 0:
        raise ValueError("empty sequence")
    if L > T:
        raise ValueError(f"{L} labels cannot be aligned to {T} frames")
    em = np.asarray(emissions, dtype=np.float64)
    # cum[t] = sum of the element's scores over frames 0..t-1 (cum[0] = 0)
    cum = np.zeros(T + 1)
    np.cumsum(em[:, seq[0]], out=cum[1:])
    # best[t]: the best score of elements 0..j with element j ending at frame t - 1
    best = cum.copy()
    best[0] = -math.inf
    # back-pointers (start frame of element j): L x T, the decoder's one large array
    starts_at = np.empty((L, T + 1), dtype=np.int16 if T < 32767 else np.int32)
    starts_at[0] = 0
    idx = np.arange(T + 1)
    for j in range(1, L):
        np.cumsum(em[:, seq[j]], out=cum[1:])
        # element j starts at frame s (s >= j); value best[s] - cum[s]
        cand = best - cum
        cand[:j] = -math.inf
        run = np.maximum.accumulate(cand)
        arg = np.maximum.accumulate(np.where(cand >= run, idx, 0))
        new = np.full(T + 1, -math.inf)
        # element j ends at t - 1 >= s, i.e. it starts at a frame s < t
        new[1:] = run[:-1] + cum[1:]
        starts_at[j, 1:] = arg[:-1]
        new[: j + 1] = -math.inf
        best = new
    starts = np.empty(L, dtype=np.int64)
    end = T
    for j in range(L - 1, -1, -1):
        s = int(starts_at[j, end]) if j > 0 else 0
        starts[j] = s
        end = s
    return starts


def _runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start frames and values of the runs of equal values."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    return starts, labels[starts]


# ----------------------------------------------------------------- the decoders ---


def force_no_chord(outputs: dict[str, np.ndarray], silent: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """A copy of the model outputs with the ``silent`` frames certain no-chord (CTC
    emits N there, repeats collapse into one N; the bass is none)."""
    out = dict(outputs)
    if not silent.any():
        return out
    for name, hot, width in (("ctc_logprobs", N_INDEX, BLANK + 1),
                             ("frame_logprobs", N_INDEX, NUM_CLASSES),
                             ("bass_logprobs", BASS_NONE, NUM_BASS)):
        if name in out:
            arr = np.array(out[name], dtype=np.float32, copy=True)
            row = np.full(width, -30.0, dtype=np.float32)
            row[hot] = 0.0
            arr[silent] = row
            out[name] = arr
    return out


def decode_ctc(outputs: dict[str, np.ndarray], fps: float, duration: float, *,
               t0: float = 0.0, options: DecodeOptions | None = None,
               final: bool = True) -> list[Segment]:
    """Segments from the model's outputs: beam search for the sequence, forced alignment
    for the boundaries, then the shared post-processing. Frame ``i`` starts at
    ``t0 + i / fps``; ``final``: the last segment runs on to ``duration`` (else it ends
    with the last frame: a window of a longer stream)."""
    opt = options or DecodeOptions()
    ctc = np.asarray(outputs["ctc_logprobs"], dtype=np.float32)
    frame = np.asarray(outputs["frame_logprobs"], dtype=np.float32)
    T = frame.shape[0]
    if T == 0:
        return [Segment(0.0, duration, N_INDEX, 1.0)] if duration > 0 and final else []
    seq = ctc_beam_search(ctc, opt.beam_width, opt.prune)
    if not seq:
        seq = [N_INDEX]
    seq = seq[:T]
    # CTC label posteriors renormalized without the blank (ctc_weight, 0 by default):
    # where a label spikes it pulls the boundary towards itself.
    ctc_lab = _ctc_label_posteriors(ctc)
    emissions = frame + opt.ctc_weight * ctc_lab
    starts = align(seq, emissions)
    return _finish(starts, np.asarray(seq), frame, outputs.get("bass_logprobs"), fps,
                   duration, t0, opt, final, outputs.get("quiet"),
                   outputs.get("onset"))


def decode_hmm(outputs: dict[str, np.ndarray], fps: float, duration: float, *,
               t0: float = 0.0, options: DecodeOptions | None = None,
               final: bool = True) -> list[Segment]:
    """Viterbi over the 157 classes with a fixed cost per chord change
    (``switch_penalty``) on the frame posteriors (plus, if ``hmm_ctc_weight``, the CTC
    label posteriors):
    the classic smoothing of chord recognizers, robust where the CTC head misses a
    chord (a deletion costs the whole chord; here a weak frame still counts)."""
    opt = options or DecodeOptions()
    frame = np.asarray(outputs["frame_logprobs"], dtype=np.float32)
    T = frame.shape[0]
    if T == 0:
        return [Segment(0.0, duration, N_INDEX, 1.0)] if duration > 0 and final else []
    emissions = frame.astype(np.float64)
    if "ctc_logprobs" in outputs and opt.hmm_ctc_weight > 0:
        emissions = emissions + opt.hmm_ctc_weight * _ctc_label_posteriors(
            np.asarray(outputs["ctc_logprobs"], dtype=np.float32))
    if outputs.get("bass_logprobs") is not None and opt.bass_weight > 0:
        emissions = emissions + opt.bass_weight * bass_evidence(
            np.asarray(outputs["bass_logprobs"]))
    if opt.no_chord_bias:
        emissions[:, N_INDEX] += opt.no_chord_bias
    if opt.transition_weight:
        bonus = switch_bonus(float(opt.transition_weight))
        path = _viterbi_changes(emissions, float(opt.switch_penalty), bonus,
                                float(bonus.max()), float(bonus.min()))
    else:
        path = _viterbi_switch(emissions, float(opt.switch_penalty))
    starts, values = _runs(path)
    return _finish(starts, values, frame, outputs.get("bass_logprobs"), fps, duration,
                   t0, opt, final, outputs.get("quiet"),
                   outputs.get("onset"))


# Share of training frames (build/chords/train) whose bass is the chord's root.
ROOT_SHARE = 0.84


def bass_given_chord(root_share: float = ROOT_SHARE, other: float = 0.01) -> np.ndarray:
    """[157, 13] P(bass | chord class): ``root_share`` on the root, the rest split evenly
    over the other chord tones, a little (``other``, before normalising) anywhere
    else; no-chord has no bass."""
    m = np.full((NUM_CLASSES, NUM_BASS), other)
    for i in range(NUM_CLASSES):
        if i == N_INDEX:
            m[i, BASS_NONE] = 1.0
            continue
        chord = from_index(i)
        tones = [pc for pc in chord.pitch_classes if pc != chord.root]
        m[i, chord.root] = root_share
        for pc in tones:
            m[i, pc] = (1.0 - root_share) / len(tones)
    return m / m.sum(axis=1, keepdims=True)


_BASS_GIVEN_CHORD = bass_given_chord()


def bass_evidence(bass_logprobs: np.ndarray) -> np.ndarray:
    """[T, 157]: log sum_b p(bass b | frame) P(b | class), the bass head's vote for each
    class (root position likely, an inversion on one of its own tones possible)."""
    pb = np.exp(bass_logprobs.astype(np.float64))
    return np.asarray(np.log(pb @ _BASS_GIVEN_CHORD.T + 1e-12))


def _ctc_label_posteriors(ctc: np.ndarray) -> np.ndarray:
    """log p(label | not blank) per frame, [T, 157]."""
    lab = ctc[:, :BLANK]
    top = lab.max(axis=1, keepdims=True)
    return np.asarray(lab - (top + np.log(np.exp(lab - top).sum(axis=1, keepdims=True))))


@njit(cache=True)
def _viterbi_switch(em, penalty):
    T, C = em.shape
    delta = em[0].copy()
    back = np.empty((T, C), np.int16)  # previous class (C < 32768)
    for t in range(1, T):
        best = 0
        for c in range(1, C):
            if delta[c] > delta[best]:
                best = c
        switch = delta[best] - penalty
        for c in range(C):
            if delta[c] >= switch:
                back[t, c] = c
            else:
                back[t, c] = best
                delta[c] = switch
            delta[c] += em[t, c]
    return _backtrack(delta, back)


@njit(cache=True)
def _backtrack(delta, back):
    """The best path: from the best final class back through ``back`` [T, C]."""
    T, C = back.shape
    path = np.empty(T, np.int64)
    c = 0
    for k in range(1, C):
        if delta[k] > delta[c]:
            c = k
    for t in range(T - 1, -1, -1):
        path[t] = c
        if t > 0:
            c = back[t, c]
    return path


@njit(cache=True)
def _viterbi_changes(em, penalty, bonus, top, bottom):
    """``_viterbi_switch`` where a change from a to c costs ``penalty - bonus[a, c]``.
    Exact, but only classes within ``top - bottom`` of the best can be the best one to
    come from, so each frame scans those few instead of all 157 (``bonus`` is 0 on the
    diagonal, ``top`` and ``bottom`` its largest and smallest entries)."""
    T, C = em.shape
    delta = em[0].copy()
    new = np.empty(C)
    back = np.empty((T, C), np.int16)
    near = np.empty(C, np.int64)
    for t in range(1, T):
        best = 0
        for c in range(1, C):
            if delta[c] > delta[best]:
                best = c
        floor = delta[best] - (top - bottom)
        k = 0
        for a in range(C):
            if delta[a] >= floor:
                near[k] = a
                k += 1
        for c in range(C):
            stay = delta[c]
            src = c
            # From the best class no change can win while top <= penalty: staying
            # scores delta[best], a change at most delta[best] + top - penalty.
            if c != best or top > penalty:
                lim = C if c == best else k
                for i in range(lim):
                    a = i if c == best else near[i]
                    if a != c:
                        v = delta[a] - penalty + bonus[a, c]
                        if v > stay:
                            stay = v
                            src = a
            new[c] = stay + em[t, c]
            back[t, c] = src
        delta[:] = new
    return _backtrack(delta, back)


def decode_frames(outputs: dict[str, np.ndarray], fps: float, duration: float, *,
                  t0: float = 0.0, options: DecodeOptions | None = None,
                  final: bool = True) -> list[Segment]:
    """The simple decoder: median-filter the frame posteriors over time, take the
    argmax per frame, one segment per run."""
    from scipy.ndimage import median_filter

    opt = options or DecodeOptions()
    frame = np.asarray(outputs["frame_logprobs"], dtype=np.float32)
    T = frame.shape[0]
    if T == 0:
        return [Segment(0.0, duration, N_INDEX, 1.0)] if duration > 0 and final else []
    k = max(1, opt.median_frames | 1)
    # Only classes that win some frame can win after the filter (nearly always): filter
    # those columns, a tenth of the work.
    cols = np.unique(np.argmax(frame, axis=1))
    probs = np.exp(frame[:, cols])
    if k > 1:
        probs = median_filter(probs, size=(k, 1), mode="nearest")
    starts, values = _runs(cols[np.argmax(probs, axis=1)])
    return _finish(starts, values, frame, outputs.get("bass_logprobs"), fps, duration,
                   t0, opt, final, outputs.get("quiet"),
                   outputs.get("onset"))


def _finish(starts: np.ndarray, values: np.ndarray, frame_logprobs: np.ndarray,
            bass_logprobs: np.ndarray | None, fps: float, duration: float, t0: float,
            opt: DecodeOptions, final: bool, quiet: np.ndarray | None = None,
            onset: np.ndarray | None = None) -> list[Segment]:
    T = frame_logprobs.shape[0]
    starts, values = _merge_short(starts, values, frame_logprobs,
                                  max(1, round(opt.min_duration * fps)))
    if quiet is not None:
        starts = snap_out_of_gaps(starts, values, np.asarray(quiet, dtype=bool))
    if onset is not None and opt.onset_snap_frames > 0:
        starts = snap_to_onsets(starts, values, np.asarray(onset, dtype=np.float32),
                                opt.onset_snap_frames)
    ends = np.append(starts[1:], T)
    probs = np.exp(frame_logprobs)
    bass_probs = np.exp(bass_logprobs) if bass_logprobs is not None else None
    segs: list[Segment] = []
    for s, e, c in zip(starts.tolist(), ends.tolist(), values.tolist(), strict=True):
        conf = float(probs[s:e, c].mean())
        bass = -1
        if bass_probs is not None and c != N_INDEX:
            bass = _inversion(int(c), bass_probs[s:e].mean(axis=0), opt.bass_threshold)
        start = max(0.0, min(duration, t0 + s / fps))
        end = duration if final and e == T else max(0.0, min(duration, t0 + e / fps))
        if end > start:
            segs.append(Segment(start, end, int(c), conf, bass))
    return merge_equal(segs)


def snap_out_of_gaps(starts: np.ndarray, values: np.ndarray, quiet: np.ndarray
                     ) -> np.ndarray:
    """Move every chord's start that falls inside a quiet gap (``quiet`` frames: below
    the silence level, e.g. between two strums) to the gap's end: a chord begins with
    its first note, and a decoder cannot tell from silent frames which chord they
    belong to (with a half-trained model, boundaries fell ~0.2 s early, at the start of
    the gap before a change). Starts of no-chord segments stay: silence begins there."""
    out = starts.copy()
    T = quiet.shape[0]
    for i in range(1, len(out)):
        if values[i] == N_INDEX:
            continue
        s = int(out[i])
        limit = int(out[i + 1]) - 1 if i + 1 < len(out) else T - 1
        while s < limit and quiet[s]:
            s += 1
        out[i] = s
    return out


def snap_to_onsets(starts: np.ndarray, values: np.ndarray, onset: np.ndarray,
                   back: int) -> np.ndarray:
    """Move every chord's start to the frame of the strongest onset (``onset``: the
    bass band's rise per frame, ``runtime.change_onsets``) among the ``back`` frames
    before it and itself, never past the chord before. A change is heard where its new
    notes start, but the decoded change comes late: the model needs most of a strum
    (and the bass window, 186 ms) to name the new chord. Starts of no-chord segments
    stay: silence has no onset."""
    out = starts.copy()
    for i in range(1, len(out)):
        if values[i] == N_INDEX:
            continue
        hi = int(out[i])
        lo = max(int(out[i - 1]) + 1, hi - back)
        if lo < hi:  # the latest of equal onsets: a flat stretch does not move it
            out[i] = hi - int(np.argmax(onset[lo:hi + 1][::-1]))
    return out


def _inversion(index: int, mean_bass: np.ndarray, threshold: float) -> int:
    chord = from_index(index)
    pc = int(np.argmax(mean_bass[:12]))
    if pc == chord.root or mean_bass[pc] < threshold or pc not in chord.pitch_classes:
        return -1
    return pc


def _merge_short(starts: np.ndarray, values: np.ndarray, frame_logprobs: np.ndarray,
                 min_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Give every run shorter than ``min_frames`` to the neighbour whose class scores
    its frames better (the shortest run first; equal neighbours then join). A heap
    over a linked list of runs: O(n log n) even when the model flickers every frame."""
    import heapq

    T = frame_logprobs.shape[0]
    n = len(starts)
    if n <= 1 or min_frames <= 1:
        return starts.astype(np.int64), values.astype(np.int64)
    st = starts.astype(np.int64).tolist()
    en = [*st[1:], T]
    val = values.astype(np.int64).tolist()
    prev = list(range(-1, n - 1))
    nxt = [*range(1, n), -1]
    alive = [True] * n
    heap = [(en[i] - st[i], i) for i in range(n) if en[i] - st[i] < min_frames]
    heapq.heapify(heap)

    def absorb(keep: int, gone: int) -> None:
        """Run ``keep`` takes run ``gone`` (its neighbour)."""
        st[keep] = min(st[keep], st[gone])
        en[keep] = max(en[keep], en[gone])
        alive[gone] = False
        p, q = prev[gone], nxt[gone]
        if p >= 0:
            nxt[p] = q
        if q >= 0:
            prev[q] = p

    while heap:
        length, i = heapq.heappop(heap)
        if not alive[i] or en[i] - st[i] != length:
            continue
        if length >= min_frames or (prev[i] < 0 and nxt[i] < 0):
            break
        left, right = prev[i], nxt[i]
        s, e = st[i], en[i]
        if left < 0 or (right >= 0 and frame_logprobs[s:e, val[right]].sum()
                        > frame_logprobs[s:e, val[left]].sum()):
            target = right
        else:
            target = left
        absorb(target, i)
        # equal neighbours join
        for other in (prev[target], nxt[target]):
            if other >= 0 and val[other] == val[target]:
                absorb(target, other)
        if en[target] - st[target] < min_frames:
            heapq.heappush(heap, (en[target] - st[target], target))
    order = [i for i in range(n) if alive[i]]
    return (np.asarray([st[i] for i in order], dtype=np.int64),
            np.asarray([val[i] for i in order], dtype=np.int64))


def merge_equal(segments: Sequence[Segment]) -> list[Segment]:
    """Join neighbours with the same label (confidence: duration-weighted mean)."""
    out: list[Segment] = []
    for seg in segments:
        if out and out[-1].index == seg.index and out[-1].bass == seg.bass:
            prev = out[-1]
            d0, d1 = prev.end - prev.start, seg.end - seg.start
            conf = (prev.confidence * d0 + seg.confidence * d1) / max(d0 + d1, 1e-12)
            out[-1] = replace(prev, end=seg.end, confidence=conf)
        else:
            out.append(seg)
    return out


# ------------------------------------------------------------ beat smoothing ---


def beat_sync(segments: Sequence[Segment], beats: Sequence[float],
              tolerance: float = SNAP_TOLERANCE) -> list[Segment]:
    """Snap every boundary within ``tolerance`` of a beat onto it, then give each chord
    shorter than the local beat period to its longer neighbour (a chord that lasts less
    than a beat is usually a decoding flicker on beat-based music). No beats: unchanged.
    """
    segs = list(segments)
    b = np.asarray(sorted(beats), dtype=np.float64)
    if len(segs) < 2 or b.size < 2:
        return segs
    snapped: list[Segment] = []
    for i, seg in enumerate(segs):
        start = seg.start
        if i > 0:
            j = int(np.argmin(np.abs(b - start)))
            if abs(b[j] - start) <= tolerance:
                start = float(b[j])
            start = max(start, snapped[-1].start)
            snapped[-1] = replace(snapped[-1], end=start)
        snapped.append(replace(seg, start=start))
    segs = [s for s in snapped if s.end > s.start]
    periods = np.diff(b)
    while len(segs) > 1:
        lengths = []
        for s in segs:
            j = min(int(np.searchsorted(b, s.start)), periods.size - 1)
            lengths.append((s.end - s.start) / periods[max(j - 1, 0)])
        # N spans (silence, gaps) are kept however short
        short = [k for k in np.argsort(lengths, kind="stable")
                 if lengths[k] < 0.999 and segs[k].index != N_INDEX]
        if not short:
            break
        i = int(short[0])
        left = segs[i - 1] if i > 0 else None
        right = segs[i + 1] if i + 1 < len(segs) else None
        if left is None or (right is not None
                            and right.end - right.start > left.end - left.start):
            assert right is not None
            segs[i + 1] = replace(right, start=segs[i].start)
        else:
            segs[i - 1] = replace(left, end=segs[i].end)
        del segs[i]
        segs = merge_equal(segs)
    return segs
