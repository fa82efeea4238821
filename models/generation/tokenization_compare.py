"""Our REMI-style tokens against MidiTok's REMI on the same melodies.

    python -m models.generation.tokenization_compare [--limit 500]

Both must give every note back; we compare tokens per note (a shorter sequence lets
an n-gram or a transformer see more notes in the same context) and what each can
condition on (MidiTok's REMI has no key or chord-symbol tokens).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.generation import dataset_cache, tokens
from models.generation.piece import TPQ, Piece


def miditok_remi() -> Any:
    from miditok import REMI, TokenizerConfig

    cfg = TokenizerConfig(
        use_time_signatures=True, use_velocities=True, num_velocities=8,
        beat_res={(0, 4): TPQ, (4, 16): 4},  # our 24-tick grid inside a bar
        time_signature_range={8: [3, 5, 6, 7, 9, 12], 4: [1, 2, 3, 4, 5, 6], 2: [1, 2, 3, 4]})
    return REMI(cfg)


def miditok_notes(tokenizer: Any, piece: Piece) -> tuple[np.ndarray, int]:
    """(onset, duration, pitch) after a MidiTok encode/decode, and its token count."""
    ids = miditok_ids(tokenizer, piece)[1:-1] - 3
    back = tokenizer.decode([ids.tolist()])
    scale = TPQ / back.ticks_per_quarter
    notes = [(round(n.time * scale), round(n.duration * scale), n.pitch)
             for t in back.tracks for n in t.notes]
    arr = np.array(sorted(notes), dtype=np.int64).reshape(-1, 3)
    return arr, len(ids)


def miditok_ids(tokenizer: Any, piece: Piece) -> np.ndarray:
    """MidiTok REMI ids of a melody, shifted by 3 and framed as BOS ... EOS (ids 1, 2)."""
    from symusic import Note, Score, TimeSignature, Track

    score: Any = Score(TPQ)
    track: Any = Track()
    for onset, dur, pitch, vel in piece.notes.tolist():
        track.notes.append(Note(onset, dur, pitch, vel))
    score.tracks.append(track)
    prev = None
    for start, num, den in tokens.regular_bars(piece).tolist():
        if (num, den) != prev:
            score.time_signatures.append(TimeSignature(start, num, den))
            prev = (num, den)
    seq = tokenizer(score)
    ids = np.asarray((seq[0] if isinstance(seq, list) else seq).ids) + 3
    return np.concatenate([[tokens.BOS], ids, [tokens.EOS]])


def ngram_comparison(train: list[Piece], valid: list[Piece]) -> dict[str, object]:
    """Validation NLL per note of a Kneser-Ney n-gram (orders 2-8) on each tokenization,
    scoring every token after BOS (our Key and TimeSig header included, so ours scores
    slightly more information than MidiTok's)."""
    from models.generation.ngram import KneserNeyLM, nll_per_event

    tok = miditok_remi()
    events = [len(p.notes) for p in valid]
    out: dict[str, object] = {}
    for name, encode, vocab in (
            ("ours", lambda p: tokens.encode(p, chords=False), len(tokens.VOCAB)),
            ("miditok_remi", lambda p: miditok_ids(tok, p), len(tok) + 3)):
        lm = KneserNeyLM(8, vocab).fit([encode(p) for p in train])
        seqs = [encode(p) for p in valid]
        out[name] = {o: round(nll_per_event(lm, seqs, events, 1, o), 4) for o in range(2, 9)}
    return out


def compare(pieces: list[Piece]) -> dict[str, object]:
    tok = miditok_remi()
    n_notes = ours_tokens = theirs_tokens = ours_exact = theirs_exact = 0
    for p in pieces:
        ref = np.array(sorted(map(tuple, p.notes[:, :3].tolist())), np.int64).reshape(-1, 3)
        ids = tokens.encode(p, chords=False)
        back = tokens.decode(ids).notes[:, :3]
        ours_exact += np.array_equal(np.array(sorted(map(tuple, back.tolist()))).reshape(-1, 3),
                                     ref)
        theirs, n = miditok_notes(tok, p)
        theirs_exact += np.array_equal(theirs, ref)
        n_notes += len(p.notes)
        ours_tokens += len(ids) - tokens.HEADER_LENGTH
        theirs_tokens += n
    return {"pieces": len(pieces), "notes": n_notes,
            "ours": {"vocab": len(tokens.VOCAB), "exact_pieces": int(ours_exact),
                     "tokens_per_note": round(ours_tokens / max(1, n_notes), 3),
                     "conditions_on": ["key", "time signature", "chord symbols"]},
            "miditok_remi": {"vocab": len(tok), "exact_pieces": int(theirs_exact),
                             "tokens_per_note": round(theirs_tokens / max(1, n_notes), 3),
                             "conditions_on": ["time signature"]}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=dataset_cache.DEFAULT_PATH)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--ngram", action="store_true",
                    help="also fit an n-gram on each tokenization (train -> valid)")
    args = ap.parse_args(argv)
    os.nice(19)
    ds = dataset_cache.load(args.dataset)
    result = compare(ds.melodies("train")[: args.limit])
    if args.ngram:
        result["ngram_valid_nll_per_note"] = ngram_comparison(ds.melodies("train"),
                                                               ds.melodies("valid"))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
