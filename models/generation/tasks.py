"""Generation tasks over the transformer (issue #6): continue, melody, harmonize, chords,
next-chord. TASKS.md describes each task, the controls and the measurements.

    generate(GenerationRequest(task="continue", prompt=piece, bars=8), backend)
        -> list[Piece]  (one per variation: seeds seed, seed + 1, ...)
    next_chords(["C", "G", "Am"], "C", n=5, backend=backend) -> [("F", 0.41), ...]

Every sequence is sampled under `grammar.Grammar`, so every returned piece decodes
from a valid token sequence (a playable clip). Variations run as one batch through
the backend. The backend is anything with the `Backend` protocol below
(`backends.load_backend()` gives ONNX Runtime or torch).

    python -m models.generation.tasks --measure-next-chord build/gen-cpu/best.pt
        # top-1/top-3 next-chord accuracy, model vs n-gram, on the validation chords
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from models.generation import grammar as gm
from models.generation import harmony, sampling, tokens
from models.generation.midi_io import ChordParseError, parse_chord, parse_chords, parse_pitch_class
from models.generation.ngram import KneserNeyLM
from models.generation.piece import (
    MAJOR,
    MINOR,
    PITCH_NAMES,
    Piece,
    bar_ticks,
    chord_name,
)
from models.generation.task_tokens import PREFIX_LENGTH, TASK_CHORDS, TASK_LEAD, TASK_MELODY

TASK_NAMES = ("continue", "melody", "harmonize", "chords", "next-chord")
LIMITS = {"bars": (1, 64), "temperature": (0.0, 2.0), "top_p": (0.05, 1.0),
          "variations": (1, 16), "density": gm.DENSITY_RANGE}
DEFAULT_BARS = 8
CHORDS_PER_BAR = 2  # the chords task's default cap (the chord data changes per beat)
HARMONIZE_BEAM = 3
HARMONIZE_CONTEXT = 96  # tokens of the melody before a chord that score it (speed)
# Nats for chord tones on beats in melody-over-chords: calibrated on the validation
# split so the strong-beat chord-tone ratio matches the human melodies
# (python -m benchmarks.generate_chord_tone_bias; TASKS.md).
MELODY_CHORD_TONE_BIAS = 3.5
HARMONIZE_FIT_WEIGHT = 10.0  # nats for a segment whose notes are all chord tones (TASKS.md)
NGRAM_ORDER = 6  # the chord stream's best order on validation (ngram_baseline.json)
MIN_KEY_PITCH_CLASSES = 3  # fewer distinct pitch classes: no key is estimated


class GenerationError(ValueError):
    """Bad input for a generation task (the message says what and how to fix it)."""


class GenerationCancelled(GenerationError):
    """The caller's cancel flag was set."""


class Backend(Protocol):
    """What generation needs from a model runtime (backends.py implements it)."""

    @property
    def vocab_size(self) -> int: ...

    @property
    def max_len(self) -> int: ...

    @property
    def name(self) -> str: ...

    def start(self, batch: int) -> None: ...

    def prefill(self, ids: np.ndarray) -> np.ndarray: ...

    def step(self, ids: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class SpeculativeBackend(Backend, Protocol):
    """A backend that can also score several tokens at once and cut its cache back:
    what speculative decoding needs (backends.py's backends all can)."""

    @property
    def length(self) -> int: ...

    def extend(self, ids: np.ndarray) -> np.ndarray: ...

    def rewind(self, length: int) -> None: ...


ChordsInput = str | Sequence[tuple[int, str]] | Sequence[str] | None


@dataclass
class GenerationRequest:
    """One generation. `bars` None means the task's default: 8 new bars for continue and
    chords, the progression's length for melody, the melody's for harmonize. Chords: a
    string ("C G Am F", one per bar, or with "|" bar lines) or (start_tick, label)
    changes on the 24-ticks-per-quarter grid. Key: "C", "Am", "F# minor", ... (None:
    estimated from the prompt, else C major)."""

    task: str = "continue"
    prompt: Piece | None = None
    chords: ChordsInput = None
    key: str | None = None
    time_signature: tuple[int, int] | None = None
    bars: int | None = None
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    variations: int = 1
    density: float = 1.0
    keep_in_key: bool = False
    pitch_range: tuple[int, int] | None = None
    max_chords_per_bar: int | None = None


@dataclass(frozen=True)
class GenerationProgress:
    fraction: float  # 0..1
    bars_done: int
    bars_total: int
    tokens: int
    message: str = ""


ProgressFn = Callable[[GenerationProgress], None]
CancelFlag = Callable[[], bool] | Any  # a callable, or anything with is_set() (an Event)


# ---------------------------------------------------------------- checking input


def parse_key(text: str | tuple[int, int]) -> tuple[int, int]:
    """(tonic, MAJOR/MINOR) from "C", "Am", "c#m", "F# minor", "Bb major", "A:min"."""
    if isinstance(text, tuple):
        tonic, mode = text
        if not (0 <= tonic < 12 and mode in (MAJOR, MINOR)):
            raise GenerationError(f"key {text} must be (tonic 0..11, 0 major / 1 minor)")
        return int(tonic), int(mode)
    s = str(text).strip()
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]?)\s*[:\s]?\s*(maj|major|min|minor|m|M)?", s)
    if not m:
        raise GenerationError(f"cannot read the key {text!r}: write e.g. C, Am, F# minor, "
                              "Bb major")
    mode = MINOR if (m.group(2) or "").lower() in ("m", "min", "minor") and \
        m.group(2) != "M" else MAJOR
    try:
        return parse_pitch_class(m.group(1)), mode
    except ChordParseError as exc:
        raise GenerationError(str(exc)) from exc


def key_name(tonic: int, mode: int) -> str:
    return PITCH_NAMES[tonic] + (" minor" if mode == MINOR else " major")


def checked(request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
    """The request with its settings clamped to sane ranges, and a message for each
    change. GenerationError for what cannot be fixed (unknown task, bad types)."""
    if request.task not in TASK_NAMES:
        raise GenerationError(f"unknown task {request.task!r}; choose one of "
                              f"{', '.join(TASK_NAMES)}")
    msgs: list[str] = []
    changes: dict[str, Any] = {}
    for name, (lo, hi) in LIMITS.items():
        value = getattr(request, name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or \
                not math.isfinite(value):
            raise GenerationError(f"{name} must be a number, got {value!r}")
        if not lo <= value <= hi:
            clamped = min(max(value, lo), hi)
            if name in ("bars", "variations"):
                clamped = int(clamped)
            msgs.append(f"{name} {value} is outside {lo}..{hi}: {clamped} used")
            changes[name] = clamped
    if request.pitch_range is not None:
        lo, hi = sorted(int(v) for v in request.pitch_range)
        vlo, vhi = tokens.PITCH_RANGE
        fixed = (min(max(lo, vlo), vhi), min(max(hi, vlo), vhi))
        if fixed[1] - fixed[0] < 12:
            fixed = (max(vlo, min(fixed[0], vhi - 12)), max(vlo, min(fixed[0], vhi - 12)) + 12)
        if fixed != tuple(request.pitch_range):
            msgs.append(f"pitch range {tuple(request.pitch_range)} changed to {fixed} "
                        f"(at least an octave within {vlo}..{vhi})")
        changes["pitch_range"] = fixed
    if request.max_chords_per_bar is not None and request.max_chords_per_bar < 1:
        msgs.append("max_chords_per_bar must be at least 1: 1 used")
        changes["max_chords_per_bar"] = 1
    if request.time_signature is not None:
        ts = tuple(request.time_signature)
        if ts not in tokens.TIME_SIGNATURES:
            raise GenerationError(f"time signature {ts[0]}/{ts[1]} is not supported "
                                  "(numerator 1..16 over 1, 2, 4, 8 or 16, at most 4 "
                                  "whole notes per bar)")
    return replace(request, **changes), msgs


def _cancelled(cancel: CancelFlag | None) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


# ---------------------------------------------------------------- pieces and keys


def _prepared(prompt: Piece) -> Piece:
    """A copy that fits the vocabulary: grid durations, one dynamic (the corpus has
    none, so the model never saw Velocity tokens), no chord gaps."""
    p = Piece(prompt.source, prompt.piece_id, prompt.title, prompt.group,
              prompt.notes.copy(), prompt.bars.copy(), prompt.keys.copy(),
              prompt.chords.copy(), prompt.chord_kind)
    if len(p.notes):
        lo, hi = int(p.notes[:, 2].min()), int(p.notes[:, 2].max())
        if lo < tokens.PITCH_RANGE[0] or hi > tokens.PITCH_RANGE[1]:
            raise GenerationError(f"the prompt's pitches {lo}..{hi} are outside "
                                  f"{tokens.PITCH_RANGE[0]}..{tokens.PITCH_RANGE[1]}")
        if p.notes[:, 0].min() < 0:
            raise GenerationError("a note of the prompt starts before tick 0")
    if not len(p.bars):
        p.bars = np.array([[0, 4, 4]], np.int32)
    tokens.normalize(p)
    if len(p.notes):
        p.notes[:, 3] = tokens.DEFAULT_VELOCITY
    return p


def _estimate_key(notes: np.ndarray, chords: np.ndarray) -> tuple[int, int] | None:
    """Krumhansl-Kessler on the notes (by duration) when there are notes; for chords
    alone, the key whose scale holds the most chord time, with a bonus for its tonic
    chord at the start and at the end. None when fewer than MIN_KEY_PITCH_CLASSES
    distinct pitch classes are there."""
    pcs = set((notes[:, 2] % 12).tolist()) if len(notes) else set()
    for _, _, root, q in chords.tolist():
        pcs |= gm.chord_pitch_classes(root, q)
    if len(pcs) < MIN_KEY_PITCH_CLASSES:
        return None
    if len(notes):
        # Tunes start and end on the tonic more often than not: the last note counts
        # as a quarter of the melody's time, the first as a tenth (short prompts gave
        # keys a fifth away without it, e.g. F major for "Twinkle, Twinkle" in C).
        n = notes.astype(np.int64)
        held = int(n[:, 1].sum())
        extra = np.array([[0, max(1, held // 4), n[-1, 2], 80],
                          [0, max(1, held // 10), n[0, 2], 80]], np.int64)
        return harmony.estimate_key(np.vstack([n[:, :4], extra]))
    best: tuple[float, int, int] = (-1.0, 0, MAJOR)
    total = float(chords[:, 1].sum())
    for mode in (MAJOR, MINOR):
        tonic_quality = 0 if mode == MAJOR else 1
        for tonic in range(12):
            scale = gm.scale_pitch_classes(tonic, mode)
            score = sum(d for _, d, r, q in chords.tolist()
                        if gm.chord_pitch_classes(r, q) <= scale) / total
            for r, q in ((chords[0, 2], chords[0, 3]), (chords[-1, 2], chords[-1, 3])):
                if r == tonic and q in (tonic_quality, tonic_quality + 5):
                    score += 0.25
            if score > best[0]:
                best = (score, tonic, mode)
    return best[1], best[2]


def _resolve_key(req: GenerationRequest, notes: np.ndarray, chords: np.ndarray,
                 stated: np.ndarray | None, msgs: list[str]) -> tuple[int, int]:
    if req.key is not None:
        return parse_key(req.key)
    if stated is not None and len(stated):
        return int(stated[0, 1]), int(stated[0, 2])
    est = _estimate_key(notes, chords)
    if est is None:
        msgs.append("too few notes to tell the key: C major assumed (set a key to "
                    "choose another)")
        return 0, MAJOR
    msgs.append(f"key estimated from the input: {key_name(*est)}")
    return est


def _meter(req: GenerationRequest, prompt: Piece | None, msgs: list[str]) -> tuple[int, int]:
    if prompt is not None and len(prompt.bars):
        ts = (int(prompt.bars[-1, 1]), int(prompt.bars[-1, 2]))
        if req.time_signature is not None and tuple(req.time_signature) != ts:
            msgs.append(f"the prompt is in {ts[0]}/{ts[1]}: its meter is kept")
        if ts not in tokens.TIME_SIGNATURES:
            raise GenerationError(f"the prompt's time signature {ts[0]}/{ts[1]} is not "
                                  "supported")
        return ts
    return tuple(req.time_signature) if req.time_signature else (4, 4)  # type: ignore[return-value]


def _chord_rows(chords: ChordsInput, meter: tuple[int, int]) -> np.ndarray:
    """Chord rows (onset, dur, root, quality) from a string or (tick, label) changes;
    the last chord lasts to the end of its bar."""
    if chords is None:
        return np.zeros((0, 4), np.int32)
    try:
        if isinstance(chords, str):
            return parse_chords(chords, meter)
        items = list(chords)
        if items and all(isinstance(c, str) for c in items):
            return parse_chords(" ".join(str(c) for c in items), meter)
        bar = bar_ticks(*meter)
        changes = sorted((int(t), parse_chord(str(label))) for t, label in items)
    except ChordParseError as exc:
        raise GenerationError(str(exc)) from exc
    rows = []
    for i, (t, ch) in enumerate(changes):
        if t < 0:
            raise GenerationError(f"a chord starts before tick 0 ({t})")
        stop = changes[i + 1][0] if i + 1 < len(changes) else (t // bar + 1) * bar
        if ch is not None and stop > t:
            rows.append([t, stop - t, ch[0], ch[1]])
    return np.array(rows, np.int32).reshape(-1, 4)


def _bars_array(n: int, meter: tuple[int, int]) -> np.ndarray:
    bar = bar_ticks(*meter)
    return np.array([[i * bar, *meter] for i in range(max(n, 1))], np.int32)


def _tail(piece: Piece, first_bar: int, name: str) -> Piece:
    """Bars from `first_bar` on, moved to tick 0 (a new clip)."""
    if first_bar <= 0 or first_bar >= len(piece.bars):
        start = 0 if first_bar <= 0 else piece.end_tick()
    else:
        start = int(piece.bars[first_bar, 0])
    notes = piece.notes[piece.notes[:, 0] >= start].copy()
    notes[:, 0] -= start
    bars = piece.bars[piece.bars[:, 0] >= start].copy()
    bars[:, 0] -= start
    ch = piece.chords
    ch = ch[ch[:, 0] + ch[:, 1] > start].copy()
    if len(ch):
        cut = np.maximum(ch[:, 0], start)
        ch[:, 1] -= cut - ch[:, 0]
        ch[:, 0] = cut - start
    keys = piece.keys.copy()
    before = keys[keys[:, 0] <= start]
    keys = np.vstack([before[-1:], keys[keys[:, 0] > start]]) if len(before) else keys
    keys[:, 0] = np.maximum(keys[:, 0] - start, 0)
    return Piece("generated", name, title=name, notes=notes, bars=bars, keys=keys,
                 chords=ch, chord_kind="generated" if len(ch) else "")


def _split_at_bars(chords: np.ndarray, bars: np.ndarray, end: int) -> np.ndarray:
    """Chord rows cut at every bar line, so each bar starts with a chord of its own."""
    lines = sorted(set(bars[:, 0].tolist()) | {end})
    rows = []
    for onset, dur, root, q in chords.tolist():
        stop = onset + dur
        cuts = [onset] + [b for b in lines if onset < b < stop] + [stop]
        rows += [[a, b - a, root, q] for a, b in itertools.pairwise(cuts)]
    return np.array(rows, np.int32).reshape(-1, 4)


# ---------------------------------------------------------------- sampling


@dataclass
class _Job:
    """One constrained sampling run: the sequence so far (data tokens, header first)
    and the constraints for what follows; `shift`: semitones the sequence was moved up
    (into a key the model knows well), to be undone on the result."""

    task_token: int
    seq: list[int]
    constraints: gm.Constraints
    prompt_bars: int
    new_bars: int
    msgs: list[str] = field(default_factory=list)
    shift: int = 0


# The chords stream is trained in its pieces' own keys (MODEL.md: the corpus's keys
# and modes carry information the n-gram uses too), and they are few: 95 % of its
# chord changes are in G, F, C or D major or in A, D or G minor (train split).
# Progressions in other keys are written in the nearest of these and moved back.
CHORD_STREAM_TONICS: dict[int, tuple[int, ...]] = {MAJOR: (0, 2, 5, 7), MINOR: (2, 7, 9)}


def chord_stream_shift(key: tuple[int, int]) -> int:
    """Semitones (-6..5, smallest first) that move `key` to a tonic the chords stream
    was trained in."""
    tonic, mode = key
    homes = CHORD_STREAM_TONICS.get(mode, CHORD_STREAM_TONICS[MAJOR])
    return min(range(-6, 6), key=lambda s: ((tonic + s) % 12 not in homes, abs(s), s))


def _choose(logits: np.ndarray, idx: np.ndarray, bias: np.ndarray | None,
            temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """One token among the allowed ids `idx` (grammar.choices): temperature, the
    grammar's bias, then nucleus (top-p) sampling."""
    p = sampling.probabilities(logits, idx, bias, temperature, top_p)
    if temperature <= 0:
        return int(idx[np.argmax(p)])
    return sampling.pick(p, idx, rng)


def _header(task: int, key: tuple[int, int], meter: tuple[int, int]) -> list[int]:
    return [task, tokens.BOS, gm.key_token(*key), gm.time_signature_token(*meter)]


def _fit_prompt(job: _Job, max_len: int) -> list[int]:
    """The model's input for a prompt: [task] + the sequence, or, when that is longer
    than half the context, the header and the last whole bars that fit."""
    seq = [job.task_token, *job.seq]
    budget = max_len // 2
    if len(seq) <= budget:
        return seq
    g = gm.Grammar(job.constraints).feed_all(job.seq)
    head = _header(job.task_token, g.key, g.meter)
    body = job.seq[tokens.HEADER_LENGTH:]
    room = budget - len(head)
    bar_starts = [i for i, t in enumerate(body) if t == tokens.BAR]
    start = next((i for i in bar_starts if len(body) - i <= room), len(body) - room)
    kept = sum(1 for i in bar_starts if i >= start)
    job.msgs.append(f"the prompt is longer than the model's context: its last {kept} "
                    "bars are used")
    return head + body[start:]


def _bars_done(job: _Job, g: gm.Grammar) -> int:
    """New bars finished: the bar being written does not count until it is closed."""
    return job.new_bars if g.done else min(max(g.bars - job.prompt_bars - 1, 0), job.new_bars)


def _token_limit(job: _Job) -> int:
    """More new tokens than this means the grammar let a bar run on (a bug)."""
    return (job.prompt_bars + job.new_bars + 1) * (4 * tokens.MAX_BAR + 4)


def _slid(job: _Job, g: gm.Grammar, model_seq: list[int], max_len: int) -> list[int]:
    """The model's input once the context is full: the header (current key and meter)
    and the latest tokens, as the model saw long pieces in training (header + a window
    of the body)."""
    keep = max(8, max_len // 2 - PREFIX_LENGTH)
    return _header(job.task_token, g.key, g.meter) + model_seq[-keep:]


def _sample(job: _Job, backend: Backend, seeds: list[int], temperature: float,
            top_p: float, progress: ProgressFn | None, cancel: CancelFlag | None
            ) -> list[list[int]]:
    """Sample one continuation per seed in a single batch; the full token sequences
    (data tokens, header first, EOS last)."""
    b = len(seeds)
    if b == 1 and isinstance(backend, SpeculativeBackend):
        return [_sample_speculative(job, backend, seeds[0], temperature, top_p, progress,
                                    cancel)]
    v = backend.vocab_size
    grams = [gm.Grammar(job.constraints, v).feed_all(job.seq) for _ in seeds]
    for g in grams:
        g.start_generation()
    rngs = [np.random.default_rng(s) for s in seeds]
    seqs = [list(job.seq) for _ in seeds]
    inp = _fit_prompt(job, backend.max_len)
    model_seqs = [list(inp) for _ in seeds]  # what the model has seen, row by row
    backend.start(b)
    logits = backend.prefill(np.array(model_seqs, dtype=np.int64))
    length = len(inp)
    total = job.new_bars
    limit = _token_limit(job)
    n = 0
    while True:
        if _cancelled(cancel):
            raise GenerationCancelled("generation cancelled")
        toks = np.full(b, tokens.EOS, dtype=np.int64)
        for i, g in enumerate(grams):
            if g.done:
                continue
            allowed, bias = g.choices()
            t = _choose(logits[i], allowed, bias, temperature, top_p, rngs[i])
            g.feed(t)
            seqs[i].append(t)
            toks[i] = t
        n += 1
        if progress is not None:
            done = sum(_bars_done(job, g) for g in grams) / b
            progress(GenerationProgress(done / max(total, 1), int(done), total, n))
        if all(g.done for g in grams):
            return seqs
        if n > limit:  # the grammar bounds every bar: this would be a bug
            raise GenerationError("generation did not end (internal error)")
        for i in range(b):
            model_seqs[i].append(int(toks[i]))
        if length + 1 > backend.max_len:
            model_seqs = [_slid(job, g, m, backend.max_len)
                          for g, m in zip(grams, model_seqs, strict=True)]
            backend.start(b)
            logits = backend.prefill(np.array(model_seqs, dtype=np.int64))
            length = len(model_seqs[0])
        else:
            logits = backend.step(toks)
            length += 1


def _sample_speculative(job: _Job, backend: SpeculativeBackend, seed: int, temperature: float,
                        top_p: float, progress: ProgressFn | None,
                        cancel: CancelFlag | None) -> list[int]:
    """One continuation (batch 1), the same distribution as `_sample` in fewer model
    runs: after each sampled token the grammar guesses the next few of a plain line
    (`Grammar.likely_next`: the same duration, the position where the note ends),
    one run scores the token and the guesses together, and speculative sampling
    accepts each guess with its probability, or replaces the first one it rejects
    (the cache is rewound there). Most notes then cost one run instead of three."""
    g = gm.Grammar(job.constraints, backend.vocab_size).feed_all(job.seq)
    g.start_generation()
    rng = np.random.default_rng(seed)
    seq = list(job.seq)
    model_seq = _fit_prompt(job, backend.max_len)
    backend.start(1)
    logits = backend.prefill(np.array([model_seq], dtype=np.int64))[0]
    total = job.new_bars
    limit = _token_limit(job)

    def choose(row: np.ndarray) -> int:
        idx, bias = g.choices()
        return _choose(row, idx, bias, temperature, top_p, rng)

    def take(t: int) -> None:
        g.feed(t)
        seq.append(t)
        model_seq.append(t)
        if progress is not None:
            done = _bars_done(job, g)
            progress(GenerationProgress(done / max(total, 1), done, total,
                                        len(seq) - len(job.seq)))

    token = choose(logits)
    while True:
        if _cancelled(cancel):
            raise GenerationCancelled("generation cancelled")
        take(token)
        if g.done:
            return seq
        if len(seq) - len(job.seq) > limit:  # the grammar bounds every bar
            raise GenerationError("generation did not end (internal error)")
        if backend.length + 1 > backend.max_len:
            model_seq = _slid(job, g, model_seq, backend.max_len)
            backend.start(1)
            token = choose(backend.prefill(np.array([model_seq], dtype=np.int64))[0])
            continue
        room = backend.max_len - backend.length - 1
        drafts = g.likely_next()[:room]
        if not drafts:
            token = choose(backend.step(np.array([token]))[0])
            continue
        base = backend.length
        rows = backend.extend(np.array([[token, *drafts]], dtype=np.int64))[0]
        for j, d in enumerate(drafts):
            idx, bias = g.choices()
            p = sampling.probabilities(rows[j], idx, bias, temperature, top_p)
            other = sampling.accept_or_replace(p, idx, d, rng)
            if other is not None:
                backend.rewind(base + 1 + j)  # keep the token and the accepted guesses
                token = other
                break
            take(d)
            if g.done:
                return seq
        else:
            token = choose(rows[len(drafts)])


def _decode(seq: list[int]) -> Piece:
    return tokens.decode(np.array(seq, dtype=np.int64))


def _constraints(req: GenerationRequest, stream: str, end_bar: int,
                 forced: dict[int, int] | None = None,
                 max_chords: int | None = None, chord_tones: float = 0.0) -> gm.Constraints:
    return gm.Constraints(stream=stream, end_bar=end_bar, keep_in_key=req.keep_in_key,
                          pitch_range=req.pitch_range or tokens.PITCH_RANGE,
                          density=float(req.density), forced_chords=forced or {},
                          max_chords_per_bar=max_chords, chord_tone_bias=chord_tones)


def _with_velocity(piece: Piece, prompt: Piece | None) -> Piece:
    """Generated notes at the prompt's median velocity (the model writes one dynamic),
    in the vocabulary's bins so the piece still tokenizes."""
    if prompt is not None and len(prompt.notes) and len(piece.notes):
        piece.notes[:, 3] = tokens.quantize_velocity(np.array(np.median(prompt.notes[:, 3])))
    return piece


# ---------------------------------------------------------------- tasks


def _continue(req: GenerationRequest, msgs: list[str]) -> tuple[_Job, Piece | None]:
    prompt = req.prompt
    meter = _meter(req, prompt, msgs)
    bars = req.bars or DEFAULT_BARS
    if prompt is None or not len(prompt.notes):
        msgs.append("the prompt has no notes: writing a new melody")
        key = _resolve_key(req, np.zeros((0, 4)), np.zeros((0, 4)), None, msgs)
        seq = [*_header(TASK_MELODY, key, meter)[1:], tokens.BAR]
        return _Job(TASK_MELODY, seq, _constraints(req, "melody", bars), 0, bars), None
    p = _prepared(prompt)
    if len(p.notes) == 1:
        msgs.append("the prompt has a single note: the continuation has little to go on")
    key = _resolve_key(req, p.notes, p.chords, prompt.keys, msgs)
    p.keys = np.array([[0, *key]], np.int32)
    lead = len(p.chords) > 0
    try:
        seq = tokens.encode(p, notes=True, chords=lead).tolist()[:-1]
    except tokens.TokenizeError as exc:
        raise GenerationError(f"the prompt cannot be tokenized: {exc}") from exc
    prompt_bars = seq.count(tokens.BAR)
    seq.append(tokens.BAR)
    task = TASK_LEAD if lead else TASK_MELODY
    # A lead sheet goes on at its own harmonic rhythm: the model learnt from chorales,
    # whose chords change on every beat, and would fill a chord-a-bar song with them.
    max_chords = req.max_chords_per_bar or (_busiest_bar(p) if lead else None)
    job = _Job(task, seq, _constraints(req, "lead" if lead else "melody", prompt_bars + bars,
                                       max_chords=max_chords), prompt_bars, bars)
    return job, prompt


def _busiest_bar(piece: Piece) -> int | None:
    """The most chord changes any bar of the piece holds (None without chords)."""
    if not len(piece.chords) or not len(piece.bars):
        return None
    bar = np.searchsorted(piece.bars[:, 0], piece.chords[:, 0], side="right") - 1
    return int(np.bincount(np.clip(bar, 0, None)).max())


def _progression(req: GenerationRequest, msgs: list[str]) -> tuple[np.ndarray, tuple[int, int]]:
    meter = _meter(req, req.prompt, msgs)
    rows = _chord_rows(req.chords, meter)
    if not len(rows) and req.prompt is not None:
        rows = req.prompt.chords.copy()
    return rows, meter


def _melody(req: GenerationRequest, msgs: list[str]) -> tuple[_Job, np.ndarray]:
    rows, meter = _progression(req, msgs)
    if not len(rows):
        raise GenerationError("melody needs chords: give a chord string such as "
                              "\"C G Am F\" or a prompt with chords")
    bar = bar_ticks(*meter)
    span = math.ceil(int((rows[:, 0] + rows[:, 1]).max()) / bar)
    bars = req.bars or span
    if bars > span:  # loop the progression to fill the bars asked for
        reps = -(-bars // span)
        rows = np.vstack([rows + np.array([r * span * bar, 0, 0, 0], np.int32)
                          for r in range(reps)])
    end = bars * bar
    rows = rows[rows[:, 0] < end].copy()
    rows[:, 1] = np.minimum(rows[:, 1], end - rows[:, 0])
    key = _resolve_key(req, np.zeros((0, 4), np.int64), rows,
                       req.prompt.keys if req.prompt is not None else None, msgs)
    forced: dict[int, int] = {}
    current = None
    for onset, _, root, q in rows.tolist():
        tok = gm.chord_token(root, q)
        if tok != current:  # a chord token is a change: repeats are merged
            forced[onset] = tok
        current = tok
    seq = [*_header(TASK_LEAD, key, meter)[1:], tokens.BAR]
    job = _Job(TASK_LEAD, seq, _constraints(req, "lead", bars, forced,
                                            chord_tones=MELODY_CHORD_TONE_BIAS), 0, bars)
    return job, rows


def _chords(req: GenerationRequest, msgs: list[str]) -> _Job:
    rows, meter = _progression(req, msgs)
    bars = req.bars or DEFAULT_BARS
    key = _resolve_key(req, np.zeros((0, 4), np.int64), rows,
                       req.prompt.keys if req.prompt is not None else None, msgs)
    cap = req.max_chords_per_bar or CHORDS_PER_BAR
    shift = chord_stream_shift(key)
    if not len(rows):
        moved = ((key[0] + shift) % 12, key[1])
        seq = [*_header(TASK_CHORDS, moved, meter)[1:], tokens.BAR]
        return _Job(TASK_CHORDS, seq, _constraints(req, "chords", bars, max_chords=cap), 0, bars,
                    shift=shift)
    bar = bar_ticks(*meter)
    n_bars = math.ceil(int((rows[:, 0] + rows[:, 1]).max()) / bar)
    p = Piece("prompt", "chords", bars=_bars_array(n_bars, meter), chords=rows,
              keys=np.array([[0, *key]], np.int32)).transposed(shift)
    tokens.normalize(p)
    seq = tokens.encode(p, notes=False, chords=True).tolist()[:-1]
    prompt_bars = seq.count(tokens.BAR)
    seq.append(tokens.BAR)
    return _Job(TASK_CHORDS, seq, _constraints(req, "chords", prompt_bars + bars, max_chords=cap),
                prompt_bars, bars, shift=shift)


def generate(request: GenerationRequest, backend: Backend,
             progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
             messages: list[str] | None = None) -> list[Piece]:
    """Run a task; one Piece per variation (seeds seed, seed + 1, ...).

    continue: the new bars only, from tick 0 (a new clip); melody: the new melody with
    the given chords; harmonize: the prompt's melody with chords, each bar starting with
    a chord; chords: the new bars of the progression (after the given one, if any);
    next-chord: the given progression plus one suggested chord in a new bar, one
    piece per suggestion (most likely first). Messages about changed settings and
    guesses (key, clamped values) go to `messages` and to `progress`."""
    req, msgs = checked(request)
    t0 = time.perf_counter()
    if req.task == "next-chord":
        rows, meter = _progression(req, msgs)
        key = _resolve_key(req, np.zeros((0, 4), np.int64), rows, None, msgs)
        labels = [(int(t), chord_name(r, q)) for t, _, r, q in rows.tolist()]
        suggestions = next_chords(labels, key, n=req.variations, backend=backend,
                                  time_signature=meter)
        out = []
        bar = bar_ticks(*meter)
        n_bars = math.ceil(int((rows[:, 0] + rows[:, 1]).max()) / bar) if len(rows) else 0
        for label, prob in suggestions:
            ch = parse_chord(label)
            assert ch is not None
            new = np.vstack([rows, [[n_bars * bar, bar, ch[0], ch[1]]]]).astype(np.int32)
            out.append(Piece("generated", f"next-chord-{label}", title=f"{label} ({prob:.2f})",
                             bars=_bars_array(n_bars + 1, meter), chords=new,
                             keys=np.array([[0, *key]], np.int32), chord_kind="generated"))
        _report(progress, msgs, messages)
        return out
    if req.task == "harmonize":
        pieces = harmonize(req, backend, progress=progress, cancel=cancel, messages=msgs)
        _report(progress, msgs, messages)
        return pieces
    prompt: Piece | None = None
    given: np.ndarray | None = None
    if req.task == "continue":
        job, prompt = _continue(req, msgs)
    elif req.task == "melody":
        job, given = _melody(req, msgs)
    else:
        job = _chords(req, msgs)
    seeds = [req.seed + i for i in range(int(req.variations))]
    seqs = _sample(job, backend, seeds, float(req.temperature), float(req.top_p),
                   progress, cancel)
    msgs += job.msgs
    out = []
    for seed, seq in zip(seeds, seqs, strict=True):
        piece = _decode(seq)
        if job.shift:
            piece = piece.transposed(-job.shift)
        name = f"{req.task}-{seed}"
        piece = _tail(piece, job.prompt_bars, name)
        if given is not None:
            piece.chords = given.copy()
            piece.chord_kind = "given"
        out.append(_with_velocity(piece, prompt))
    msgs.append(f"{len(out)} variation(s) in {time.perf_counter() - t0:.2f} s "
                f"on {backend.name}")
    _report(progress, msgs, messages)
    return out


def _report(progress: ProgressFn | None, msgs: list[str], sink: list[str] | None) -> None:
    if sink is not None:
        sink.extend(m for m in msgs if m not in sink)
    if progress is not None:
        for m in msgs:
            progress(GenerationProgress(1.0 if m.startswith(tuple("0123456789")) else 0.0,
                                        0, 0, 0, m))


# ---------------------------------------------------------------- harmonize


def harmony_candidates(key: tuple[int, int]) -> list[int]:
    """Chord tokens harmonize chooses from: the key's diatonic triads, V and V7, and
    common borrowed chords (major: iv, bVII, II = V/V; minor: IV, v, vii°7)."""
    tonic, mode = key
    if mode == MAJOR:
        degrees = [(0, "maj"), (2, "min"), (4, "min"), (5, "maj"), (7, "maj"), (9, "min"),
                   (11, "dim"), (7, "7"), (5, "min"), (10, "maj"), (2, "maj")]
    else:
        degrees = [(0, "min"), (2, "dim"), (3, "maj"), (5, "min"), (7, "maj"), (8, "maj"),
                   (10, "maj"), (7, "7"), (5, "maj"), (7, "min"), (11, "dim7")]
    q = {name: i for i, name in enumerate(tokens.QUALITY_NAMES)}
    return [gm.chord_token((tonic + d) % 12, q[name]) for d, name in degrees]


def _score(backend: Backend, prefixes: list[list[int]], segs: list[list[int]],
           cancel: CancelFlag | None, prefix_ids: list[int] | None = None) -> np.ndarray:
    """ln P(seg | prefix) per row; rows batched by (prefix length, segment length).

    Rows sharing a prefix (the same `prefix_ids` entry: one beam's candidates) need its
    cache only once: when the backend has the optional `select(rows)` (new row i = old
    row rows[i]), each distinct prefix is prefilled once and its cache copied to its
    rows, instead of prefilling every row (about 6 times less work for harmonize)."""
    out = np.zeros(len(prefixes))
    select = getattr(backend, "select", None)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (p, s) in enumerate(zip(prefixes, segs, strict=True)):
        groups.setdefault((len(p), len(s)), []).append(i)
    for (_, seg_len), idx in groups.items():
        if _cancelled(cancel):
            raise GenerationCancelled("generation cancelled")
        if select is not None and prefix_ids is not None:
            uniq = sorted({prefix_ids[i] for i in idx})
            first = {u: next(i for i in idx if prefix_ids[i] == u) for u in uniq}
            backend.start(len(uniq))
            logits_u = backend.prefill(np.array([prefixes[first[u]] for u in uniq],
                                                dtype=np.int64))
            rows = np.array([uniq.index(prefix_ids[i]) for i in idx], dtype=np.int64)
            select(rows)
            logits = logits_u[rows]
        else:
            backend.start(len(idx))
            logits = backend.prefill(np.array([prefixes[i] for i in idx], dtype=np.int64))
        seg = np.array([segs[i] for i in idx], dtype=np.int64)
        lp = np.zeros(len(idx))
        for j in range(seg_len):
            z = logits.astype(np.float64)
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            lp += logp[np.arange(len(idx)), seg[:, j]]
            if j + 1 < seg_len:
                logits = backend.step(seg[:, j])
        out[idx] = lp
    return out


def harmonize(request: GenerationRequest, backend: Backend, *,
              progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
              messages: list[str] | None = None, beam: int = HARMONIZE_BEAM,
              fit_weight: float | None = None) -> list[Piece]:
    """Chords for the prompt's melody: per segment (a bar, or half a bar in bars of 4+
    beats), every candidate chord (harmony_candidates) or keeping the chord sounding
    is scored by the model as ln P(chord token, the segment's notes | what comes
    before) on the lead stream, since the chord precedes its notes; a beam search over
    the segments keeps the `beam` best. `fit_weight` (default HARMONIZE_FIT_WEIGHT)
    adds that many nats times the share of the segment's note time that are chord
    tones. Variations with temperature > 0 rank the candidates with Gumbel noise
    (sampling without replacement at that temperature)."""
    req, msgs = checked(request)
    prompt = req.prompt
    if prompt is None or not len(prompt.notes):
        raise GenerationError("harmonize needs a melody: the prompt has no notes")
    p = _prepared(prompt)
    _meter(req, prompt, msgs)
    key = _resolve_key(req, p.notes, np.zeros((0, 4), np.int32), prompt.keys, msgs)
    if req.bars is not None:
        msgs.append("harmonize keeps the melody's length (bars is ignored)")
    p.keys = np.array([[0, *key]], np.int32)
    bars = tokens.regular_bars(p)
    end = int(bars[-1, 0]) + bar_ticks(int(bars[-1, 1]), int(bars[-1, 2]))
    segs = harmony.segments(bars, end, "half")
    p.chords = np.array([[a, b - a, 0, 0] for a, b in segs], np.int32)
    try:
        seq = tokens.encode(p, notes=True, chords=True).tolist()
    except tokens.TokenizeError as exc:
        raise GenerationError(f"the melody cannot be tokenized: {exc}") from exc
    slots = [i for i, t in enumerate(seq) if gm.CHORD0 <= t < gm.CHORD_END]
    assert len(slots) == len(segs)
    note_after = [gm.VEL0 <= seq[i + 1] < gm.PITCH_END for i in slots]
    spans = [seq[slots[k] - 1:(slots[k + 1] - 1 if k + 1 < len(slots) else len(seq) - 1)]
             for k in range(len(slots))]
    head = [TASK_LEAD, *seq[:tokens.HEADER_LENGTH]]
    start_body = seq[tokens.HEADER_LENGTH:slots[0] - 1]
    cands = harmony_candidates(key)
    if req.keep_in_key:
        scale = gm.scale_pitch_classes(*key)
        cands = [c for c in cands if gm.chord_pitch_classes(*gm.chord_of_token(c)) <= scale]
    context = min(HARMONIZE_CONTEXT, backend.max_len - max(len(s) for s in spans)
                  - len(head) - 2)
    if context < 8:
        raise GenerationError("a bar of this melody is too long for the model's context")
    fit_w = HARMONIZE_FIT_WEIGHT if fit_weight is None else float(fit_weight)
    shares = []  # per segment: the share of note time of each pitch class
    for a, b in segs:
        w = harmony.pc_weights(p.notes, a, b)
        shares.append(w / w.sum() if w.sum() > 0 else w)

    def fit(k: int, chord: int | None) -> float:
        if chord is None or not fit_w:
            return 0.0
        return fit_w * float(sum(shares[k][pc]
                                 for pc in gm.chord_pitch_classes(*gm.chord_of_token(chord))))

    out = []
    temperature = float(req.temperature)
    for v in range(int(req.variations)):
        rng = np.random.default_rng(req.seed + v)
        # beam: (score, body tokens, current chord token or None, chosen per segment)
        beams: list[tuple[float, list[int], int | None, list[int | None]]] = [
            (0.0, list(start_body), None, [])]
        for k, span in enumerate(spans):
            prefixes, seg_rows, meta = [], [], []
            for bi, (_, body, cur, _) in enumerate(beams):
                prefix = head + body[-context:]
                for c in [*cands, None]:
                    if c == cur or (c is None and cur is None):
                        continue
                    if c is None:
                        seg = span[2:] if not note_after[k] else [span[0], *span[2:]]
                    else:
                        seg = [span[0], c, *span[2:]]
                    prefixes.append(prefix)
                    seg_rows.append(seg)
                    meta.append((bi, c, seg))
            scores = _score(backend, prefixes, seg_rows, cancel, [m[0] for m in meta])
            total = np.array([beams[bi][0] + fit(k, beams[bi][2] if c is None else c)
                              for bi, c, _ in meta]) + scores
            rank = total.copy()
            if temperature > 0:
                rank = total / temperature + rng.gumbel(size=len(total))
            order = np.argsort(-rank)[:beam]
            new_beams = []
            for j in order:
                bi, c, seg = meta[j]
                _, body, cur, chosen = beams[bi]
                new_beams.append((float(total[j]), body + seg, cur if c is None else c,
                                  [*chosen, c]))
            beams = new_beams
            if progress is not None:
                progress(GenerationProgress((v + (k + 1) / len(spans)) / req.variations,
                                            k + 1, len(spans), 0))
        _, _, _, chosen = beams[0]
        out.append(_harmonized_piece(prompt, p, segs, chosen, bars, end, req.seed + v))
    if messages is not None:
        messages.extend(msgs)
    return out


def _harmonized_piece(prompt: Piece, prepared: Piece, segs: list[tuple[int, int]],
                      chosen: list[int | None], bars: np.ndarray, end: int,
                      seed: int) -> Piece:
    labels = []
    current: int | None = None
    for (a, b), c in zip(segs, chosen, strict=True):
        current = c if c is not None else current
        assert current is not None
        root, q = gm.chord_of_token(current)
        labels.append((a, b - a, root, q))
    chords = _split_at_bars(harmony.merge_runs(labels), bars, end)
    name = f"harmonize-{seed}"
    return Piece("generated", name, title=name, notes=prompt.notes.copy(),
                 bars=prepared.bars.copy(), keys=prepared.keys.copy(), chords=chords,
                 chord_kind="generated")


# ---------------------------------------------------------------- next chord


@cache
def chord_ngram() -> KneserNeyLM:
    """The chords-stream n-gram (order 6, train split): fitted on first use, about
    0.6 s here (loading the dataset included), so it is not cached on disk."""
    from models.generation import dataset_cache
    from models.generation.streams import chord_stream

    ds = dataset_cache.load()
    stream = chord_stream(ds.chord_pieces("train"))
    return KneserNeyLM(NGRAM_ORDER, len(tokens.VOCAB)).fit(stream.sequences)


def _history_sequence(history: ChordsInput, key: tuple[int, int],
                      meter: tuple[int, int], shift: int = 0) -> list[int]:
    """Chords-stream tokens of a progression (header first, no EOS) followed by the
    next bar's first position: where the next chord's token would stand; moved up
    `shift` semitones (key and chords)."""
    rows = _chord_rows(history, meter) if history else np.zeros((0, 4), np.int32)
    if not len(rows):
        return [*_header(TASK_CHORDS, ((key[0] + shift) % 12, key[1]), meter)[1:],
                tokens.BAR, gm.POS0]
    bar = bar_ticks(*meter)
    n_bars = math.ceil(int((rows[:, 0] + rows[:, 1]).max()) / bar)
    p = Piece("history", "chords", bars=_bars_array(n_bars, meter), chords=rows,
              keys=np.array([[0, *key]], np.int32)).transposed(shift)
    tokens.normalize(p)
    return [*tokens.encode(p, notes=False, chords=True).tolist()[:-1], tokens.BAR, gm.POS0]


def _current_chord(seq: list[int]) -> int | None:
    for t in reversed(seq):
        if gm.CHORD_N <= t < gm.CHORD_END:
            return None if t == gm.CHORD_N else t
    return None


def _candidate_chords(current: int | None) -> np.ndarray:
    c = np.arange(gm.CHORD0, gm.CHORD_END)
    return c[c != current] if current is not None else c


def ngram_chord_probs(seq: list[int], lm: KneserNeyLM | None = None) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(candidate chord tokens, P(chord | seq) renormalised over them) by the n-gram."""
    lm = lm or chord_ngram()
    cands = _candidate_chords(_current_chord(seq))
    ctx = lm.pad(np.array(seq, np.int64))[-(lm.max_order - 1):]
    windows = np.column_stack([np.tile(ctx, (len(cands), 1)), cands])
    p = lm.prob_windows(windows)
    return cands, p / p.sum()


def model_chord_probs(seq: list[int], backend: Backend) -> tuple[np.ndarray, np.ndarray]:
    """(candidate chord tokens, P(chord | seq) renormalised over them) by the model."""
    x = [TASK_CHORDS, *seq]
    if len(x) > backend.max_len:
        g = gm.Grammar(gm.Constraints(stream="chords")).feed_all(seq)
        x = _header(TASK_CHORDS, g.key, g.meter) + x[-(backend.max_len - PREFIX_LENGTH):]
    backend.start(1)
    z = backend.prefill(np.array([x], dtype=np.int64))[0].astype(np.float64)
    cands = _candidate_chords(_current_chord(seq))
    zc = z[cands]
    zc = np.exp(zc - zc.max())
    return cands, zc / zc.sum()


def next_chords(history: ChordsInput, key: str | tuple[int, int] | None, n: int = 5, *,
                backend: Backend | None = None, time_signature: tuple[int, int] = (4, 4),
                source: str = "auto") -> list[tuple[str, float]]:
    """The n most likely next chords after a progression (a string "C G Am", labels, or
    (start_tick, label) changes), as (label, probability) given that the chord changes
    at the next bar; the probabilities sum to at most 1. `source`: "model" (needs a
    backend), "ngram", or "auto" (NEXT_CHORD_SOURCE's choice, measured on validation,
    the n-gram when no backend is given)."""
    if not 1 <= n <= 12 * len(tokens.QUALITY_NAMES) - 1:
        raise GenerationError(f"n must be between 1 and {12 * len(tokens.QUALITY_NAMES) - 1}")
    if tuple(time_signature) not in tokens.TIME_SIGNATURES:
        raise GenerationError(f"time signature {time_signature} is not supported")
    k = parse_key(key) if key is not None else None
    if k is None:
        rows = _chord_rows(history, time_signature) if history else np.zeros((0, 4))
        k = _estimate_key(np.zeros((0, 4)), rows) or (0, MAJOR)
    shift = chord_stream_shift(k)
    seq = _history_sequence(history, k, tuple(time_signature), shift)  # type: ignore[arg-type]
    use = NEXT_CHORD_SOURCE if source == "auto" else source
    if use == "model" and backend is None:
        if source == "model":
            raise GenerationError("next-chord from the model needs a backend")
        use = "ngram"
    if use not in ("model", "ngram"):
        raise GenerationError(f"source must be auto, model or ngram, got {source!r}")
    cands, p = (model_chord_probs(seq, backend) if use == "model" and backend is not None
                else ngram_chord_probs(seq))
    order = np.argsort(-p)[:n]
    out = []
    for i in order:
        root, quality = gm.chord_of_token(int(cands[i]))
        out.append((chord_name((root - shift) % 12, quality), float(p[i])))
    return out


# Which source answers next_chords(source="auto") with a backend: the model, which
# beats the n-gram on validation progressions reduced to one chord per bar (how
# next_chords asks); the n-gram is better on the raw per-beat stream (TASKS.md).
NEXT_CHORD_SOURCE = "model"


# ---------------------------------------------------------------- measurement


def bar_level(piece: Piece) -> Piece:
    """The chord sounding at each bar line, repeats merged: a progression as a
    musician writes one for next-chord suggestions (one chord per bar at most)."""
    bars = tokens.regular_bars(piece)
    starts = bars[:, 0]
    at = harmony.chord_at(piece.chords, starts)
    ends = np.append(starts[1:], piece.end_tick())
    rows = [(int(a), int(b - a), int(r), int(q)) for a, b, (r, q) in zip(starts, ends, at,
                                                                        strict=True)]
    chords = harmony.merge_runs(rows)
    chords = chords[chords[:, 2] >= 0]
    return Piece(piece.source, piece.piece_id, piece.title, piece.group, bars=piece.bars,
                 keys=piece.keys, chords=chords, chord_kind=piece.chord_kind)


def next_chord_accuracy(model: Any | None, split: str = "valid", limit: int | None = None,
                        variant: str = "stream") -> dict[str, Any]:
    """Top-1 / top-3 accuracy of predicting each chord change of the `split` chord
    stream from the tokens before it (its position known), among the 107 chords other
    than the sounding one: the n-gram and, when `model` (a models.generation.model.GPT)
    is given, the model (windows of its context as in training). variant "bars": the
    same pieces reduced to the chord at each bar line (`bar_level`), the way
    next_chords asks."""
    import torch

    from models.generation import dataset_cache
    from models.generation.streams import chord_stream
    from models.generation.train import window_plan

    ds = dataset_cache.load()
    pieces = ds.chord_pieces(split)[:limit]
    if variant == "bars":
        pieces = [bar_level(p) for p in pieces]
    elif variant != "stream":
        raise ValueError(f"variant must be stream or bars, not {variant!r}")
    stream = chord_stream(pieces)
    lm = chord_ngram()
    hits: dict[str, np.ndarray] = {"ngram": np.zeros(3), "model": np.zeros(3)}
    by_source: dict[str, dict[str, np.ndarray]] = {}
    targets = 0
    t_ngram = t_model = 0.0
    for piece, seq in zip(pieces, stream.sequences, strict=True):
        seq = seq.tolist()
        where = [k for k in range(tokens.HEADER_LENGTH, len(seq))
                 if gm.CHORD0 <= seq[k] < gm.CHORD_END]
        if not where:
            continue
        model_logits: dict[int, np.ndarray] = {}
        if model is not None:
            t0 = time.perf_counter()
            x = np.array([TASK_CHORDS, *seq], np.int64)
            with torch.no_grad():
                for a, b, first in window_plan(len(x), model.config.max_len):
                    inp = np.concatenate([x[:PREFIX_LENGTH], x[a:b]])
                    lg = model(torch.from_numpy(inp)[None])[0].float().numpy()
                    for k in where:
                        j = k + 1  # index in x
                        if first <= j < b:
                            model_logits[k] = lg[j - a + PREFIX_LENGTH - 1]
            t_model += time.perf_counter() - t0
        src = by_source.setdefault(piece.source, {"ngram": np.zeros(3), "model": np.zeros(3),
                                                  "n": np.zeros(1)})
        for k in where:
            ctx = seq[:k]
            truth = seq[k]
            t0 = time.perf_counter()
            cands, p = ngram_chord_probs(ctx, lm)
            t_ngram += time.perf_counter() - t0
            rank = cands[np.argsort(-p)[:3]]
            got = np.array([truth in rank[:1], truth in rank[:3], 0.0], float)
            hits["ngram"] += got
            src["ngram"] += got
            if model is not None:
                z = model_logits[k][cands]
                mrank = cands[np.argsort(-z)[:3]]
                got = np.array([truth in mrank[:1], truth in mrank[:3], 0.0], float)
                hits["model"] += got
                src["model"] += got
            targets += 1
            src["n"] += 1

    def acc(h: np.ndarray, n: float) -> dict[str, float]:
        n = max(n, 1)
        return {"top1": round(float(h[0] / n), 4), "top3": round(float(h[1] / n), 4)}

    out: dict[str, Any] = {"split": split, "variant": variant, "pieces": len(pieces),
                           "targets": targets,
                           "ngram": acc(hits["ngram"], targets),
                           "ngram_order": lm.max_order,
                           "seconds": {"ngram": round(t_ngram, 2), "model": round(t_model, 2)}}
    if model is not None:
        out["model"] = acc(hits["model"], targets)
    out["by_source"] = {s: {"targets": int(v["n"][0]), "ngram": acc(v["ngram"], v["n"][0]),
                            **({"model": acc(v["model"], v["n"][0])} if model is not None
                               else {})}
                        for s, v in by_source.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generation task measurements")
    ap.add_argument("--measure-next-chord", metavar="CHECKPOINT", nargs="?", const="",
                    help="top-1/top-3 next-chord accuracy on validation (model vs n-gram); "
                         "without a checkpoint only the n-gram")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--variant", choices=("stream", "bars"), default="stream")
    args = ap.parse_args(argv)
    if args.measure_next_chord is None:
        ap.print_help()
        return 2
    import torch

    torch.set_num_threads(1)
    model = None
    if args.measure_next_chord:
        from pathlib import Path

        from models.generation.train import load_model

        model = load_model(Path(args.measure_next_chord))
    print(json.dumps(next_chord_accuracy(model, args.split, args.limit, args.variant)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
