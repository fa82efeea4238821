"""The arrangement's edits, as document operations (Qt-free).

Each function is one musician's gesture and runs in one `Document.undo_group()`,
so one Ctrl+Z takes back the whole move, split or duplicate however many clips
and notes it touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from strumspace_desktop.core.document import (
    AudioRegion,
    ChordItem,
    ChordSource,
    Clip,
    Document,
    MidiClip,
    Note,
)
from strumspace_desktop.ui.arrange.model import ArrangeModel

MIN_CLIP_TICKS = 1
Edge = Literal["left", "right"]


def _extra(clip: Clip) -> dict[str, Any]:
    """A copy is muted like its original, and is no take of its take group."""
    return {"muted": clip.muted}


def copy_clip(doc: Document, clip: Clip, track_id: str, start: int) -> str:
    """A copy of `clip` (notes included) on `track_id` at `start`."""
    if isinstance(clip, AudioRegion):
        return doc.add_audio_region(
            track_id, clip.blob, start, clip.length, offset=clip.offset,
            gain_db=clip.gain_db, fade_in=clip.fade_in, fade_out=clip.fade_out,
            name=clip.name, **_extra(clip))
    new_id = doc.add_midi_clip(track_id, start, clip.length, clip.name, **_extra(clip))
    notes = [Note.decode(n) for n in doc.raw_notes(clip.id)]
    if notes:
        doc.add_notes(new_id, notes)
    return new_id


def move_clips(doc: Document, model: ArrangeModel, clip_ids: Iterable[str], delta: int,
               lane_delta: int = 0, *, copy: bool = False) -> list[str]:
    """Move (or copy) clips by `delta` ticks and `lane_delta` lanes. A clip whose target
    lane holds another kind of track stays on its own track. Returns the ids moved or
    made."""
    out: list[str] = []
    ids = [cid for cid in clip_ids if cid in model.clips]
    if not ids:
        return out
    earliest = min(model.clips[cid].clip.start for cid in ids)
    delta = max(delta, -earliest)  # nothing moves before the song's start
    with doc.transaction():
        for cid in ids:
            clip = model.clips[cid].clip
            track_id = _target_track(model, clip, lane_delta)
            start = clip.start + delta
            if copy:
                out.append(copy_clip(doc, clip, track_id, start))
                continue
            if start != clip.start or track_id != clip.track_id:
                doc.update_clip(cid, start=start,
                                track_id=track_id if track_id != clip.track_id else None)
            out.append(cid)
    return out


def _target_track(model: ArrangeModel, clip: Clip, lane_delta: int) -> str:
    lane = model.lane_of(clip.track_id)
    if lane is None or lane_delta == 0:
        return clip.track_id
    i = lane.index + lane_delta
    if not 0 <= i < len(model.lanes):
        return clip.track_id
    target = model.lanes[i].track
    want = "audio" if isinstance(clip, AudioRegion) else "midi"
    return target.id if target.kind == want else clip.track_id


def resize_clip(doc: Document, model: ArrangeModel, clip_id: str, edge: Edge,
                tick: int) -> None:
    """Move one edge of a clip to `tick`. The content stays where it is in the song:
    a MIDI clip's notes shift with its start (notes left before a trimmed start are
    removed, undoably); an audio region's file offset follows its start."""
    clip = model.clips[clip_id].clip
    with doc.transaction():
        if edge == "right":
            end = max(tick, clip.start + MIN_CLIP_TICKS)
            if end != clip.end:
                doc.update_clip(clip_id, length=end - clip.start)
            return
        start = min(max(0, tick), clip.end - MIN_CLIP_TICKS)
        if start == clip.start:
            return
        shift = clip.start - start  # > 0 when the clip grows to the left
        if isinstance(clip, AudioRegion):
            # The file starts at offset 0: the region cannot reach further left.
            start = max(start, model.earliest_start(clip))
            if start == clip.start:
                return
            frames = model.region_frames(clip, min(start, clip.start), max(start, clip.start))
            offset = clip.offset - frames if start < clip.start else clip.offset + frames
            doc.update_clip(clip_id, start=start, length=clip.end - start,
                            offset=max(0, offset))
            return
        notes = doc.notes(clip_id)
        if shift < 0:
            doc.remove_notes(clip_id, [k for k, n in notes.items() if n.start < -shift])
        for k, n in notes.items():
            if n.start + shift >= 0:
                doc.set_note(clip_id, k, Note(n.pitch, n.start + shift, n.length, n.velocity,
                                              n.channel))
        doc.update_clip(clip_id, start=start, length=clip.end - start)


def split_clip(doc: Document, model: ArrangeModel, clip_id: str, tick: int) -> str | None:
    """Cut a clip in two at `tick`; returns the right part's id (None if `tick` is not
    inside). Notes from the cut on go to the right part; notes across it end there."""
    clip = model.clips[clip_id].clip
    if not clip.start < tick < clip.end:
        return None
    cut = tick - clip.start
    with doc.transaction():
        if isinstance(clip, AudioRegion):
            frames = model.region_frames(clip, clip.start, tick)
            right = doc.add_audio_region(
                clip.track_id, clip.blob, tick, clip.end - tick, offset=clip.offset + frames,
                gain_db=clip.gain_db, fade_out=clip.fade_out, name=clip.name, **_extra(clip))
            doc.update_clip(clip_id, length=cut, fade_out=0)
            return right
        right = doc.add_midi_clip(clip.track_id, tick, clip.end - tick, clip.name,
                                  **_extra(clip))
        notes = doc.notes(clip_id)
        moving = {k: n for k, n in notes.items() if n.start >= cut}
        if moving:
            doc.add_notes(right, [Note(n.pitch, n.start - cut, n.length, n.velocity, n.channel)
                                  for n in moving.values()])
            doc.remove_notes(clip_id, list(moving))
        for k, n in notes.items():
            if k not in moving and n.end > cut:
                doc.set_note(clip_id, k, Note(n.pitch, n.start, cut - n.start, n.velocity,
                                              n.channel))
        doc.update_clip(clip_id, length=cut)
        return right


def split_at(doc: Document, model: ArrangeModel, clip_ids: Iterable[str],
             tick: int) -> list[str]:
    """Split every given clip that `tick` falls inside (one undo step)."""
    made: list[str] = []
    with doc.transaction():
        for cid in list(clip_ids):
            if cid in model.clips:
                right = split_clip(doc, model, cid, tick)
                if right is not None:
                    made.append(right)
    return made


def duplicate(doc: Document, model: ArrangeModel, clip_ids: Iterable[str]) -> list[str]:
    """Copies placed right after the selection (its span from the first start to the
    last end)."""
    ids = [cid for cid in clip_ids if cid in model.clips]
    if not ids:
        return []
    clips = [model.clips[cid].clip for cid in ids]
    span = max(c.end for c in clips) - min(c.start for c in clips)
    return move_clips(doc, model, ids, span, copy=True)


def delete(doc: Document, clip_ids: Iterable[str],
           chords: Iterable[tuple[str, str]] = ()) -> None:
    with doc.transaction():
        for cid in clip_ids:
            doc.remove_clip(cid)
        for track_id, chord_id in chords:
            doc.remove_chord(track_id, chord_id)


def choose_take(doc: Document, model: ArrangeModel, clip_id: str) -> None:
    """Make `clip_id` its take group's sounding take (the others muted)."""
    group = model.clips[clip_id].take_group
    with doc.transaction():
        for cv in model.takes_of(group):
            want = cv.clip.id != clip_id
            if cv.muted != want:
                doc.update_clip(cv.clip.id, muted=want)


def set_muted(doc: Document, clip_id: str, muted: bool) -> None:
    doc.update_clip(clip_id, muted=muted)


def hand_edited(source: ChordSource) -> ChordSource:
    """The source of a chord the musician moved, resized or renamed: an analysis chord
    becomes theirs ("played"), so the next analysis keeps it instead of replacing it."""
    return "played" if source == "recognized" else source


def place_chord(doc: Document, track_id: str, chord_id: str, item: ChordItem,
                start: int, end: int) -> None:
    start = max(0, start)
    end = max(start + MIN_CLIP_TICKS, end)
    if (start, end) != (item.start, item.end):
        doc.set_chord(track_id, chord_id, ChordItem(start, end, item.label, item.bass,
                                                    item.confidence,
                                                    hand_edited(item.source)))


def midi_clip_ids(model: ArrangeModel, ids: Iterable[str]) -> list[str]:
    return [cid for cid in ids if cid in model.clips
            and isinstance(model.clips[cid].clip, MidiClip)]
