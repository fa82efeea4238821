"""Recorded passes into the document, each recording one undo step.

MIDI: one clip per pass in one take group when loop takes are on (the newest take
plays, older ones are muted), else one clip with every pass merged. Replace mode
first removes the notes that started inside the recorded range from the track's
playing clips. Audio: one file for the whole recording, one region per pass, each
pointing into the file at its own offset.
"""

from __future__ import annotations

import math
import uuid

from strumspace_desktop.core.document.model import AudioRegion, BlobInfo, Document, Note
from strumspace_desktop.core.quantize import quantize_span
from strumspace_desktop.record.session import Pass, RecordedNote, RecordMode, RecordOptions


def _span(passes: list[Pass]) -> tuple[int, int]:
    start = math.floor(min(p.start for p in passes))
    end = math.ceil(max(p.end for p in passes))
    return start, max(1, end - start)


def _notes(recorded: list[RecordedNote], clip_start: int, options: RecordOptions) -> list[Note]:
    out = []
    for n in recorded:
        if options.input_quantize is not None:
            start, length = quantize_span(n.start, n.end - n.start, options.input_quantize)
        else:
            start = math.floor(n.start + 0.5)
            length = max(1, math.floor(n.end + 0.5) - start)
        out.append(Note(n.pitch, max(0, start - clip_start), length, n.velocity, n.channel))
    return out


def _replace_range(doc: Document, track_id: str, start: int, end: int) -> None:
    """Remove what started in [start, end) from the track's playing clips."""
    for clip in doc.clips(track_id):
        if clip.muted or clip.end <= start or clip.start >= end:
            continue
        if isinstance(clip, AudioRegion):
            if start <= clip.start and clip.end <= end:
                doc.remove_clip(clip.id)
            continue
        gone = [nid for nid, n in doc.notes(clip.id).items()
                if start <= clip.start + n.start < end]
        if gone:
            doc.remove_notes(clip.id, gone)
        if start <= clip.start and clip.end <= end and not doc.notes(clip.id):
            doc.remove_clip(clip.id)


def commit_midi(doc: Document, track_id: str, passes: list[Pass], options: RecordOptions,
                name: str = "Recording") -> list[str]:
    """Add the recorded notes as clips; returns their ids ([] when nothing was played)."""
    passes = [p for p in passes if p.notes or options.loop_takes]
    if not any(p.notes for p in passes):
        return []
    start, length = _span(passes)
    ids: list[str] = []
    with doc.undo_group():
        if options.mode == RecordMode.REPLACE:
            _replace_range(doc, track_id, start, start + length)
        if options.loop_takes and len(passes) > 1:
            group = uuid.uuid4().hex[:12]
            last = len(passes) - 1
            for i, p in enumerate(passes):
                cid = doc.add_midi_clip(track_id, start, length, f"{name} take {i + 1}",
                                        take_group=group, take=i, muted=i != last)
                doc.add_notes(cid, _notes(p.notes, start, options))
                ids.append(cid)
        else:
            cid = doc.add_midi_clip(track_id, start, length, name)
            doc.add_notes(cid, _notes([n for p in passes for n in p.notes], start, options))
            ids.append(cid)
    return ids


def commit_audio(doc: Document, track_id: str, blob: BlobInfo, file_clock: int,
                 passes: list[Pass], options: RecordOptions,
                 name: str = "Recording") -> list[str]:
    """Add regions of the recorded file (frame 0 = engine clock `file_clock`, already
    registered with `add_blob`), one per pass; the input latency shifts each region's
    offset so that what was played lands where it was heard."""
    passes = [p for p in passes if p.end > p.start]
    if not passes:
        return []
    ids: list[str] = []
    multi = options.loop_takes and len(passes) > 1
    group = uuid.uuid4().hex[:12] if multi else ""
    last = len(passes) - 1
    with doc.undo_group():
        if options.mode == RecordMode.REPLACE:
            s, n = _span(passes)
            _replace_range(doc, track_id, s, s + n)
        for i, p in enumerate(passes):
            start = math.floor(p.start + 0.5)
            length = max(1, math.floor(p.end + 0.5) - start)
            offset = round(p.start_clock) + options.latency_frames - file_clock
            if offset < 0 or offset >= blob.frames:
                continue  # that pass was not captured (the input began later)
            ids.append(doc.add_audio_region(
                track_id, blob.sha256, start, length, offset=offset,
                name=f"{name} take {i + 1}" if multi else name,
                take_group=group, take=i if multi else 0, muted=multi and i != last))
    return ids
