"""What the UI sends the engine so that it plays the song: plain, picklable values.

The UI compiles the document (core.document.compile) and turns each changed
track into a `TrackPlay` (its notes as a compact numpy array, its audio regions
and the files they read); the mixer (volume, pan, mute, solo, effects, master)
travels apart as a `MixState`, small and always whole. Neither imports the engine's
real-time parts, so the UI process, offline rendering and tests share them.

Strips: a MIDI track plays through the strip of its MIDI channel (0..15); tracks
on one channel share that strip (its volume, pan and effects are those of the
first such track in display order). Audio tracks get strips 16, 17, ... in
display order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from strumspace_desktop.core.document.compile import (
    EV_NOTE_OFF,
    EV_NOTE_ON,
    METER_DTYPE,
    REGION_DTYPE,
    TEMPO_DTYPE,
    CompiledSong,
    CompiledTrack,
)

MIDI_STRIPS = 16
MAX_AUDIO_STRIPS = 64
MAX_STRIPS = MIDI_STRIPS + MAX_AUDIO_STRIPS
DRUM_CHANNEL = 9
DRUM_BANK = 128
MASTER = "master"

# One song note event: the channel is the track's, so it is not stored per event.
NOTE_DTYPE = np.dtype([("sample", "<i8"), ("type", "u1"), ("pitch", "u1"), ("velocity", "u1")])


@dataclass(frozen=True)
class TrackPlay:
    """One track as the engine plays it."""

    track_id: str
    kind: str  # "midi" or "audio"
    strip: int
    channel: int  # MIDI tracks: the synth channel (drums always 9)
    bank: int
    program: int
    notes: np.ndarray  # NOTE_DTYPE, sorted by sample, note-offs first at one sample
    regions: np.ndarray  # compile.REGION_DTYPE
    files: tuple[str, ...]  # per region blob: the audio file, "" when offline


@dataclass(frozen=True)
class SongUpdate:
    """A whole song (`full`) or the tracks that changed since the last update."""

    sample_rate: int
    order: tuple[str, ...]  # every playing track, display order
    tracks: tuple[TrackPlay, ...]
    tempo: np.ndarray  # compile.TEMPO_DTYPE
    meters: np.ndarray  # compile.METER_DTYPE
    end_sample: int
    full: bool = True


@dataclass(frozen=True)
class EffectSpec:
    id: str
    type: str
    bypass: bool = False
    params: dict[str, float] = field(default_factory=dict)
    plugin: str = ""  # a VST3 path for type "vst3"


@dataclass(frozen=True)
class StripMix:
    strip: int
    volume_db: float = 0.0
    pan: float = 0.0
    effects: tuple[EffectSpec, ...] = ()


@dataclass(frozen=True)
class MixState:
    """Every strip that has a track, the audibility of each track, and the master."""

    strips: tuple[StripMix, ...] = ()
    audible: dict[str, bool] = field(default_factory=dict)  # track id -> sounds (mute/solo)
    strip_audible: dict[int, bool] = field(default_factory=dict)
    master_volume_db: float = 0.0
    limiter: bool = True
    limiter_threshold_db: float = -1.0
    master_effects: tuple[EffectSpec, ...] = ()


def effective_channel(bank: int, channel: int) -> int:
    """Drum kits (bank 128, or channel 9 as in imported files) play on channel 9."""
    return DRUM_CHANNEL if bank == DRUM_BANK or channel == DRUM_CHANNEL else channel


def assign_strips(tracks: Iterable[tuple[str, str, int, int]]) -> dict[str, int]:
    """track id -> strip, from (id, kind, bank, channel) in display order."""
    out: dict[str, int] = {}
    audio = MIDI_STRIPS
    for tid, kind, bank, channel in tracks:
        if kind == "midi":
            out[tid] = effective_channel(bank, channel)
        elif kind == "audio" and audio < MAX_STRIPS:
            out[tid] = audio
            audio += 1
    return out


def _notes_of(track: CompiledTrack) -> np.ndarray:
    ev = track.events
    keep = (ev["type"] == EV_NOTE_ON) | (ev["type"] == EV_NOTE_OFF)
    ev = ev[keep]
    out = np.zeros(len(ev), NOTE_DTYPE)
    out["sample"] = ev["sample"]
    out["type"] = ev["type"]
    out["pitch"] = ev["data1"]
    out["velocity"] = ev["data2"]
    # Stable by sample then type: note-offs (1) before note-ons (4) at one instant.
    return out[np.lexsort((out["type"], out["sample"]))]


def strips_of(song: CompiledSong) -> dict[str, int]:
    return assign_strips(
        (t.track_id, t.kind, t.instrument.bank, t.instrument.channel)
        for t in song.tracks.values()
    )


def song_update(
    song: CompiledSong,
    audio_path: Callable[[str], Path | None],
    track_ids: Iterable[str] | None = None,
) -> SongUpdate:
    """The tracks `track_ids` (None: all, a full update) of `song` for the engine;
    `audio_path(blob)` finds a region's file (None when it is missing)."""
    strips = strips_of(song)
    full = track_ids is None
    wanted = list(song.tracks) if track_ids is None else [t for t in track_ids
                                                           if t in song.tracks]
    plays = []
    for tid in wanted:
        t = song.tracks[tid]
        if tid not in strips:
            continue
        files: tuple[str, ...] = ()
        if t.kind == "audio":
            paths = [audio_path(b) for b in t.blobs]
            files = tuple(str(p) if p is not None else "" for p in paths)
        inst = t.instrument
        plays.append(TrackPlay(
            tid, t.kind, strips[tid], effective_channel(inst.bank, inst.channel), inst.bank,
            inst.program, _notes_of(t) if t.kind == "midi" else np.zeros(0, NOTE_DTYPE),
            t.regions if t.kind == "audio" else np.zeros(0, REGION_DTYPE), files))
    return SongUpdate(song.sample_rate, tuple(t for t in song.tracks if t in strips),
                      tuple(plays), np.asarray(song.tempo, TEMPO_DTYPE),
                      np.asarray(song.meters, METER_DTYPE), song.end_sample, full)


def _effect_specs(effects: Iterable[Any]) -> tuple[EffectSpec, ...]:
    return tuple(EffectSpec(str(e.id), str(e.type), bool(e.bypass),
                            {str(k): float(v) for k, v in dict(e.params).items()},
                            str(getattr(e, "plugin", "") or ""))
                 for e in effects)


def _document_effects(document: Any, owner: str) -> tuple[EffectSpec, ...]:
    getter = getattr(document, "effects", None)
    if getter is None:  # a document from before effects existed
        return ()
    try:
        return _effect_specs(getter(owner))
    except (ValueError, KeyError):
        return ()


def mix_state(document: Any, song: CompiledSong) -> MixState:
    """The mixer of `document` for the strips of `song` (solo and mute resolved:
    a muted track is silent even when soloed; while any track is soloed, only
    soloed tracks sound)."""
    strips = strips_of(song)
    tracks = [t for t in song.tracks.values() if t.track_id in strips]
    any_solo = any(t.mixer.solo for t in tracks)
    audible = {t.track_id: (not t.mixer.mute) and (t.mixer.solo or not any_solo)
               for t in tracks}
    strip_mix: dict[int, StripMix] = {}
    strip_audible: dict[int, bool] = {}
    for t in tracks:
        s = strips[t.track_id]
        strip_audible[s] = strip_audible.get(s, False) or audible[t.track_id]
        if s in strip_mix:
            continue  # a shared channel: the first track's fader and effects
        strip_mix[s] = StripMix(s, float(t.mixer.volume_db), float(t.mixer.pan),
                                _document_effects(document, t.track_id))
    master = getattr(document, "master", None)
    m = master() if master is not None else None
    return MixState(
        tuple(strip_mix.values()), audible, strip_audible,
        float(getattr(m, "volume_db", 0.0)), bool(getattr(m, "limiter", True)),
        float(getattr(m, "limiter_threshold_db", -1.0)),
        _document_effects(document, MASTER))


def db_to_gain(db: float) -> float:
    return 0.0 if db <= -199.0 else float(10.0 ** (db / 20.0))


def pan_gains(gain: float, pan: float) -> tuple[float, float]:
    """Balance for stereo strips: the centre keeps both sides at unity; panning
    right lowers the left side to silence at +1 (and the other way round)."""
    pan = min(1.0, max(-1.0, pan)) if math.isfinite(pan) else 0.0
    return gain * (1.0 - max(pan, 0.0)), gain * (1.0 + min(pan, 0.0))
