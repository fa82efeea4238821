"""The song as the audio callback reads it, built by the engine's control thread.

`SongBuilder` keeps the tracks the UI sent (`song_data.TrackPlay`), merges the
notes of every MIDI track into one time-ordered list of plain ints (indexing a
list in the callback allocates nothing; numpy scalars would), and decodes the
audio files of audio regions once, resampled to the engine's rate (soxr's high
quality resampler, librosa's when soxr is missing). A missing file is silent.
"""

from __future__ import annotations

import contextlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from strumspace_desktop.audio.song_data import NOTE_DTYPE, SongUpdate, TrackPlay
from strumspace_desktop.core.document.compile import EV_NOTE_ON, TEMPO_DTYPE
from strumspace_desktop.core.timing import PPQ

# Event code: slot << 24 | channel << 16 | on << 8 | pitch; velocity in its own list.
SLOT_SHIFT = 24


@dataclass(frozen=True)
class RegionPlay:
    start: int  # song samples
    end: int
    source: int  # frames into `data` at the song's start
    gain: float
    fade_in: int  # frames, engine rate
    fade_out: int
    data: np.ndarray  # (2, n) float32 at the engine rate


@dataclass(frozen=True)
class AudioTrackPlay:
    strip: int
    regions: tuple[RegionPlay, ...]


@dataclass
class SongRuntime:
    samples: list[int]
    codes: list[int]
    velocities: list[int]
    slots: dict[str, int]  # track id -> slot in codes
    audio: tuple[AudioTrackPlay, ...]
    tempo_samples: list[int]
    tempo_ticks: list[int]
    tempo_bpm: list[float]
    channels: np.ndarray  # (16,) bool: channels that MIDI tracks play
    programs: dict[int, tuple[int, int]]  # channel -> (bank, program)
    changed_channels: tuple[int, ...]  # their song notes stop when this is swapped in
    audio_strips: tuple[int, ...]
    end_sample: int
    messages: list[str] = field(default_factory=list)

    def sample_at_tick(self, tick: float, sample_rate: int) -> int:
        """The song sample of a tick through the tempo map (the compiler's arithmetic)."""
        ticks, samples, bpms = self.tempo_ticks, self.tempo_samples, self.tempo_bpm
        i = 0
        for j in range(1, len(ticks)):
            if ticks[j] <= tick:
                i = j
            else:
                break
        seconds_per_tick = 60.0 / (bpms[i] * PPQ)
        return math.floor(samples[i] + (tick - ticks[i]) * seconds_per_tick * sample_rate
                              + 0.5)

    def bpm_at_sample(self, sample: int) -> float:
        bpm = self.tempo_bpm[0]
        for s, b in zip(self.tempo_samples, self.tempo_bpm, strict=False):
            if s <= sample:
                bpm = b
            else:
                break
        return bpm


def empty_runtime() -> SongRuntime:
    return SongRuntime([], [], [], {}, (), [0], [0], [120.0], np.zeros(16, bool), {}, (), (), 0)


class AudioFiles:
    """Decoded, resampled audio files by path, kept while a region uses them."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._cache: dict[str, tuple[np.ndarray, int]] = {}  # path -> (data, file rate)

    def get(self, path: str) -> tuple[np.ndarray, int] | None:
        if not path:
            return None
        hit = self._cache.get(path)
        if hit is not None:
            return hit
        decoded = self._decode(path)
        if decoded is not None:
            self._cache[path] = decoded
        return decoded

    def prefetch(self, paths: set[str]) -> None:
        """Decode the files not decoded yet side by side (soundfile and soxr release
        the GIL): a song with several long files loads in a fraction of the time."""
        todo = sorted(p for p in paths if p and p not in self._cache)
        if len(todo) < 2:
            return
        workers = min(len(todo), os.cpu_count() or 1, 4)
        with ThreadPoolExecutor(workers, "decode-audio") as pool:
            for path, decoded in zip(todo, pool.map(self._decode, todo), strict=True):
                if decoded is not None:
                    self._cache[path] = decoded

    def _decode(self, path: str) -> tuple[np.ndarray, int] | None:
        try:
            return decode_audio(Path(path), self.sample_rate)
        except (OSError, RuntimeError, ValueError):
            return None

    def keep_only(self, paths: set[str]) -> None:
        for p in list(self._cache):
            if p not in paths:
                del self._cache[p]


def resample(data: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """(frames, channels) float32 from source_rate to target_rate."""
    if source_rate == target_rate or len(data) == 0:
        return data
    try:
        import soxr

        return np.asarray(soxr.resample(data, source_rate, target_rate, quality="HQ"),
                          np.float32)
    except ImportError:
        import librosa

        out = librosa.resample(data.T, orig_sr=source_rate, target_sr=target_rate,
                               res_type="soxr_hq")
        return np.ascontiguousarray(out.T, np.float32)


def decode_audio(path: Path, sample_rate: int) -> tuple[np.ndarray, int]:
    """A file as (2, frames) float32 at `sample_rate` (mono doubled, extra channels
    dropped), and the file's own rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    data = resample(np.ascontiguousarray(data[:, :2]), int(rate), sample_rate)
    return np.ascontiguousarray(data.T, np.float32), int(rate)


class SongBuilder:
    """The engine's copy of the song: updated per track, rebuilt into a runtime."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.tracks: dict[str, TrackPlay] = {}
        self.order: tuple[str, ...] = ()
        self.tempo = np.zeros(1, TEMPO_DTYPE)
        self.tempo["bpm"] = 120.0
        self.end_sample = 0
        self.files = AudioFiles(sample_rate)

    def apply(self, update: SongUpdate) -> tuple[SongRuntime, set[str]]:
        """Take an update; the new runtime and the ids of the tracks it changed."""
        changed = {t.track_id for t in update.tracks}
        stop = {t.channel for t in update.tracks if t.kind == "midi"}
        stop |= {self.tracks[t].channel for t in changed if t in self.tracks
                 and self.tracks[t].kind == "midi"}
        if update.full:
            changed |= set(self.tracks)
            stop |= {t.channel for t in self.tracks.values() if t.kind == "midi"}
            self.tracks = {}
        for t in update.tracks:
            self.tracks[t.track_id] = t
        self.order = tuple(update.order)
        for gone in set(self.tracks) - set(self.order):
            changed.add(gone)
            if self.tracks[gone].kind == "midi":
                stop.add(self.tracks[gone].channel)
            del self.tracks[gone]
        if len(update.tempo):
            self.tempo = np.asarray(update.tempo, TEMPO_DTYPE)
        self.end_sample = int(update.end_sample)
        return self.build(stop), changed

    def build(self, stop_channels: set[int] | None = None) -> SongRuntime:
        """The runtime; song notes on `stop_channels` (None: all) stop when it is
        swapped in, since their note-offs may have moved."""
        slots = {tid: i for i, tid in enumerate(self.order)}
        parts = []
        programs: dict[int, tuple[int, int]] = {}
        channels = np.zeros(16, bool)
        for tid in self.order:
            t = self.tracks.get(tid)
            if t is None or t.kind != "midi":
                continue
            channels[t.channel] = True
            programs.setdefault(t.channel, (t.bank, t.program))
            if len(t.notes):
                part = np.zeros(len(t.notes), [("sample", "<i8"), ("type", "u1"),
                                               ("code", "<i8"), ("velocity", "<i8")])
                notes = np.asarray(t.notes, NOTE_DTYPE)
                part["sample"] = notes["sample"]
                part["type"] = notes["type"]
                on = (notes["type"] == EV_NOTE_ON).astype(np.int64)
                part["code"] = ((slots[tid] << SLOT_SHIFT) | (t.channel << 16) | (on << 8)
                                | notes["pitch"].astype(np.int64))
                part["velocity"] = notes["velocity"]
                parts.append(part)
        if parts:
            ev = np.concatenate(parts)
            ev = ev[np.lexsort((ev["type"], ev["sample"]))]
            samples, codes, vels = (ev["sample"].tolist(), ev["code"].tolist(),
                                    ev["velocity"].tolist())
        else:
            samples, codes, vels = [], [], []
        audio = []
        messages: list[str] = []
        used: set[str] = set()
        wanted = set()
        for tid in self.order:
            t = self.tracks.get(tid)
            if t is not None and t.kind == "audio":
                for r in t.regions:
                    blob = int(r["blob"])
                    if bool(r["online"]) and 0 <= blob < len(t.files):
                        wanted.add(t.files[blob])
        self.files.prefetch(wanted)
        for tid in self.order:
            t = self.tracks.get(tid)
            if t is None or t.kind != "audio":
                continue
            regions = []
            for r in t.regions:
                if not bool(r["online"]):
                    continue
                blob = int(r["blob"])
                path = t.files[blob] if 0 <= blob < len(t.files) else ""
                decoded = self.files.get(path)
                if decoded is None:
                    if path:
                        messages.append(f"The audio file {Path(path).name} could not be "
                                        "read; its regions are silent.")
                    continue
                used.add(path)
                data, file_rate = decoded
                scale = self.sample_rate / file_rate
                regions.append(RegionPlay(
                    int(r["start_sample"]), int(r["end_sample"]),
                    round(int(r["offset"]) * scale), float(r["gain"]),
                    round(int(r["fade_in"]) * scale), round(int(r["fade_out"]) * scale),
                    data))
            audio.append(AudioTrackPlay(t.strip, tuple(regions)))
        with contextlib.suppress(Exception):
            self.files.keep_only(used)
        tempo = self.tempo
        changed_channels = tuple(sorted(stop_channels)) if stop_channels is not None \
            else tuple(range(16))
        return SongRuntime(
            samples, codes, vels, slots, tuple(audio),
            [int(x) for x in tempo["sample"]], [int(x) for x in tempo["tick"]],
            [float(x) for x in tempo["bpm"]], channels, programs,
            changed_channels,
            tuple(a.strip for a in audio), self.end_sample, messages)
