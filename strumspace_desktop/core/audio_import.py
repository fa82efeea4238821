"""Audio files into the project: checked, stored by content, placed as regions (no Qt).

Reads whatever this libsndfile reads (WAV, AIFF, FLAC, Ogg Vorbis and Opus, MP3,
W64, RF64, ...). An import is two steps, so the slow one can run off the UI thread:

* `prepare_audio(source, audio_dir)` decodes the whole file block by block (never
  whole in memory), checks it (container truncated, decoder errors, fewer frames
  than the header says, NaN or infinite samples, no audio at all) and writes the
  project's copy, `audio/<sha256>.<ext>`. A file that fails any check raises
  `AudioImportError` naming it, and leaves nothing in the audio folder. Thread-safe:
  it touches no document.
* `place_audio(project, prepared, ...)` (UI thread) registers the blob and adds one
  region at a tick, on a given audio track or a new one, as one undo step.

`import_audio_file` does both. Storage: 8 to 24-bit integer PCM becomes FLAC (bit
for bit; a FLAC source with one or two channels is kept byte for byte), 32-bit
integer PCM stays WAV PCM_32, everything else (float, lossy MP3/Ogg, ADPCM, ...) is
stored as it decodes, 32-bit float WAV (RF64 past 4 GiB). Sample rates are kept:
the engine resamples. Mono stays mono. More than two channels: the first two are
kept (front left and right in the usual WAV/SMPTE order) and the notes say so;
a mixdown would guess at channel layouts the file does not describe.

A region's length in ticks comes from the file's duration and the tempo map at the
region's start (`region_length_ticks`).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from models.audio_damage import damage_of, describe_error
from strumspace_desktop.core.document import BlobInfo, Document, DocumentError
from strumspace_desktop.core.document.project_files import Project, sha256_file
from strumspace_desktop.core.timing import TempoMap

BLOCK_FRAMES = 65536
MAX_CHANNELS_KEPT = 2
# Extensions offered by the import dialog (libsndfile looks at the bytes, not the name).
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff",
                  ".aifc", ".w64", ".rf64", ".caf")
_FLAC_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24"}
_WAV_LIMIT_BYTES = (1 << 32) - (1 << 20)  # a RIFF chunk size is 32 bits; leave room for headers

Progress = Callable[[float], object]


class AudioImportError(Exception):
    """An audio file could not be imported; the message is meant for the user."""


class AudioImportCancelled(AudioImportError):
    """The user cancelled the import; nothing was added."""


@dataclass(frozen=True)
class PreparedAudio:
    """A checked audio file stored in a project's audio folder, not yet in the document."""

    blob: BlobInfo
    path: Path  # the stored file, audio/<sha256>.<ext>
    created: bool  # False when the folder already held these bytes
    notes: tuple[str, ...] = ()  # what the user should be told (channels dropped, ...)


@dataclass(frozen=True)
class ImportedAudio:
    blob: BlobInfo
    track_id: str
    region_id: str
    track_created: bool
    notes: tuple[str, ...] = field(default=())


# ----- preparing -----------------------------------------------------------------------------


def _storage(info: sf._SoundFileInfo, channels: int) -> tuple[str, str, str, str]:
    """(ext, libsndfile format, subtype, read dtype) of the project's copy."""
    if info.subtype in _FLAC_SUBTYPES and channels <= 8:
        # Integers in and out: PCM round-trips bit for bit.
        return "flac", "FLAC", "PCM_16" if info.subtype == "PCM_U8" else info.subtype, "int32"
    bytes_per_sample = 8 if info.subtype == "DOUBLE" else 4
    big = info.frames * channels * bytes_per_sample > _WAV_LIMIT_BYTES
    fmt = "RF64" if big else "WAV"
    if info.subtype == "PCM_32":
        return "wav", fmt, "PCM_32", "int32"
    if info.subtype == "DOUBLE":
        return "wav", fmt, "DOUBLE", "float64"
    return "wav", fmt, "FLOAT", "float32"


def decode_blocks(f: sf.SoundFile, blocksize: int, dtype: str) -> Iterator[np.ndarray]:
    """The file's frames in order, `blocksize` at a time, as (frames, channels) arrays.

    Not `SoundFile.blocks`: python-soundfile seeks to the current position after every
    read, and with libsndfile 1.2.2 a seek in an MP3 restarts its decoder, which then
    yields about 2,350 frames of silence in place of audio at each block boundary.
    Reading as if the file were not seekable skips that seek.
    """
    f.seekable = lambda: False
    while True:
        block = f.read(blocksize, dtype=dtype, always_2d=True)
        if not len(block):
            return
        yield block


def prepare_audio(source: Path, audio_dir: Path, *, progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> PreparedAudio:
    """Decode and check `source` completely, then store the project's copy in `audio_dir`.

    Raises AudioImportError (AudioImportCancelled when `cancel` is set); then nothing
    new is left in `audio_dir`.
    """
    source = Path(source)
    name = source.name
    if not source.is_file():
        raise AudioImportError(f"“{name}” was not found ({source})")
    if source.stat().st_size == 0:
        raise AudioImportError(f"“{name}” is empty (0 bytes): there is no audio in it")
    try:
        info = sf.info(str(source))
    except Exception as exc:  # libsndfile says why in its own words
        raise AudioImportError(
            f"“{name}” is not an audio file StrumSpace can read ({describe_error(exc)})") from exc
    damage = damage_of(source, info)
    if damage is not None:
        raise AudioImportError(f"“{name}” is truncated or damaged: {damage}")
    if info.frames <= 0 or info.channels <= 0 or info.samplerate <= 0:
        raise AudioImportError(f"“{name}” holds no audio (0 frames)")

    keep = min(info.channels, MAX_CHANNELS_KEPT)
    notes: list[str] = []
    if info.channels > keep:
        notes.append(f"“{name}” has {info.channels} channels: channels 1 and 2 were "
                     "imported (front left and right), the others left out")
    ext, fmt, subtype, dtype = _storage(info, keep)
    copy_bytes = info.format == "FLAC" and info.channels == keep

    audio_dir = Path(audio_dir)
    try:
        audio_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioImportError(
            f"“{name}” was not imported: the audio folder {audio_dir} cannot be created "
            f"({exc.strerror or exc})") from exc
    tmp = audio_dir / f".import-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    decoded = 0
    try:
        with contextlib.ExitStack() as stack:
            src = stack.enter_context(sf.SoundFile(str(source)))
            dst = None if copy_bytes else stack.enter_context(
                sf.SoundFile(str(tmp), "w", info.samplerate, keep, subtype, format=fmt))
            for block in decode_blocks(src, BLOCK_FRAMES, dtype):
                if cancel is not None and cancel.is_set():
                    raise AudioImportCancelled(f"the import of “{name}” was cancelled")
                if dtype.startswith("float") and not np.isfinite(block).all():
                    raise AudioImportError(
                        f"“{name}” is damaged: it holds invalid samples (NaN or infinite) "
                        f"near {decoded / info.samplerate:.1f} s")
                if dst is not None:
                    dst.write(np.ascontiguousarray(block[:, :keep]))
                decoded += len(block)
                if progress is not None:
                    progress(min(decoded / info.frames, 1.0) * 0.95)
        if decoded != info.frames:
            raise AudioImportError(
                f"“{name}” is truncated or damaged: {decoded:,} of its {info.frames:,} "
                "frames could be decoded")
        if copy_bytes:
            shutil.copyfile(source, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        sha = sha256_file(tmp)
        final = audio_dir / f"{sha}.{ext}"
        created = not final.exists()
        if created:
            os.replace(tmp, final)
        else:
            tmp.unlink()  # content-addressed: the same bytes are already there
    except AudioImportError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AudioImportError(_os_problem(name, audio_dir, exc)) from exc
    except Exception as exc:  # libsndfile decoder errors (lost sync, internal error, ...)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AudioImportError(
            f"“{name}” is truncated or damaged: decoding stopped after "
            f"{decoded / info.samplerate:.1f} s ({describe_error(exc)})") from exc
    if progress is not None:
        progress(1.0)
    blob = BlobInfo(sha, ext, int(info.frames), int(info.samplerate), keep, name)
    return PreparedAudio(blob, final, created, tuple(notes))


def _os_problem(name: str, folder: Path, exc: OSError) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"the folder {folder} cannot be written"
    else:
        why = str(exc.strerror or exc)
    return f"“{name}” was not imported: {why}"


def discard_prepared(prepared: PreparedAudio) -> None:
    """Undo `prepare_audio` when its blob will not be used after all."""
    if prepared.created:
        with contextlib.suppress(OSError):
            prepared.path.unlink()


# ----- placing ----------------------------------------------------------------------------


def region_length_ticks(tempo: TempoMap, start_tick: int, frames: int, sample_rate: int) -> int:
    """Ticks covered by `frames` of audio starting at `start_tick` (at least 1)."""
    start_s = tempo.seconds_at_tick(start_tick)
    end_tick = tempo.tick_at_seconds(start_s + frames / sample_rate)
    return max(1, math.ceil(end_tick - start_tick - 1e-6))


def place_audio(project: Project, prepared: PreparedAudio, *, tick: int = 0,
                track_id: str | None = None, track_name: str | None = None) -> ImportedAudio:
    """Register the blob and add its region at `tick` on `track_id`, or on a new audio
    track when `track_id` is None. One undo step. On failure the document is unchanged
    and a newly stored file is removed."""
    doc: Document = project.document
    blob = prepared.blob
    try:
        if doc.read_only:
            raise AudioImportError(f"“{blob.name}” was not imported: {doc.read_only_reason}")
        if track_id is not None:
            kind = doc.track(track_id).kind
            if kind != "audio":
                raise AudioImportError(
                    f"“{blob.name}” was not imported: audio goes on an audio track, and "
                    f"the chosen track is a {kind} track")
        length = region_length_ticks(doc.tempo_map(), tick, blob.frames, blob.sample_rate)
        with doc.transaction():
            doc.add_blob(blob)
            new_track = track_id is None
            if track_id is None:
                track_id = doc.add_track("audio", track_name or Path(blob.name).stem or "Audio")
            region = doc.add_audio_region(track_id, blob.sha256, tick, length,
                                          name=Path(blob.name).stem)
    except (DocumentError, AudioImportError) as exc:
        if blob.sha256 not in doc.blobs():  # another region may use the same bytes
            discard_prepared(prepared)
        if isinstance(exc, AudioImportError):
            raise
        raise AudioImportError(f"“{blob.name}” was not imported: {exc}") from exc
    project.offline_blobs.discard(blob.sha256)
    return ImportedAudio(blob, track_id, region, new_track, prepared.notes)


def import_audio_file(project: Project, source: Path, *, tick: int = 0,
                      track_id: str | None = None, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> ImportedAudio:
    """`prepare_audio` then `place_audio`, on the calling thread."""
    prepared = prepare_audio(source, project.audio_dir, progress=progress, cancel=cancel)
    return place_audio(project, prepared, tick=tick, track_id=track_id)
