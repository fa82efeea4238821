""""Keep" for the generation panel: a generated variation into the song where its task
says it belongs, as ONE undo step (a clip and its chords together). No Qt.

    continue   the new bars as a clip right after the prompt (and their chords, when the
               prompt had chords and the model wrote some)
    melody     a clip under the prompt's chords (the chords too when they did not come
               from the chord track)
    harmonize  the chords over the prompt's melody (the melody is already there)
    chords     the progression after the prompt's chords, or at the prompt's start
"""

from __future__ import annotations

from dataclasses import dataclass

from models.generation.piece import Piece
from strumspace_desktop.core.document import Document

from .into_document import PlacedChords, PlacedClip, add_chords_to_track, add_piece_as_clip
from .prompts import Prompt

NOTE_TASKS = ("continue", "melody")


@dataclass(frozen=True)
class Kept:
    clip: PlacedClip | None
    chords: PlacedChords | None


def result_start(task: str, prompt: Prompt | None, default: int = 0) -> int:
    """Where a task's result goes (document ticks): after the prompt for a continuation
    (and for chords that continue a progression), else at the prompt's first bar."""
    if prompt is None:
        return default
    if task == "continue" or (task == "chords" and prompt.chords):
        return prompt.end
    return prompt.origin


def keep_result(
    document: Document,
    task: str,
    piece: Piece,
    *,
    prompt: Prompt | None = None,
    start: int | None = None,
    track_id: str | None = None,
    chord_track: str | None = None,
    chords_from_track: bool = True,
    name: str = "",
    program: int = 0,
) -> Kept:
    """Put `piece` (a Result's variation) into the song; one undo step for all of it.
    `chords_from_track`: the prompt's chords came from `chord_track` (so a melody's
    keep does not write them again)."""
    if task not in ("continue", "melody", "harmonize", "chords"):
        raise ValueError(f"a {task!r} result is not kept as a clip (next-chord: use "
                         "into_document.add_suggested_chord)")
    at = result_start(task, prompt) if start is None else start
    with document.undo_group():
        clip = None
        if task in NOTE_TASKS and len(piece.notes):
            clip = add_piece_as_clip(document, piece, start=at, track_id=track_id,
                                     name=name or f"Generated {task}", program=program)
        want_chords = task in ("harmonize", "chords") or (
            task == "continue" and prompt is not None and bool(prompt.chords)) or (
            task == "melody" and not (prompt is not None and prompt.chords and chords_from_track))
        chords = None
        if want_chords and len(piece.chords):
            chords = add_chords_to_track(document, piece, start=at, track_id=chord_track)
    return Kept(clip, chords)
