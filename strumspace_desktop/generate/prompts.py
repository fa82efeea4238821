"""Prompts built from the song document: selected clips or bars become a Piece (the
generator's melody format), a chord-track range becomes a chord list. No Qt.

The document stores no key, so the key is the one the caller gives (the musician's
choice in the panel) or estimated from the prompt's notes and chords
(Krumhansl-Kessler, as the training data's keys were). The meter is the song's at the
prompt's first bar. The generator reads melodies (one note at a time), so chords
played in the selection are reduced to their top line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.generation import tokens
from models.generation.harmony import estimate_key
from models.generation.piece import CHORD_QUALITIES, MAJOR, MINOR, PITCH_NAMES, Piece
from strumspace_desktop.core.document import Document, DocumentError, MidiClip

from .chord_labels import ChordNameError, from_harte, short_name
from .into_document import to_piece_ticks

_MODE_NAMES = {MAJOR: "major", MINOR: "minor"}


@dataclass(frozen=True)
class Prompt:
    """A prompt and where it sits in the song.

    `piece` counts Piece ticks from `origin` (document ticks, a bar line); `end` is
    the bar line after the prompt, where a continuation goes."""

    piece: Piece
    origin: int
    end: int
    key: tuple[int, int]  # (tonic pitch class, MAJOR or MINOR)
    meter: tuple[int, int]
    chords: list[tuple[int, str]]  # (Piece tick, short name such as "Am")
    key_estimated: bool
    bars: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def key_name(self) -> str:
        return key_name(self.key)

    @property
    def chord_string(self) -> str:
        return " ".join(label for _, label in self.chords)


def key_name(key: tuple[int, int]) -> str:
    """'D minor', 'Eb major'."""
    return f"{PITCH_NAMES[key[0]]} {_MODE_NAMES[key[1]]}"


_KEY_RE = re.compile(r"^([A-Ga-g])([#b]?)\s*:?\s*(major|minor|maj|min|m|M)?$")
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_key(text: str) -> tuple[int, int]:
    """(tonic, mode) of "D minor", "Dm", "D", "F# major", "Bb min", "D:min"."""
    m = _KEY_RE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a key (try \"D minor\", \"Dm\", \"Eb major\" or \"G\")")
    tonic = (_NATURAL[m.group(1).upper()] + (m.group(2) == "#") - (m.group(2) == "b")) % 12
    mode = MINOR if m.group(3) in ("minor", "min", "m") else MAJOR
    return tonic, mode


_Bars = list[tuple[int, int, int]]


def _bar_span(document: Document, start: int, end: int) -> tuple[int, int, _Bars]:
    """Bar lines around [start, end): the first bar's start, the last bar's end, and the
    bars as (document tick, numerator, denominator)."""
    ts = document.time_signature_map()
    first = ts.bbt_at_tick(max(start, 0)).bar - 1
    bars: list[tuple[int, int, int]] = []
    bar = first
    while True:
        tick = ts.bar_start_tick(bar)
        if bars and tick >= end:
            break
        meter = ts.meter_at_bar(bar)
        bars.append((tick, meter.numerator, meter.denominator))
        bar += 1
    last_end = ts.bar_start_tick(bar)
    return bars[0][0], last_end, bars


def _notes_in(document: Document, clips: Iterable[MidiClip], lo: int, hi: int) -> np.ndarray:
    """Notes of `clips` that start in [lo, hi), absolute document ticks, cut at their
    clip's end (as playback cuts them): rows (start, length, pitch, velocity)."""
    rows = []
    for clip in clips:
        for n in document.notes(clip.id).values():
            if n.start >= clip.length:
                continue  # silent: starts after the clip's end
            start = clip.start + n.start
            if lo <= start < hi:
                rows.append((start, min(n.length, clip.length - n.start), n.pitch, n.velocity))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def _melody(notes: np.ndarray, origin: int) -> np.ndarray:
    """Absolute document notes -> the generator's melody rows (onset, duration, pitch,
    velocity) in Piece ticks: the top line, on the vocabulary's grid and range."""
    if not len(notes):
        return np.zeros((0, 4), np.int32)
    rows = np.column_stack([
        [to_piece_ticks(s - origin) for s in notes[:, 0]],
        [max(to_piece_ticks(d), 1) for d in notes[:, 1]],
        notes[:, 2], notes[:, 3]]).astype(np.int64)
    # Top line: the highest pitch at each onset, each note cut at the next onset.
    rows = rows[np.lexsort((-rows[:, 2], rows[:, 0]))]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:, 0] != rows[:-1, 0]
    mel = rows[first].copy()
    nxt = np.append(mel[1:, 0], np.iinfo(np.int64).max)
    mel[:, 1] = np.maximum(np.minimum(mel[:, 1], nxt - mel[:, 0]), 1)
    lo, hi = tokens.PITCH_RANGE
    while (mel[:, 2] < lo).any() or (mel[:, 2] > hi).any():  # fold by octaves into range
        mel[:, 2] = np.where(mel[:, 2] < lo, mel[:, 2] + 12, mel[:, 2])
        mel[:, 2] = np.where(mel[:, 2] > hi, mel[:, 2] - 12, mel[:, 2])
    mel[:, 1] = tokens.quantize_duration(mel[:, 1])
    mel[:, 3] = tokens.quantize_velocity(mel[:, 3])
    return mel.astype(np.int32)


def chords_in_range(
    document: Document, track_id: str, start: int, end: int
) -> tuple[np.ndarray, list[str]]:
    """Chord items of a chord track overlapping [start, end), clipped to it, as Piece
    rows (onset, duration, root, quality) relative to `start`, plus a warning for each
    label the generator cannot read (those are left out)."""
    rows: list[tuple[int, int, int, int]] = []
    warnings: list[str] = []
    for item in document.chords(track_id).values():
        if item.end <= start or item.start >= end:
            continue
        try:
            parsed = from_harte(item.label)
        except ChordNameError as exc:
            warnings.append(f"chord {item.label!r} left out: {exc}")
            continue
        if parsed is None:
            continue
        s = to_piece_ticks(max(item.start, start) - start)
        e = to_piece_ticks(min(item.end, end) - start)
        if e > s:
            rows.append((s, e - s, *parsed))
    arr = np.array(sorted(rows), dtype=np.int32).reshape(-1, 4)
    return arr, warnings


def _estimated_key(melody: np.ndarray, chords: np.ndarray) -> tuple[int, int] | None:
    """Key from the melody, with each chord's tones counted for its duration."""
    rows = [melody] if len(melody) else []
    for onset, dur, root, quality in chords.tolist():
        rows.append(np.array([[onset, dur, 60 + (root + i) % 12, 80]
                              for i in CHORD_QUALITIES[quality][1]], np.int32))
    if not rows:
        return None
    return estimate_key(np.concatenate(rows))


def build_prompt(
    document: Document,
    start: int,
    end: int,
    *,
    clips: Iterable[MidiClip] = (),
    chord_track: str | None = None,
    key: tuple[int, int] | None = None,
) -> Prompt:
    """A prompt from the notes of `clips` and the chords of `chord_track` in the bars
    that cover [start, end) (document ticks)."""
    if end <= start:
        raise DocumentError("the prompt range is empty")
    origin, stop, bars = _bar_span(document, start, end)
    warnings: list[str] = []
    meter = (bars[0][1], bars[0][2])
    piece_bars = []
    for tick, num, den in bars:
        if (num, den) not in tokens.TIME_SIGNATURES:
            warnings.append(f"the generator does not know {num}/{den}; it writes 4/4 there")
            num, den = 4, 4
        piece_bars.append((to_piece_ticks(tick - origin), num, den))
    if (meter[0], meter[1]) not in tokens.TIME_SIGNATURES:
        meter = (4, 4)
    melody = _melody(_notes_in(document, clips, origin, stop), origin)
    chords = np.zeros((0, 4), np.int32)
    if chord_track is not None:
        chords, bad = chords_in_range(document, chord_track, origin, stop)
        warnings += bad
    estimated = key is None
    if key is None:
        key = _estimated_key(melody, chords)
        if key is None:
            key = (0, MAJOR)
            warnings.append("nothing to tell the key from: C major")
    piece = Piece("document", "prompt", notes=melody,
                  bars=np.array(piece_bars, np.int32).reshape(-1, 3),
                  keys=np.array([[0, key[0], key[1]]], np.int32), chords=chords,
                  chord_kind="human" if len(chords) else "")
    labels = [(int(o), short_name(int(r), int(q))) for o, _, r, q in chords.tolist()]
    return Prompt(piece, origin, stop, key, meter, labels, estimated, len(bars),
                  tuple(warnings))


def prompt_from_clips(
    document: Document,
    clip_ids: Iterable[str],
    *,
    chord_track: str | None = None,
    key: tuple[int, int] | None = None,
) -> Prompt:
    """The selected MIDI clips as one prompt, over the bars they cover."""
    clips = []
    for cid in clip_ids:
        clip = document.clip(cid)
        if not isinstance(clip, MidiClip):
            raise DocumentError("only MIDI clips can be a prompt (an audio region is selected)")
        clips.append(clip)
    if not clips:
        raise DocumentError("select at least one MIDI clip")
    start = min(c.start for c in clips)
    end = max(max(c.end for c in clips), start + 1)
    return build_prompt(document, start, end, clips=clips, chord_track=chord_track, key=key)


def prompt_from_range(
    document: Document,
    start: int,
    end: int,
    *,
    track_ids: Iterable[str] | None = None,
    chord_track: str | None = None,
    key: tuple[int, int] | None = None,
) -> Prompt:
    """The bars [start, end) of the given MIDI tracks (all MIDI tracks when None; muted
    clips and muted tracks left out) as one prompt."""
    wanted = set(track_ids) if track_ids is not None else None
    tracks = {t.id: t for t in document.tracks() if t.kind == "midi"}
    clips = [c for c in document.clips() if isinstance(c, MidiClip) and c.track_id in tracks
             and (wanted is None or c.track_id in wanted) and not c.muted
             and (wanted is not None or not tracks[c.track_id].mixer.mute)
             and c.start < end and c.end > start]
    return build_prompt(document, start, end, clips=clips, chord_track=chord_track, key=key)


def make_request(task: str, prompt: Prompt | None = None, **controls: Any) -> Any:
    """A `models.generation.tasks.GenerationRequest` for `task` from a document prompt
    (its melody, chords, key and meter) and the panel's controls (bars, temperature,
    top_p, seed, variations, density, keep_in_key, chords="C G Am F", key="D minor")."""
    from models.generation.tasks import GenerationRequest

    if prompt is not None:
        controls.setdefault("key", prompt.key_name)
        controls.setdefault("time_signature", prompt.meter)
    return GenerationRequest(task=task, prompt=None if prompt is None else prompt.piece,
                             **controls)


def next_chord_request(
    document: Document,
    chord_track: str,
    at: int,
    *,
    n: int = 5,
    bars_back: int = 8,
    key: tuple[int, int] | None = None,
) -> tuple[Any, Prompt]:
    """A next-chord request for the chord that would start at `at` (document ticks), from
    the chords of up to `bars_back` bars before it; and the prompt it came from. The
    Result's `suggestions` are short names: `chord_labels.to_harte` makes them chord-track
    labels, `into_document.add_suggested_chord` puts one in."""
    ts = document.time_signature_map()
    bar = ts.bbt_at_tick(max(at, 0)).bar - 1
    start = ts.bar_start_tick(max(bar - bars_back, 0))
    prompt = build_prompt(document, start, max(at, start + 1), chord_track=chord_track, key=key)
    return make_request("next-chord", prompt, variations=n), prompt


def bar_span(document: Document, at: int) -> tuple[int, int]:
    """The bar that holds `at`: (start, end) in document ticks."""
    ts = document.time_signature_map()
    bar = ts.bbt_at_tick(max(at, 0)).bar - 1
    return ts.bar_start_tick(bar), ts.bar_start_tick(bar + 1)
