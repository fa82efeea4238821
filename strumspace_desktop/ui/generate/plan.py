"""What a Generate click asks for: the task's prompt taken from the arrangement's
selection (clips, chord items) and where its result will land. No Qt, so the rules
are tested without widgets.

    continue   selected MIDI clips; the result goes after them, on the first clip's track
    melody     selected chords (or the chords under selected clips), else typed chords
               ("C G Am F", placed at the playhead's bar); a clip on the melody track
    harmonize  selected MIDI clips (the melody); chords onto the chord track
    chords     selected chords are continued; nothing selected: a new progression at
               the playhead's bar
    next-chord selected chords (else the chord track's chords): suggestions after the
               last one
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from strumspace_desktop.core.document import Document, DocumentError, MidiClip
from strumspace_desktop.generate.into_document import bar_at_or_after
from strumspace_desktop.generate.prompts import (
    Prompt,
    bar_span,
    key_name,
    make_request,
    next_chord_request,
    prompt_from_clips,
    prompt_from_range,
)

TASKS: tuple[tuple[str, str], ...] = (
    ("continue", "Continue the selected clip"),
    ("melody", "Melody over chords"),
    ("harmonize", "Harmonize the selected melody"),
    ("chords", "Chord progression"),
    ("next-chord", "Next chord suggestions"),
)
NOTE_TASKS = ("continue", "melody")
SUGGESTIONS = 5  # next chords offered


class SelectionProblem(ValueError):
    """The selection does not fit the task; the text says what to select."""


@dataclass(frozen=True)
class Selection:
    """What the arrangement has selected, and the song context around it."""

    clips: tuple[str, ...] = ()
    chords: tuple[tuple[str, str], ...] = ()  # (chord track id, chord id)
    playhead: int = 0  # document ticks
    melody_track: str | None = None  # where a melody goes (the live MIDI track)


@dataclass(frozen=True)
class Plan:
    task: str
    request: Any  # models.generation.tasks.GenerationRequest
    prompt: Prompt | None
    start: int  # document tick where the result lands
    track_id: str | None  # the MIDI track for a clip (None: a new track)
    chord_track: str | None  # the chord track for chords (None: first or new)
    chords_from_track: bool  # the prompt's chords came from the chord track
    summary: str  # what the prompt is, for the panel
    warnings: tuple[str, ...] = field(default=())
    suggestion_span: tuple[int, int] | None = None  # next-chord: where one goes


def chord_track_of(document: Document) -> str | None:
    return next((t.id for t in document.tracks() if t.kind == "chord"), None)


def _midi_clips(document: Document, ids: Iterable[str]) -> list[MidiClip]:
    out = []
    for cid in ids:
        try:
            clip = document.clip(cid)
        except DocumentError:
            continue
        if isinstance(clip, MidiClip):
            out.append(clip)
    return out


def _chord_span(document: Document, refs: Iterable[tuple[str, str]]
                ) -> tuple[str, int, int] | None:
    """(track, first start, last end) of the selected chord items that still exist."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for tid, cid in refs:
        try:
            item = document.chords(tid).get(cid)
        except DocumentError:
            continue
        if item is not None:
            spans.setdefault(tid, []).append((item.start, item.end))
    if not spans:
        return None
    tid, items = next(iter(spans.items()))
    return tid, min(s for s, _ in items), max(e for _, e in items)


def _bars_text(prompt: Prompt) -> str:
    return f"{prompt.bars} bar{'s' if prompt.bars != 1 else ''}"


def plan(
    document: Document,
    task: str,
    selection: Selection,
    *,
    key: tuple[int, int] | None = None,
    chords_text: str = "",
    controls: dict[str, Any] | None = None,
) -> Plan:
    """The request for `task` from the selection, or SelectionProblem saying what to
    select. `controls`: the panel's settings (bars, temperature, top_p, seed, variations,
    density, keep_in_key); `key` None estimates it from the prompt."""
    c = dict(controls or {})
    prompt: Prompt | None
    chord_track = chord_track_of(document)
    clips = _midi_clips(document, selection.clips)
    span = _chord_span(document, selection.chords)
    if task == "continue":
        if not clips:
            raise SelectionProblem("Continue needs a MIDI clip: select the clip(s) to "
                                   "continue in the arrangement.")
        prompt = prompt_from_clips(document, [c_.id for c_ in clips], chord_track=chord_track,
                                   key=key)
        if not len(prompt.piece.notes):
            raise SelectionProblem("The selected clip has no notes to continue: record or "
                                   "draw a few notes first.")
        return Plan(task, make_request(task, prompt, **c), prompt, prompt.end,
                    clips[0].track_id, chord_track, True,
                    f"{len(prompt.piece.notes)} notes, {_bars_text(prompt)} in "
                    f"{prompt.key_name}", prompt.warnings)
    if task == "harmonize":
        if not clips:
            raise SelectionProblem("Harmonize needs a melody: select the MIDI clip(s) to "
                                   "put chords under.")
        prompt = prompt_from_clips(document, [c_.id for c_ in clips], key=key)
        if not len(prompt.piece.notes):
            raise SelectionProblem("The selected clip has no notes to harmonize.")
        c.pop("bars", None)  # the melody's length decides
        return Plan(task, make_request(task, prompt, **c), prompt, prompt.origin, None,
                    chord_track, False, f"melody of {len(prompt.piece.notes)} notes, "
                    f"{_bars_text(prompt)} in {prompt.key_name}", prompt.warnings)
    if task == "melody":
        prompt = None
        if span is not None:
            prompt = prompt_from_range(document, span[1], span[2], track_ids=[],
                                       chord_track=span[0], key=key)
        elif clips and chord_track is not None:
            prompt = prompt_from_range(document, min(x.start for x in clips),
                                       max(x.end for x in clips), track_ids=[],
                                       chord_track=chord_track, key=key)
        if prompt is not None and prompt.chords:
            return Plan(task, make_request(task, prompt, **c), prompt, prompt.origin,
                        selection.melody_track, chord_track, True,
                        f"chords {prompt.chord_string} ({_bars_text(prompt)}, "
                        f"{prompt.key_name})", prompt.warnings)
        text = chords_text.strip()
        if not text:
            raise SelectionProblem("Melody needs chords: select chords in the chord lane, "
                                   "or type them in the Chords field (e.g. C G Am F).")
        if key is not None:
            c["key"] = key_name(key)
        start = bar_at_or_after(document, max(selection.playhead, 0))
        return Plan(task, make_request(task, None, chords=text, **c), None, start,
                    selection.melody_track, chord_track, False,
                    f"typed chords {text}, at the playhead's bar")
    if task == "chords":
        if span is not None:
            prompt = prompt_from_range(document, span[1], span[2], track_ids=[],
                                       chord_track=span[0], key=key)
            if prompt.chords:
                return Plan(task, make_request(task, prompt, **c), prompt, prompt.end, None,
                            span[0], True, f"continuing {prompt.chord_string} "
                            f"({prompt.key_name})", prompt.warnings)
        warnings: tuple[str, ...] = ()
        if key is None:
            warnings = ("no key chosen and no chords selected: C major",)
        c["key"] = key_name(key or (0, 0))
        start = bar_span(document, max(selection.playhead, 0))[0]
        return Plan(task, make_request(task, None, **c), None, start, None, chord_track,
                    False, f"a new progression in {c['key']} at the playhead's bar",
                    warnings)
    if task == "next-chord":
        track = span[0] if span is not None else chord_track
        items = list(document.chords(track).values()) if track is not None else []
        if track is None or not items:
            raise SelectionProblem("Next chord needs chords: add a chord track and write "
                                   "a chord or two, then ask again.")
        at = span[2] if span is not None else max(i.end for i in items)
        request, prompt = next_chord_request(document, track, at, n=SUGGESTIONS, key=key)
        return Plan(task, request, prompt, at, None, track, True,
                    f"after {prompt.chord_string or 'the chords'} ({prompt.key_name})",
                    prompt.warnings, suggestion_span=(at, bar_span(document, at)[1]))
    raise SelectionProblem(f"unknown task {task!r}")


def suggestion_span(document: Document, track_id: str) -> tuple[int, int] | None:
    """Where a next chord goes: from the last chord's end to the end of that bar (a
    whole bar when the last chord ends on a bar line); None for an empty chord track."""
    items = list(document.chords(track_id).values())
    if not items:
        return None
    at = max(i.end for i in items)
    return at, bar_span(document, at)[1]
