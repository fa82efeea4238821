"""Writes the audio input to disk while recording, away from the audio callback.

A plain thread in the UI process reads the shared input ring (its own reader
position) and appends float32 frames to a WAV file in the project's audio folder.
The WAV header is written first with room for the sizes and patched at the end, in
place, so that finishing a take needs no more disk space: a disk that fills up (or a
file-size limit) keeps every whole frame written before, ends the take cleanly and
says so. The finished file is renamed to its SHA-256, as imported audio is
(`core/document/project_files.py`), and registered as a blob.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import struct
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from strumspace_desktop.audio.input_ring import InputReader
from strumspace_desktop.core.document.model import BlobInfo

HEADER = 44
POLL_S = 0.02
STALL_S = 2.0


def wav_header(channels: int, sample_rate: int, frames: int) -> bytes:
    """A 44-byte WAVE header for IEEE float32 (format 3)."""
    data = frames * channels * 4
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 3, channels, sample_rate,
                                    sample_rate * channels * 4, channels * 4, 32)
            + b"data" + struct.pack("<I", data))


@dataclass
class TakeFile:
    path: Path  # the finished file (named by its SHA-256), or the partial one
    frames: int
    file_clock: int  # engine clock of the file's first frame
    sample_rate: int
    channels: int
    error: str = ""  # why it stopped early, for the musician ("" when it did not)


class AudioTakeWriter:
    """Records the input from the engine clock `start_clock` until `stop(clock)`."""

    def __init__(self, reader: InputReader, folder: Path, start_clock: int | None = None,
                 max_bytes: int | None = None) -> None:
        self.reader = reader
        self.folder = Path(folder)
        self.channels = reader.ring.channels
        self.sample_rate = reader.ring.sample_rate
        self.file_clock = reader.clock if start_clock is None else start_clock
        self.max_bytes = max_bytes  # a soft cap, for tests and for 4 GiB WAV files
        self.frames = 0
        self.lost = 0
        self.error = ""
        self._stop_clock: int | None = None
        self._stop = threading.Event()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tmp = self.folder / f".rec-{os.getpid()}-{uuid.uuid4().hex[:8]}.wav"
        self._fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._write_all(wav_header(self.channels, self.sample_rate, 0))
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, at_clock: int | None = None) -> None:
        """Stop at engine clock `at_clock` (what came before it is written first, and
        what was already written from it on is cut off), or at once (a vanished
        device: keep what was captured)."""
        self._stop_clock = at_clock
        self._stop.set()

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _append(self, frames: np.ndarray) -> None:
        data = np.ascontiguousarray(frames, np.float32).tobytes()
        if self.max_bytes is not None and HEADER + (self.frames + len(frames)) \
                * self.channels * 4 > self.max_bytes:
            raise OSError(errno.EFBIG, "File too large")
        try:
            self._write_all(data)
        except OSError:
            # Cut any partial frame off, so the file holds whole frames only.
            with contextlib.suppress(OSError):
                size = os.fstat(self._fd).st_size
                whole = (size - HEADER) // (self.channels * 4)
                os.ftruncate(self._fd, HEADER + whole * self.channels * 4)
                self.frames = whole
            raise
        self.frames += len(frames)

    def _cut_to(self, frames: int) -> None:
        if self.frames > frames:
            os.ftruncate(self._fd, HEADER + frames * self.channels * 4)
            os.lseek(self._fd, 0, os.SEEK_END)
            self.frames = frames

    def _run(self) -> None:
        reader = self.reader
        idle = 0
        # Frames before the take's first clock are not part of it.
        try:
            while True:
                stopping = self._stop.is_set()
                chunk = reader.read()
                self.lost += chunk.lost
                frames = chunk.frames
                if chunk.clock < self.file_clock:
                    frames = frames[min(len(frames), self.file_clock - chunk.clock):]
                elif self.frames == 0 and chunk.clock > self.file_clock and len(frames):
                    self.file_clock = chunk.clock  # the input began later
                if stopping and self._stop_clock is not None:
                    keep = self._stop_clock - max(chunk.clock, self.file_clock)
                    frames = frames[:max(0, keep)]
                if len(frames):
                    self._append(frames)
                if len(chunk.frames):
                    idle = 0
                if stopping and self._stop_clock is not None:
                    # The UI asks to stop after the engine's clock has passed the stop
                    # point, so frames beyond it may already be on disk.
                    self._cut_to(max(0, self._stop_clock - self.file_clock))
                if stopping:
                    if self._stop_clock is None:
                        if not reader.available():
                            return
                    elif self.file_clock + self.frames >= self._stop_clock:
                        return
                    elif idle * POLL_S > STALL_S:
                        return  # the input stopped coming (its engine went away)
                if not reader.available():
                    idle += 1
                    self._stop.wait(POLL_S)
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
            seconds = self.frames / self.sample_rate
            self.error = (
                f"The disk is full: recording stopped after {seconds:.1f} s. What was "
                "recorded until then is kept." if full else
                f"Recording stopped: the audio file could not be written ({exc.strerror}). "
                f"The first {seconds:.1f} s are kept.")

    def finish(self, audio_dir: Path | None = None) -> TakeFile:
        """Wait for the writer, complete the header, name the file by its SHA-256 (in
        `audio_dir`, by default the folder it was written in)."""
        self._stop.set()
        self._thread.join()
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._write_all(wav_header(self.channels, self.sample_rate, self.frames))
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
        sha = hashlib.sha256()
        with open(self.tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
        final = Path(audio_dir or self.folder) / f"{sha.hexdigest()}.wav"
        if final.exists():
            self.tmp.unlink()
        else:
            os.replace(self.tmp, final)
        return TakeFile(final, self.frames, self.file_clock, self.sample_rate,
                        self.channels, self.error)


def blob_of(take: TakeFile, name: str = "") -> BlobInfo:
    return BlobInfo(take.path.stem, "wav", take.frames, take.sample_rate, take.channels, name)
