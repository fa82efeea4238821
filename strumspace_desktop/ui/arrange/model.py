"""What the arrangement shows, read from the song document: lanes, clips (with a
revision each, so cached drawings know when they are stale), chords, loop and
punch ranges, tempo and meters; and the timeline's tick <-> pixel mapping.

Qt-free. The document is the truth: `ArrangeModel.apply(change)` re-reads only
what a document change names, so a partner's edit, an undo or a drag all show
the same way, and a 10,000-note clip is read again only when it changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from strumspace_desktop.core.document import (
    AudioRegion,
    Change,
    ChordItem,
    Clip,
    Document,
    DocumentError,
    MidiClip,
    Track,
)
from strumspace_desktop.core.timing import PPQ, TempoMap, TimeSignatureMap

LEFT_PAD = 12.0  # pixels before tick 0, so the first bar line is visible
DEFAULT_PX_PER_BEAT = 26.0
MIN_PX_PER_TICK = 1.0 / PPQ  # one pixel per quarter note
MAX_PX_PER_TICK = 400.0 / PPQ


@dataclass
class Timeline:
    """Horizontal mapping: x = LEFT_PAD + tick * px_per_tick - scroll."""

    px_per_tick: float = DEFAULT_PX_PER_BEAT / PPQ
    scroll: float = 0.0  # pixels scrolled to the right

    def x_of(self, tick: float) -> float:
        return LEFT_PAD + tick * self.px_per_tick - self.scroll

    def tick_at(self, x: float) -> float:
        return (x + self.scroll - LEFT_PAD) / self.px_per_tick

    def zoom(self, factor: float, anchor_x: float) -> None:
        """Zoom keeping the tick under `anchor_x` where it is."""
        anchor_tick = self.tick_at(anchor_x)
        self.px_per_tick = min(MAX_PX_PER_TICK,
                               max(MIN_PX_PER_TICK, self.px_per_tick * factor))
        self.scroll = max(0.0, LEFT_PAD + anchor_tick * self.px_per_tick - anchor_x)


@dataclass(frozen=True, slots=True)
class Lane:
    track: Track
    index: int
    has_row: bool  # the track list shows a row for it (else the lane names it)


@dataclass(slots=True)
class ClipView:
    clip: Clip
    revision: int
    # MIDI: notes as an (n, 3) int array of pitch, start, length (clip-relative ticks).
    notes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))

    @property
    def muted(self) -> bool:
        return self.clip.muted

    @property
    def take_group(self) -> str:
        return self.clip.take_group

    @property
    def take(self) -> int:
        return self.clip.take


class ArrangeModel:
    def __init__(self, document: Document, row_ids: Callable[[], list[str]]) -> None:
        self.document = document
        self._row_ids = row_ids
        self._revision_counter = 0
        self.lanes: list[Lane] = []
        self.clips: dict[str, ClipView] = {}
        self.chords: dict[str, dict[str, ChordItem]] = {}  # chord track id -> items
        self.tempo: TempoMap = document.tempo_map()
        self.meters: TimeSignatureMap = document.time_signature_map()
        self.reload()

    # Reading -----------------------------------------------------------------------------
    def reload(self) -> None:
        doc = self.document
        self.tempo = doc.tempo_map()
        self.meters = doc.time_signature_map()
        self._read_lanes()
        self.clips = {}
        for c in doc.clips():
            self._read_clip(c)
        self.chords = {lane.track.id: doc.chords(lane.track.id)
                       for lane in self.lanes if lane.track.kind == "chord"}

    def _next_revision(self) -> int:
        self._revision_counter += 1
        return self._revision_counter

    def _read_lanes(self) -> None:
        tracks = {t.id: t for t in self.document.tracks()}
        rows = [tid for tid in self._row_ids() if tid in tracks]
        row_set = set(rows)
        rest = [t.id for t in self.document.tracks() if t.id not in row_set]
        self.lanes = [Lane(tracks[tid], i, tid in row_set)
                      for i, tid in enumerate(rows + rest)]

    def _read_clip(self, clip: Clip) -> None:
        notes = np.zeros((0, 3), np.int64)
        if isinstance(clip, MidiClip):
            raw = self.document.raw_notes(clip.id)
            if raw:
                notes = np.asarray(raw, dtype=np.int64)[:, :3]
                notes = notes[np.argsort(notes[:, 1], kind="stable")]
        self.clips[clip.id] = ClipView(clip, self._next_revision(), notes)

    def apply(self, change: Change) -> None:
        """Re-read what `change` touched."""
        doc = self.document
        if change.tempo:
            self.tempo = doc.tempo_map()
        if change.time_signatures:
            self.meters = doc.time_signature_map()
        if change.tracks:
            self._read_lanes()
            lane_ids = {lane.track.id for lane in self.lanes}
            for lane in self.lanes:
                if lane.track.kind == "chord" and (lane.track.id in change.tracks
                                                   or lane.track.id not in self.chords):
                    self.chords[lane.track.id] = doc.chords(lane.track.id)
            for tid in list(self.chords):
                if tid not in lane_ids:
                    del self.chords[tid]
            # Clips of removed (or restored) tracks.
            live = {c.id for c in doc.clips()}
            for cid in list(self.clips):
                if cid not in live:
                    del self.clips[cid]
            for cid in live - set(self.clips):
                self._read_clip(doc.clip(cid))
        for cid in change.clips:
            try:
                clip = doc.clip(cid)
            except DocumentError:
                self.clips.pop(cid, None)
                continue
            if clip.track_id not in {lane.track.id for lane in self.lanes}:
                self.clips.pop(cid, None)
                continue
            self._read_clip(clip)

    def touch_blob(self, sha256: str) -> bool:
        """New revisions for the regions playing `sha256` (its peaks arrived)."""
        hit = False
        for cv in self.clips.values():
            if isinstance(cv.clip, AudioRegion) and cv.clip.blob == sha256:
                cv.revision = self._next_revision()
                hit = True
        return hit

    def refresh_rows(self) -> None:
        """The track list's rows changed order or membership."""
        self._read_lanes()

    # Queries -----------------------------------------------------------------------------
    def lane_of(self, track_id: str) -> Lane | None:
        for lane in self.lanes:
            if lane.track.id == track_id:
                return lane
        return None

    def visible_clips(self) -> list[ClipView]:
        """Clips drawn in lanes: of a take group only its active take."""
        out: list[ClipView] = []
        groups: dict[str, list[ClipView]] = {}
        for cv in self.clips.values():
            if cv.take_group:
                groups.setdefault(cv.take_group, []).append(cv)
            else:
                out.append(cv)
        for members in groups.values():
            out.append(active_take(members))
        return out

    def takes_of(self, group: str) -> list[ClipView]:
        return sorted((cv for cv in self.clips.values() if cv.take_group == group),
                      key=lambda cv: (cv.take, cv.clip.id))

    def song_end(self) -> int:
        ends = [cv.clip.end for cv in self.clips.values()]
        for items in self.chords.values():
            ends.extend(i.end for i in items.values())
        loop = self.document.loop()
        ends.append(loop.end)
        return max(ends, default=0)

    def sample_rate(self, region: AudioRegion) -> int:
        info = self.document.blobs().get(region.blob)
        return info.sample_rate if info is not None else 48000

    def earliest_start(self, region: AudioRegion) -> int:
        """The earliest start a left-edge drag can give the region (its file's start)."""
        seconds = self.tempo.seconds_at_tick(region.start) - region.offset / self.sample_rate(
            region)
        return max(0, math.ceil(self.tempo.tick_at_seconds(seconds) - 1e-6))

    def region_frames(self, region: AudioRegion, start: int, end: int) -> int:
        """Frames of the region's file between two song ticks (for trims and splits)."""
        rate = self.sample_rate(region)
        seconds = self.tempo.seconds_at_tick(end) - self.tempo.seconds_at_tick(start)
        return round(seconds * rate)


def active_take(members: list[ClipView]) -> ClipView:
    """The take that sounds: the unmuted one with the highest take number (the newest
    if every take is muted)."""
    unmuted = [m for m in members if not m.muted]
    pool = unmuted or members
    return max(pool, key=lambda cv: (cv.take, cv.clip.start, cv.clip.id))
