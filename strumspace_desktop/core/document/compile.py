"""Playback compilation: the document as flat, time-sorted numpy arrays per track.

The audio engine never reads the document. The UI compiles the song once, then
after each change recompiles only the clips that changed (and re-merges their
tracks), and hands the engine the new arrays of the tracks in `changed`.

Per track:
* `events` (EVENT_DTYPE), sorted by tick then by `type` so that at one instant
  note-offs come before program changes, which come before note-ons;
* `regions` (REGION_DTYPE) for audio tracks, sorted by start, with `blob`
  indexing `CompiledTrack.blobs`; `online` is False for missing audio files.

Ticks become samples with core.timing's TempoMap (vectorised here with the same
arithmetic, so the two agree to the sample). Chord tracks make no sound and are
not compiled; muted clips (inactive takes) are left out. Zero-length notes make
no sound either and are left out; notes
are cut at their clip's end, and notes starting after it are silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..timing import PPQ, TempoMap
from .model import AudioRegion, Change, Document, Instrument, MidiClip, Mixer, Track

# Event types, in the order they sort at the same tick.
EV_NOTE_OFF = 1
EV_CONTROL = 2  # data1 = controller, data2 = value (bank select before program changes)
EV_PROGRAM = 3  # data1 = program
EV_NOTE_ON = 4  # data1 = pitch, data2 = velocity

EVENT_DTYPE = np.dtype(
    [
        ("sample", "<i8"),
        ("tick", "<i8"),
        ("type", "u1"),
        ("channel", "u1"),
        ("data1", "u1"),
        ("data2", "u1"),
    ]
)
REGION_DTYPE = np.dtype(
    [
        ("start_sample", "<i8"),
        ("end_sample", "<i8"),
        ("start_tick", "<i8"),
        ("end_tick", "<i8"),
        ("blob", "<i4"),  # index into CompiledTrack.blobs
        ("offset", "<i8"),  # frames into the file (at the file's own rate)
        ("gain", "<f4"),  # linear
        ("fade_in", "<i8"),  # frames
        ("fade_out", "<i8"),  # frames
        ("online", "?"),
    ]
)
TEMPO_DTYPE = np.dtype([("tick", "<i8"), ("sample", "<i8"), ("bpm", "<f8")])
METER_DTYPE = np.dtype(
    [("tick", "<i8"), ("sample", "<i8"), ("numerator", "u1"), ("denominator", "u1")]
)


class TickConverter:
    """TempoMap.sample_at_tick over numpy arrays, bit for bit the same arithmetic."""

    def __init__(self, tempo_map: TempoMap, sample_rate: int) -> None:
        changes = tempo_map.changes
        self._ticks = np.array([c.tick for c in changes], dtype=np.int64)
        self._starts = np.array([tempo_map.seconds_at_tick(c.tick) for c in changes])
        self._spt = np.array([60.0 / (float(c.bpm) * PPQ) for c in changes])
        self.sample_rate = sample_rate
        self.tempo_map = tempo_map

    def samples(self, ticks: np.ndarray) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.int64)
        seg = np.maximum(np.searchsorted(self._ticks, ticks, side="right") - 1, 0)
        seconds = self._starts[seg] + (ticks - self._ticks[seg]) * self._spt[seg]
        return np.floor(seconds * self.sample_rate + 0.5).astype(np.int64)


@dataclass(frozen=True)
class CompiledTrack:
    track_id: str
    kind: str
    instrument: Instrument
    mixer: Mixer
    events: np.ndarray
    regions: np.ndarray
    blobs: tuple[str, ...]


@dataclass(frozen=True)
class CompiledSong:
    sample_rate: int
    tracks: dict[str, CompiledTrack]  # in display order
    tempo: np.ndarray
    meters: np.ndarray
    loop_samples: tuple[int, int]
    loop_enabled: bool
    end_sample: int
    changed: frozenset[str] = field(default_factory=frozenset)  # tracks new since last time
    removed: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _ClipCache:
    track_id: str
    events: np.ndarray  # EVENT_DTYPE with ticks filled, samples not yet


def _midi_clip_events(clip: MidiClip, raw: list[list[int]]) -> np.ndarray:
    n = len(raw)
    if n == 0 or clip.muted:  # a muted clip (an inactive take) is silent
        return np.zeros(0, EVENT_DTYPE)
    a = np.array(raw, dtype=np.int64).reshape(n, 5)
    pitch, start, length, vel, chan = a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4]
    end = np.minimum(start + length, clip.length)
    keep = (length > 0) & (start < clip.length)
    if not keep.all():
        pitch, start, end, vel, chan = pitch[keep], start[keep], end[keep], vel[keep], chan[keep]
    m = len(pitch)
    ev = np.zeros(2 * m, EVENT_DTYPE)
    ev["tick"][:m] = start + clip.start
    ev["tick"][m:] = end + clip.start
    ev["type"][:m] = EV_NOTE_ON
    ev["type"][m:] = EV_NOTE_OFF
    ev["channel"][:m] = chan
    ev["channel"][m:] = chan
    ev["data1"][:m] = pitch
    ev["data1"][m:] = pitch
    ev["data2"][:m] = vel
    return ev


def _header_events(inst: Instrument) -> np.ndarray:
    """Bank select (MSB, LSB) and program at tick 0 on the track's channel."""
    ev = np.zeros(3, EVENT_DTYPE)
    ev["type"] = [EV_CONTROL, EV_CONTROL, EV_PROGRAM]
    ev["channel"] = inst.channel
    ev["data1"] = [0, 32, inst.program]
    ev["data2"] = [inst.bank >> 7, inst.bank & 127, 0]
    return ev


class PlaybackCompiler:
    """Compiles a document, then keeps the result current by recompiling what changed."""

    def __init__(
        self, document: Document, sample_rate: int, offline_blobs: set[str] | None = None
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate}")
        self.document = document
        self.sample_rate = sample_rate
        self.offline_blobs = set(offline_blobs or ())
        self._clips: dict[str, _ClipCache] = {}  # MIDI clips
        self._region_track: dict[str, str] = {}  # audio region -> its track
        self._tracks: dict[str, CompiledTrack] = {}
        self._dirty_clips: set[str] = set()
        self._dirty_tracks: set[str] = set()
        self._all_dirty = True
        self._song: CompiledSong | None = None
        self._info: dict[str, Track] = {}  # non-chord tracks in display order
        self._unsubscribe = document.subscribe(self._on_change)

    def close(self) -> None:
        self._unsubscribe()

    def _on_change(self, change: Change) -> None:
        self._dirty_clips |= change.clips
        self._dirty_tracks |= change.tracks
        if change.tempo or change.time_signatures or change.meta or change.blobs:
            self._all_dirty = True  # samples, loop or region availability move everywhere

    def set_offline_blobs(self, offline: set[str]) -> None:
        self.offline_blobs = set(offline)
        self._all_dirty = True

    def compile(self) -> CompiledSong:
        """Everything from scratch."""
        self._clips.clear()
        self._tracks.clear()
        self._all_dirty = True
        self._dirty_clips.clear()
        self._dirty_tracks.clear()
        return self.update()

    def update(self) -> CompiledSong:
        """Recompile what changed since the last call; `changed` names the tracks to send."""
        doc = self.document
        conv = TickConverter(doc.tempo_map(), self.sample_rate)
        full = self._all_dirty or self._song is None
        if full:
            self._info = {t.id: t for t in doc.tracks() if t.kind != "chord"}
        else:
            # Re-read only the tracks that changed: reading all of them costs milliseconds.
            for tid in self._dirty_tracks:
                self._info.pop(tid, None)
                try:
                    t = doc.track(tid)
                except ValueError:
                    continue
                if t.kind != "chord":
                    self._info[tid] = t
            if self._dirty_tracks:
                self._info = dict(sorted(self._info.items(), key=lambda kv: (kv[1].order, kv[0])))
        tracks = self._info
        if full:
            dirty_tracks = set(tracks)
            self._clips.clear()
            self._region_track.clear()
            raw = doc.raw_clips()  # one read of the whole clip tree
            clips = [clip for clip, _ in raw.values()]
            for clip, notes in raw.values():
                if clip.track_id not in tracks:
                    continue
                if isinstance(clip, MidiClip):
                    self._clips[clip.id] = _ClipCache(clip.track_id, _midi_clip_events(clip, notes))
                else:
                    self._region_track[clip.id] = clip.track_id
            audio_by_track = self._regions_by_track(clips)
        else:
            dirty_tracks = {t for t in self._dirty_tracks if t in tracks or t in self._tracks}
            for cid in self._dirty_clips:
                # The track it was on changes too (it moved away or was removed).
                old = self._clips.pop(cid, None)
                if old is not None:
                    dirty_tracks.add(old.track_id)
                old_region_track = self._region_track.pop(cid, None)
                if old_region_track is not None:
                    dirty_tracks.add(old_region_track)
                try:
                    clip = doc.clip(cid)
                except ValueError:
                    continue  # removed
                if clip.track_id not in tracks:
                    continue
                dirty_tracks.add(clip.track_id)
                if isinstance(clip, MidiClip):
                    self._compile_clip(clip)
                else:
                    self._region_track[clip.id] = clip.track_id
            audio_by_track = None
            if any(tracks[t].kind == "audio" for t in dirty_tracks if t in tracks):
                audio_by_track = self._regions_by_track(
                    [c for c in doc.clips() if c.track_id in dirty_tracks]
                )
        self._dirty_clips.clear()
        self._dirty_tracks.clear()
        self._all_dirty = False

        removed = frozenset(t for t in self._tracks if t not in tracks)
        for gone in removed:
            del self._tracks[gone]
        by_track: dict[str, list[np.ndarray]] = {}
        if dirty_tracks:
            for cache in self._clips.values():
                if cache.track_id in dirty_tracks:
                    by_track.setdefault(cache.track_id, []).append(cache.events)
        for tid in dirty_tracks:
            track = tracks.get(tid)
            if track is None:
                continue
            if track.kind == "midi":
                parts = [_header_events(track.instrument), *by_track.get(tid, [])]
                ev = np.concatenate(parts)
                # Pitch and channel last, so the order never depends on map iteration.
                ev = ev[np.lexsort((ev["data1"], ev["channel"], ev["type"], ev["tick"]))]
                ev["sample"] = conv.samples(ev["tick"])
                regions = np.zeros(0, REGION_DTYPE)
                blobs: tuple[str, ...] = ()
            else:
                ev = np.zeros(0, EVENT_DTYPE)
                regions, blobs = self._compile_regions((audio_by_track or {}).get(tid, []), conv)
            self._tracks[tid] = CompiledTrack(
                tid, track.kind, track.instrument, track.mixer, ev, regions, blobs
            )
        # Keep display order and pick up order, mixer or instrument changes of clean tracks.
        ordered = {tid: self._tracks[tid] for tid in tracks if tid in self._tracks}
        self._tracks = ordered
        self._song = self._song_from(conv, full, frozenset(dirty_tracks & set(tracks)), removed)
        return self._song

    def _compile_clip(self, clip: MidiClip) -> None:
        raw = self.document.raw_notes(clip.id)
        self._clips[clip.id] = _ClipCache(clip.track_id, _midi_clip_events(clip, raw))

    @staticmethod
    def _regions_by_track(clips: list) -> dict[str, list[AudioRegion]]:
        out: dict[str, list[AudioRegion]] = {}
        for c in clips:
            if isinstance(c, AudioRegion):
                out.setdefault(c.track_id, [])
                if not c.muted:
                    out[c.track_id].append(c)
        return out

    def _compile_regions(
        self, regions: list[AudioRegion], conv: TickConverter
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        known = self.document.blobs()
        blobs: list[str] = []
        index: dict[str, int] = {}
        out = np.zeros(len(regions), REGION_DTYPE)
        for i, r in enumerate(sorted(regions, key=lambda r: (r.start, r.id))):
            if r.blob not in index:
                index[r.blob] = len(blobs)
                blobs.append(r.blob)
            out[i] = (
                0,
                0,
                r.start,
                r.end,
                index[r.blob],
                r.offset,
                10.0 ** (r.gain_db / 20.0),
                r.fade_in,
                r.fade_out,
                r.blob in known and r.blob not in self.offline_blobs,
            )
        if len(out):
            out["start_sample"] = conv.samples(out["start_tick"])
            out["end_sample"] = conv.samples(out["end_tick"])
        return out, tuple(blobs)

    def _song_from(
        self, conv: TickConverter, full: bool, changed: frozenset[str], removed: frozenset[str]
    ) -> CompiledSong:
        doc = self.document
        tempo_changes = doc.tempo_changes()
        tempo = np.zeros(len(tempo_changes), TEMPO_DTYPE)
        tempo["tick"] = [c.tick for c in tempo_changes]
        tempo["bpm"] = [c.bpm for c in tempo_changes]
        tempo["sample"] = conv.samples(tempo["tick"])
        sigs = doc.time_signatures()
        meters = np.zeros(len(sigs), METER_DTYPE)
        meters["tick"] = [s.tick for s in sigs]
        meters["numerator"] = [s.numerator for s in sigs]
        meters["denominator"] = [s.denominator for s in sigs]
        meters["sample"] = conv.samples(meters["tick"])
        loop = doc.loop()
        loop_samples = conv.samples(np.array([loop.start, loop.end]))
        end = 0
        for t in self._tracks.values():
            if len(t.events):
                end = max(end, int(t.events["sample"][-1]))
            if len(t.regions):
                end = max(end, int(t.regions["end_sample"].max()))
        return CompiledSong(
            self.sample_rate,
            dict(self._tracks),
            tempo,
            meters,
            (int(loop_samples[0]), int(loop_samples[1])),
            loop.enabled,
            end,
            frozenset(self._tracks) if full else changed,
            removed,
        )


def compile_document(
    document: Document, sample_rate: int, offline_blobs: set[str] | None = None
) -> CompiledSong:
    """One-shot compilation (for rendering or export)."""
    compiler = PlaybackCompiler(document, sample_rate, offline_blobs)
    try:
        return compiler.compile()
    finally:
        compiler.close()
