"""Chord analysis of a recording: audio in, timed chords with key, tempo and beats out.

``analyze(audio, sr)`` and ``analyze_file(path)`` run the offline chord model
(``session.ChordNet``) on ``features.features`` in overlapping chunks, decode the
outputs (``decode``), then estimate tempo, beats, bars and key (``key_tempo``).
No Qt and no audio devices: the desktop (worker process) and the cloud both use it.

Memory stays bounded for any length: audio is read and resampled block by block
(files through soundfile, which reads WAV, FLAC, OGG and MP3), the model runs on
``chunk_seconds`` of frames plus ``MARGIN_S`` of context on each side, and decoding
runs over a window of outputs that is committed up to a chord boundary well behind its
end, so only that window, the onset envelope (one float per frame), the level's gain
curve (20 floats a second, from a first pass that also measures the tuning) and the
segments grow with the file. Progress is reported and cancel is checked once per
chunk.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cloud.analysis.schema import AnalysisDoc, ChordSegment, Key
from models.chords import decode as dec
from models.chords import input_level, key_tempo, tuning
from models.chords.hum import Hum, HumDetector, HumFilter
from models.chords.vocabulary import NO_CHORD, Chord, parse, root_pc

CHUNK_S = 60.0  # model chunk (core) length
MARGIN_S = 4.0  # context on each side of a chunk (the recurrent layers' reach)
DECODE_WINDOW_S = 120.0  # outputs decoded at once
DECODE_KEEP_S = 20.0  # the window's tail left undecided until more arrives
READ_BLOCK = 1 << 16  # frames per file read
# A frame whose loudest bin is below this (log1p(1000 * magnitude); 0.69 is a partial at
# -60 dBFS) is silence: no-chord whatever the model says.
SILENCE_LEVEL = math.log1p(1000.0 * 10 ** (-60 / 20))
# ... for at least this long: the gaps between strums or picked notes (rendered guitars
# and pianos fall below -60 dBFS for 70 to 120 ms) are not no-chord.
SILENCE_MIN_S = 0.5
# Noise gate: where the spectral flatness of the log-frequency magnitudes, as a running
# median over NOISE_WINDOW frames (1 s), exceeds this, the audio is noise: no-chord.
# Measured on FluidSynth renders: music reaches 0.60 clean, 0.72 with white noise at
# 15 dB SNR (the training data's worst), 0.82 at 10 dB; white noise alone 0.9, pink
# 0.78 to 0.8 (brown noise, 0.57, passes: the model must handle it).
NOISE_FLATNESS = 0.8
NOISE_WINDOW = 43
BEATS_PER_BAR = 4
DECODERS = {"hmm": dec.decode_hmm, "ctc": dec.decode_ctc, "frames": dec.decode_frames}
# The default: the decoder that scored best on the validation set (docs/ANALYSIS.md).
DEFAULT_DECODER = "hmm"

ProgressFn = Callable[[float], None]


class _CancelFlag(Protocol):
    def is_set(self) -> bool: ...


CancelArg = Callable[[], bool] | _CancelFlag | None


class AnalysisError(RuntimeError):
    """Audio that cannot be analyzed (unreadable, damaged, unsupported); the message
    names the file."""


class AnalysisCancelled(AnalysisError):
    """``cancel`` was set while analyzing."""


@dataclass(frozen=True)
class ChordSpan:
    """A chord over [start, end) seconds: Harte ``label``; ``root``/``bass`` pitch
    classes (-1 for no-chord; ``bass == root`` in root position); ``quality`` ('' for
    N); ``confidence`` 0..1 (mean posterior of the class)."""

    start: float
    end: float
    label: str
    root: int
    quality: str
    bass: int
    confidence: float

    @property
    def chord(self) -> Chord:
        return parse(self.label)

    @classmethod
    def of(cls, start: float, end: float, chord: Chord, confidence: float) -> ChordSpan:
        return cls(start, end, chord.label(), chord.root,
                   chord.quality if chord.root >= 0 else "", chord.bass_pc,
                   float(min(1.0, max(0.0, confidence))))


@dataclass
class Analysis:
    """A file's chords, key, tempo and beats (docs/ANALYSIS.md); ``to_json`` writes
    the document of ``cloud.analysis.schema``."""

    segments: list[ChordSpan]
    duration: float
    model_version: str
    key: key_tempo.KeyEstimate | None = None
    tempo: float | None = None
    beats: list[float] = field(default_factory=list)
    downbeats: list[float] = field(default_factory=list)
    beats_per_bar: int = BEATS_PER_BAR
    # The note value of a beat (4: quarters), for the chart's time signature. Audio
    # analysis counts the beats it tracks as quarters; a song's chord track has its own.
    # Not in the JSON schema: its beats are times, whatever their note value.
    beat_unit: int = 4
    decoder: str = "hmm"
    beat_sync: bool = False
    source: str | None = None
    # cents from A = 440 Hz (None: unknown); the chords were read as if in tune when
    # it was off by tuning.CORRECT_MIN_CENTS or more
    tuning_cents: float | None = None
    # mains hum found and notched out before the chords were read (Hz), None when none
    hum_hz: float | None = None

    @property
    def prefers_flats(self) -> bool:
        return self.key.prefers_flats if self.key is not None else False

    def to_doc(self) -> AnalysisDoc:
        key = None
        if self.key is not None:
            key = Key(tonic=self.key.tonic_name, mode=self.key.mode,  # type: ignore[arg-type]
                      confidence=round(self.key.confidence, 4))
        return AnalysisDoc(
            model_version=self.model_version, duration=round(self.duration, 6), key=key,
            tempo=None if self.tempo is None else round(self.tempo, 3),
            beats=[round(b, 4) for b in self.beats],
            downbeats=[round(b, 4) for b in self.downbeats],
            beats_per_bar=self.beats_per_bar,
            segments=[ChordSegment(start=round(s.start, 6), end=round(s.end, 6), label=s.label,
                                   root=s.root, quality=s.quality, bass=s.bass,
                                   confidence=round(s.confidence, 4))
                      for s in self.segments],
            decoder=self.decoder,  # type: ignore[arg-type]
            beat_sync=self.beat_sync, source=self.source,
            tuning_cents=None if self.tuning_cents is None else round(self.tuning_cents, 1),
            hum_hz=None if self.hum_hz is None else round(self.hum_hz, 2))

    def to_json(self, indent: int | None = 2) -> str:
        return self.to_doc().model_dump_json(indent=indent)

    @classmethod
    def from_doc(cls, doc: AnalysisDoc) -> Analysis:
        key = None
        if doc.key is not None:
            key = key_tempo.KeyEstimate(root_pc(doc.key.tonic), doc.key.mode,
                                        doc.key.confidence)
        return cls(
            segments=[ChordSpan(s.start, s.end, s.label, s.root, s.quality, s.bass,
                                s.confidence) for s in doc.segments],
            duration=doc.duration, model_version=doc.model_version, key=key,
            tempo=doc.tempo, beats=list(doc.beats), downbeats=list(doc.downbeats),
            beats_per_bar=doc.beats_per_bar, decoder=doc.decoder, beat_sync=doc.beat_sync,
            source=doc.source, tuning_cents=doc.tuning_cents, hum_hz=doc.hum_hz)

    @classmethod
    def from_json(cls, text: str | bytes) -> Analysis:
        """Parse and validate (pydantic's ValidationError names the bad field)."""
        return cls.from_doc(AnalysisDoc.model_validate_json(text))


# ------------------------------------------------------------------ the model ---

_NETS: dict[tuple[str | None, int], Any] = {}
_NETS_LOCK = threading.Lock()


def load_net(path: str | Path | None = None, threads: int = 1) -> Any:
    """The offline ChordNet, loaded once per process (path, threads)."""
    from models.chords.session import ChordNet

    key = (None if path is None else str(path), threads)
    with _NETS_LOCK:
        if key not in _NETS:
            _NETS[key] = ChordNet.load(path, threads=threads)
        return _NETS[key]


def _cancelled(cancel: CancelArg) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


class _Pipeline:
    """Mono audio at the features' rate in, decoded segments out, chunk by chunk."""

    def __init__(self, net: Any, decoder: str, options: dec.DecodeOptions,
                 chunk_seconds: float, total_samples: int | None,
                 progress: ProgressFn | None, cancel: CancelArg) -> None:
        from models.chords import features as feat

        self.feat = feat
        self.net = net
        self.decoder = decoder
        self.options = options
        self.fps = feat.FPS
        self.core = max(1, round(chunk_seconds * self.fps))
        self.margin = round(MARGIN_S * self.fps)
        self.total_samples = total_samples
        self.progress = progress
        self.cancel = cancel
        self.hop = feat.HOP
        self.buf = np.zeros(0, np.float32)  # samples from global sample buf_start on
        self.buf_start = 0
        self.n = 0  # samples received
        self.next_frame = 0  # first frame of the next core chunk
        self.envelope: list[np.ndarray] = []
        self.pending: dict[str, list[np.ndarray]] = {
            "ctc_logprobs": [], "frame_logprobs": [], "bass_logprobs": [], "quiet": [],
            "onset": []}
        self.pending_start = 0  # global frame of the first pending output
        self.pending_len = 0
        self.segments: list[dec.Segment] = []

    # audio in
    def push(self, x: np.ndarray, last: bool = False) -> None:
        if x.size:
            self.buf = np.concatenate([self.buf, x.astype(np.float32, copy=False)])
            self.n += x.size
        while True:
            total = self.feat.n_frames(self.n)
            end = self.next_frame + self.core
            # the chunk's right margin must have arrived (or the stream ended)
            need = (end + self.margin) * self.hop + self.feat.RIGHT_SAMPLES
            if not last and self.n < need:
                break
            if self.next_frame >= total:
                break
            self._chunk(min(end, total), total, last)
        if last:
            self._decode(final=True)

    def _chunk(self, end: int, total: int, last: bool) -> None:
        if _cancelled(self.cancel):
            raise AnalysisCancelled("analysis cancelled")
        first = max(0, self.next_frame - self.margin)
        upto = min(total, end + self.margin)
        a = first * self.hop
        b = min(self.n, upto * self.hop + self.feat.RIGHT_SAMPLES + self.hop)
        x = self.buf[a - self.buf_start: b - self.buf_start]
        f = self.feat.features(x, self.feat.SAMPLE_RATE)[: upto - first]
        # Frame j of x is global frame first + j; the left padding only touches the
        # margin (or the true start of the file, where it is the same padding).
        lo, hi = self.next_frame - first, end - first
        out = self.net.offline(f)
        env = key_tempo.onset_envelope(f)[lo:hi]
        silent = silent_frames(f, self.fps)[lo:hi] | noise_frames(f)[lo:hi]
        core = {k: out[k][lo:hi] for k in ("ctc_logprobs", "frame_logprobs", "bass_logprobs")}
        core = dec.force_no_chord(core, silent)
        core["quiet"] = f[lo:hi].max(axis=1, initial=0.0) < SILENCE_LEVEL
        core["onset"] = change_onsets(f)[lo:hi]
        for k in self.pending:
            self.pending[k].append(core[k])
        self.pending_len += hi - lo
        self.envelope.append(env)
        self.next_frame = end
        # drop audio no later chunk reaches back to
        keep = max(0, (self.next_frame - self.margin) * self.hop - self.hop) - self.buf_start
        if keep > 0:
            self.buf = self.buf[keep:]
            self.buf_start += keep
        if self.pending_len >= DECODE_WINDOW_S * self.fps:
            self._decode(final=False)
        if self.progress is not None:
            expected = self.feat.n_frames(self.total_samples or 0)
            self.progress(min(1.0, self.next_frame / expected) if expected else 0.0)

    def _decode(self, final: bool) -> None:
        if self.pending_len == 0:
            return
        outs = {k: np.concatenate(v) for k, v in self.pending.items()}
        t0 = (self.pending_start - 0.5) / self.fps
        duration = self.n / self.feat.SAMPLE_RATE if final else math.inf
        fn = DECODERS[self.decoder]
        segs = fn(outs, self.fps, duration, t0=t0, options=self.options, final=final)
        if final:
            cut = len(segs)
        else:
            # commit up to the last boundary DECODE_KEEP_S before the window's end
            limit = t0 + (self.pending_len - DECODE_KEEP_S * self.fps) / self.fps
            cut = max((i for i, s in enumerate(segs) if s.start <= limit and i > 0),
                      default=0)
            if cut == 0 and self.pending_len >= 2 * DECODE_WINDOW_S * self.fps:
                # one chord (or silence) for two windows: cut it at the limit, so the
                # window stays bounded; the next window's first segment joins it again
                edge = t0 + round((limit - t0) * self.fps) / self.fps
                k = next(i for i, s in enumerate(segs) if s.end > edge)
                segs = [*segs[:k], replace(segs[k], end=edge),
                        replace(segs[k], start=edge), *segs[k + 1:]]
                cut = k + 1
        if cut == 0:
            return
        done = segs[:cut]
        if self.segments:
            # the window starts where the previous commit ended: join the same chord
            done = dec.merge_equal([*self.segments[-1:], *done])
            self.segments[-1:] = done
        else:
            self.segments.extend(done)
        if final:
            return
        frames = round((segs[cut].start - t0) * self.fps)
        for name, parts in self.pending.items():
            parts[:] = [outs[name][frames:]]
        self.pending_start += frames
        self.pending_len -= frames


def silent_frames(features: np.ndarray, fps: float = 11025 / 256) -> np.ndarray:
    """Frames in a run of at least ``SILENCE_MIN_S`` whose loudest bin is below
    ``SILENCE_LEVEL``, [T] bool."""
    quiet = np.asarray(features).max(axis=1, initial=0.0) < SILENCE_LEVEL
    if not quiet.any():
        return quiet
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = np.zeros_like(quiet)
    for a, b in zip(starts, ends, strict=True):
        if b - a >= SILENCE_MIN_S * fps:
            out[a:b] = True
    return out


@functools.cache
def _bass_bins() -> int:
    from models.chords import features as feat

    return int(np.count_nonzero(feat.bin_midi() < feat.CROSSOVER_MIDI - 1e-6))


def change_onsets(features: np.ndarray) -> np.ndarray:
    """How much the bass band (bins below ``features.CROSSOVER_MIDI``, E3) rises into
    each frame: the summed positive difference from the frame before, [T] (0 for the
    first). A chord change nearly always brings new bass notes; the decoders snap
    chord starts to it (``decode.snap_to_onsets``). Over the whole band the snap
    scored the same on progressions and 0.2 points lower on chorales (validation)."""
    low = np.asarray(features, dtype=np.float32)[:, :_bass_bins()]
    rise = np.diff(low, axis=0, prepend=low[:1])
    return np.asarray(np.maximum(rise, 0.0).sum(axis=1), dtype=np.float32)


def flatness(features: np.ndarray) -> np.ndarray:
    """Spectral flatness (geometric over arithmetic mean of the magnitudes) per frame
    of log-frequency features (``log1p(LOG_GAIN * magnitude)``), 0..1."""
    mag = np.expm1(np.asarray(features, dtype=np.float32)) + 1e-3
    return np.asarray(np.exp(np.log(mag).mean(axis=1)) / mag.mean(axis=1))


def noise_frames(features: np.ndarray) -> np.ndarray:
    """Frames inside a second of noise (``NOISE_FLATNESS``), [T] bool."""
    if features.shape[0] == 0:
        return np.zeros(0, bool)
    from scipy.ndimage import median_filter

    flat = median_filter(flatness(features), NOISE_WINDOW, mode="nearest")
    return np.asarray(flat > NOISE_FLATNESS)


def _resampled_blocks(blocks: Iterator[np.ndarray], sr: float,
                      gain: input_level.GainCurve | None = None) -> Iterator[np.ndarray]:
    """Mono float32 at the features' rate from blocks at ``sr``, times ``gain``."""
    from models.chords import features as feat

    done = 0

    def mono(b: np.ndarray) -> np.ndarray:
        nonlocal done
        m = feat.to_mono(b)
        if gain is not None:
            m = gain.apply(m, done)
        done += m.size
        return m

    if sr == feat.SAMPLE_RATE:
        for b in blocks:
            yield mono(b)
        return
    import soxr

    rs = soxr.ResampleStream(sr, feat.SAMPLE_RATE, 1, dtype="float32")
    for b in blocks:
        yield np.asarray(rs.resample_chunk(mono(b)), dtype=np.float32)
    yield np.asarray(rs.resample_chunk(np.zeros(0, np.float32), last=True), dtype=np.float32)


def _run(blocks: Iterator[np.ndarray], sr: float, n_samples: int | None,
         first: FirstPass, *, beat_sync: bool, decoder: str,
         options: dec.DecodeOptions | None, chunk_seconds: float,
         progress: ProgressFn | None, cancel: CancelArg, model: str | Path | None,
         threads: int, source: str | None) -> Analysis:
    from models.chords import features as feat

    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, not {decoder!r}")
    if not (sr > 0 and math.isfinite(sr)):
        raise AnalysisError(f"{source or 'audio'}: sample rate {sr} is not a positive number")
    net = load_net(model, threads)
    # A recording out of tune is read as if played at the rate that puts it in tune:
    # pitches and times scale by `stretch`, and times are scaled back below.
    stretch = 1.0
    tuning_cents = first.tuning_cents
    if tuning_cents is not None and abs(tuning_cents) >= tuning.CORRECT_MIN_CENTS:
        stretch = 2.0 ** (-tuning_cents / 1200.0)
    rate = sr * stretch
    total = None if n_samples is None else math.ceil(n_samples * feat.SAMPLE_RATE / rate)
    pipe = _Pipeline(net, decoder, options or dec.DecodeOptions(), chunk_seconds, total,
                     progress, cancel)
    # the hum's lines move with the rate the recording is read at
    notch = (None if first.hum is None
             else HumFilter(first.hum.scaled(stretch), feat.SAMPLE_RATE))
    for block in _resampled_blocks(blocks, rate, first.gain):
        if notch is not None:
            block = notch.apply(block)
        pipe.push(block)
    pipe.push(np.zeros(0, np.float32), last=True)
    if _cancelled(cancel):
        raise AnalysisCancelled("analysis cancelled")
    duration = pipe.n / feat.SAMPLE_RATE * stretch if n_samples is None else n_samples / sr
    segs = [dec.Segment(s.start * stretch, s.end * stretch, s.index, s.confidence, s.bass)
            for s in pipe.segments] if stretch != 1.0 else pipe.segments
    if segs:  # the exact input duration (resampling rounds the sample count)
        segs[-1] = dec.Segment(segs[-1].start, max(duration, segs[-1].start + 1e-6),
                               segs[-1].index, segs[-1].confidence, segs[-1].bass)
    elif duration > 0:
        segs = [dec.Segment(0.0, duration, dec.N_INDEX, 1.0)]
    env = np.concatenate(pipe.envelope) if pipe.envelope else np.zeros(0, np.float32)
    tempo, beats = key_tempo.track_beats(env, pipe.fps / stretch)
    beats = key_tempo.align_to_changes(beats, [s.start for s in segs[1:]])
    if beat_sync and beats.size:
        segs = dec.beat_sync(segs, beats.tolist())
    spans = [ChordSpan.of(s.start, s.end, _chord(s), s.confidence) for s in segs]
    key = key_tempo.detect_key([(s.end - s.start, s.chord) for s in spans])
    changes = [s.start for s in spans[1:]]
    meter = key_tempo.beats_per_bar(beats, changes)
    bars = key_tempo.downbeats(beats, changes, meter)
    if progress is not None:
        progress(1.0)
    return Analysis(segments=spans, duration=duration,
                    model_version=str(net.meta.get("model_version", "unknown")), key=key,
                    tempo=tempo, beats=beats.tolist(), downbeats=bars.tolist(),
                    beats_per_bar=meter, decoder=decoder, beat_sync=beat_sync,
                    source=source, tuning_cents=tuning_cents,
                    hum_hz=None if first.hum is None else first.hum.mains_hz)


def _chord(seg: dec.Segment) -> Chord:
    return parse(seg.label) if seg.index != dec.N_INDEX else parse(NO_CHORD)


def analyze(audio: np.ndarray, sr: float, *, beat_sync: bool = False,
            progress: ProgressFn | None = None, cancel: CancelArg = None,
            decoder: str = DEFAULT_DECODER, options: dec.DecodeOptions | None = None,
            chunk_seconds: float = CHUNK_S, model: str | Path | None = None,
            threads: int = 1, source: str | None = None) -> Analysis:
    """Chords, key, tempo and beats of ``audio`` ([n] or [n, channels], any rate).
    ``progress(fraction)`` is called after every chunk; ``cancel`` (a callable or an
    Event) is checked before each and raises AnalysisCancelled."""
    from models.chords import features as feat

    x = np.asarray(audio)
    if x.ndim == 2 and x.shape[0] <= 8 < x.shape[1]:
        x = x.T
    n = int(x.shape[0]) if x.ndim >= 1 else 0
    mono = feat.to_mono(x)
    step = READ_BLOCK * 4
    blocks = (mono[i: i + step] for i in range(0, mono.size, step))
    return _run(blocks, float(sr), n, _first_pass([mono], float(sr)), beat_sync=beat_sync,
                decoder=decoder, options=options, chunk_seconds=chunk_seconds,
                progress=progress, cancel=cancel, model=model, threads=threads,
                source=source)


def analyze_file(path: str | Path, *, beat_sync: bool = False,
                 progress: ProgressFn | None = None, cancel: CancelArg = None,
                 decoder: str = DEFAULT_DECODER, options: dec.DecodeOptions | None = None,
                 chunk_seconds: float = CHUNK_S, model: str | Path | None = None,
                 threads: int = 1) -> Analysis:
    """``analyze`` of an audio file, read in blocks with soundfile (WAV, FLAC, OGG,
    MP3, AIFF, ...); other formats are loaded whole through librosa/audioread. A
    missing, empty, truncated, damaged or unsupported file raises AnalysisError naming
    it and saying what is wrong (``models.audio_damage``): a cut file would otherwise
    give the chords of its first part as if that were the whole song."""
    p = Path(path)
    if p.is_dir():
        raise AnalysisError(f"{p} is a folder, not an audio file")
    if not p.is_file():
        raise AnalysisError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise AnalysisError(f"{p}: the file is empty (0 bytes)")
    kw: dict[str, Any] = dict(beat_sync=beat_sync, decoder=decoder, options=options,
                              chunk_seconds=chunk_seconds, progress=progress, cancel=cancel,
                              model=model, threads=threads, source=p.name)
    import soundfile as sf

    from models.audio_damage import damage_of, describe_error

    try:
        handle = sf.SoundFile(str(p))
    except Exception as exc:  # libsndfile: unknown format or a damaged header
        return _analyze_fallback(p, exc, kw)
    with handle:
        problem = damage_of(p, handle)  # a SoundFile has the format and parse log too
        if problem is not None:
            raise AnalysisError(f"{p}: the file is truncated or damaged: {problem}")
        sr, frames = float(handle.samplerate), int(handle.frames)
        first = _first_pass(_mono_blocks_until_error(handle), sr)
        handle.seek(0)
        read = 0

        def blocks() -> Iterator[np.ndarray]:
            nonlocal read
            while True:
                try:
                    b = handle.read(READ_BLOCK, dtype="float32", always_2d=True)
                except Exception as exc:
                    raise AnalysisError(
                        f"{p}: the file is truncated or damaged: decoding stopped after "
                        f"{read / sr:.1f} s ({describe_error(exc)})") from exc
                if b.shape[0] == 0:
                    return
                read += b.shape[0]
                yield b

        try:
            analysis = _run(blocks(), sr, frames if frames > 0 else None, first, **kw)
        except AnalysisError:
            raise
        except (ValueError, RuntimeError) as exc:
            raise AnalysisError(f"{p}: cannot analyze ({exc})") from exc
    if read == 0:
        raise AnalysisError(f"{p}: the file holds no audio (0 frames)")
    if frames > 0 and read < frames - max(sr * 0.05, frames * 0.001):
        # libsndfile decoded less than the header announces: a cut stream (with some
        # slack, so a length that is only an estimate is not refused for a few ms)
        raise AnalysisError(f"{p}: the file is truncated or damaged: {read:,} of its "
                            f"{frames:,} frames could be decoded")
    return analysis


@dataclass(frozen=True)
class FirstPass:
    """What the first pass over a recording measures before the chords are read."""

    gain: input_level.GainCurve  # lifts its quiet passages to the model's level
    tuning_cents: float | None  # None when unknown
    hum: Hum | None  # mains hum to notch out, None when there is none


def _first_pass(blocks: Iterable[np.ndarray], sr: float) -> FirstPass:
    """From a recording's mono blocks (the first pass over a file): its level, its
    tuning (without the hum's lines) and its mains hum."""
    ok = sr > 0 and math.isfinite(sr)
    peaks = input_level.PeakTrack(sr if ok else 1.0)
    est = tuning.TuningEstimator(sr) if ok else None
    det = HumDetector(sr) if ok else None
    for mono in blocks:
        peaks.push(mono)
        if est is not None and det is not None:
            est.push(mono)
            det.push(mono)
    found = None if det is None else det.hum
    return FirstPass(peaks.gain_curve(), None if est is None else est.cents_without(found),
                     found)


def _mono_blocks_until_error(handle: Any) -> Iterator[np.ndarray]:
    """A file's mono mix block by block, ending quietly at a read error: the analysis
    pass reports the damage with what it decoded."""
    from models.chords import features as feat

    try:
        while True:
            b = handle.read(READ_BLOCK, dtype="float32", always_2d=True)
            if b.shape[0] == 0:
                return
            yield feat.to_mono(b)
    except Exception:
        return


def _analyze_fallback(p: Path, first: Exception, kw: dict[str, Any]) -> Analysis:
    try:
        import warnings

        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(p), sr=None, mono=True)
    except Exception as exc:
        from models.audio_damage import describe_error

        why = describe_error(first)
        # NoBackendError only says no decoder is installed, and an error without words
        # (an EOFError on a few bytes of garbage) says nothing a musician can use.
        if type(exc).__name__ != "NoBackendError" and str(exc).strip():
            why += f"; audioread: {describe_error(exc)}"
        raise AnalysisError(f"{p}: not a readable audio file ({why})") from exc
    if y.size == 0:
        raise AnalysisError(f"{p}: the file holds no audio")
    return _run(iter([y]), float(sr), int(y.size), _first_pass([y], float(sr)), **kw)
