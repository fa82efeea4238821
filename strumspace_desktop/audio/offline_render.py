"""Offline rendering: the engine's own graph, run without a device, faster than real time.

`render_mixdown` writes the master bus to one file; `render_stems` writes one file
per mixer strip (post-fader, before the master bus) and one for the synth's shared
reverb and chorus return (when they are on), nothing else. Both play the
song through the same `EngineGraph.process` as the live engine, with the same
synth, strips and effects, so an export sounds like playback (the test suite checks
that a MIDI song renders sample for sample like a JACK capture of real-time play).
Not in an export: the metronome, the loop, live input and the monitoring volume
knob (the document's master volume is in).

Files are written under a temporary name in the target folder and renamed when
complete: a failure (disk full, no permission) or a cancel never leaves a
half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from strumspace_desktop.audio.graph import FX_RETURN, MAX_FRAMES, EngineGraph
from strumspace_desktop.audio.protocol import Cmd
from strumspace_desktop.audio.render_pipeline import RenderPipeline
from strumspace_desktop.audio.shared_block import SharedBlock
from strumspace_desktop.audio.song_data import MIDI_STRIPS, mix_state, song_update, strips_of
from strumspace_desktop.audio.song_loader import SongLoader
from strumspace_desktop.audio.synth import (
    FluidSynthInstrument,
    SoundFontError,
    SynthUnavailableError,
    find_default_soundfont,
)
from strumspace_desktop.core.document.compile import CompiledSong, compile_document
from strumspace_desktop.core.timing import PPQ

# Frames per graph call: the Python work per block is shared by more frames (on the
# benchmark song 4,096-frame blocks render about 1.3 times faster than 1,024).
BLOCK = MAX_FRAMES
FORMATS = {"wav": "WAV", "flac": "FLAC"}
SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")

Progress = Callable[[float], None]
FX_RETURN_NAME = "Synth reverb and chorus"


class RenderError(Exception):
    """A render that could not be done; the text is for musicians."""


class RenderCancelled(RenderError):
    """The cancel event was set; nothing was left behind."""


@dataclass(frozen=True)
class RenderOptions:
    sample_rate: int = 48000
    format: str = "wav"  # "wav" or "flac"
    subtype: str = "PCM_24"  # "PCM_16", "PCM_24" or "FLOAT" (WAV only)
    start_tick: int | None = None  # None: the song's start
    end_tick: int | None = None  # None: the end of the last note or region, plus the tail
    tail_seconds: float = 2.0  # reverb and release after the end
    soundfont: Path | None = None  # None: the application's default SoundFont
    synth_effects: bool = True  # FluidSynth's own reverb and chorus, as in playback

    def check(self) -> None:
        if self.format not in FORMATS:
            raise RenderError(f"Unknown file format {self.format!r}: choose wav or flac.")
        if self.subtype not in SUBTYPES:
            raise RenderError(f"Unknown sample format {self.subtype!r}: choose PCM_16, "
                              "PCM_24 or FLOAT.")
        if self.format == "flac" and self.subtype == "FLOAT":
            raise RenderError("FLAC cannot store 32-bit float samples: choose 16 or 24 bit, "
                              "or WAV.")
        if not 8000 <= self.sample_rate <= 384000:
            raise RenderError(f"A sample rate of {self.sample_rate} Hz is not supported.")
        if self.tail_seconds < 0 or not np.isfinite(self.tail_seconds):
            raise RenderError("The tail must be zero or more seconds.")
        if (self.start_tick is not None and self.end_tick is not None
                and self.end_tick <= self.start_tick):
            raise RenderError("The end of the range must come after its start.")


def _parts(project: Any) -> tuple[Any, Callable[[str], Path | None], set[str]]:
    """(document, audio_path, offline blobs) of a Project, or of a bare Document."""
    document = getattr(project, "document", project)
    audio_path = getattr(project, "audio_path", None)
    offline: set[str] = set()
    if audio_path is None:
        def audio_path(_blob: str) -> Path | None:
            return None
    else:
        with contextlib.suppress(OSError):
            offline = set(project.refresh_offline())
    return document, audio_path, offline


class _Renderer:
    """One graph playing the song from start to end, block by block."""

    def __init__(self, project: Any, options: RenderOptions, stems: bool,
                 workers: int | None = None) -> None:
        options.check()
        self.options = options
        rate = options.sample_rate
        self.document, audio_path, offline = _parts(project)
        # The SoundFont loads on a thread of its own while the song is compiled and its
        # audio files decoded (both release the GIL); the graph swaps it in at its
        # first block, as the engine swaps in a SoundFont loaded later.
        font = options.soundfont or find_default_soundfont()
        made: list[FluidSynthInstrument | BaseException] = []

        def load() -> None:
            try:
                made.append(FluidSynthInstrument(rate, font))
            except BaseException as exc:
                made.append(exc)

        loading = threading.Thread(target=load, name="render-soundfont", daemon=True)
        loading.start()
        self.block = SharedBlock.create()
        try:
            self.song: CompiledSong = compile_document(self.document, rate, offline)
            self.graph = EngineGraph(self.block, rate, None)
            self.graph.master_gain = 1.0
            self.graph.transport.metronome_on = False
            self.graph.transport.count_in_bars = 0
            loader = SongLoader(rate)
            loader.set_song(self.graph, song_update(self.song, audio_path))
            result = loader.set_mix(self.graph, mix_state(self.document, self.song))
        except BaseException:
            loading.join()
            if made and isinstance(made[0], FluidSynthInstrument):
                made[0].close()
            self.block.close()
            raise
        loading.join()
        instrument = made[0] if made else RuntimeError("the SoundFont did not load")
        if not isinstance(instrument, FluidSynthInstrument):
            self.block.close()
            if isinstance(instrument, (SoundFontError, SynthUnavailableError)):
                raise RenderError(str(instrument)) from instrument
            raise instrument
        self.graph.pending_instrument = instrument
        self.messages: list[str] = list(result["messages"])
        if stems:
            self.graph.stem_out = np.zeros_like(self.graph.strip_buf)
        # The next block's synth runs while worker threads run this one's effects.
        self.pipeline = RenderPipeline(self.graph, workers)
        tempo = self.document.tempo_map()
        sigs = self.document.time_signatures()
        first = sigs[0] if sigs else None
        num, den = (first.numerator, first.denominator) if first else (4, 4)
        start_tick = options.start_tick or 0
        self.start = tempo.sample_at_tick(start_tick, rate)
        if options.end_tick is not None:
            end = tempo.sample_at_tick(options.end_tick, rate)
        else:
            end = self.song.end_sample + round(options.tail_seconds * rate)
        self.total = max(0, end - self.start)
        cmds = self.block.commands
        cmds.push(Cmd.SYNTH_EFFECTS, float(options.synth_effects), float(options.synth_effects))
        cmds.push(Cmd.TEMPO, tempo.changes[0].bpm)
        cmds.push(Cmd.METER, num, den)
        cmds.push(Cmd.LOOP, 0.0, 0.0, 1.0)
        cmds.push(Cmd.LOCATE, start_tick / PPQ * den / 4.0)
        cmds.push(Cmd.PLAY)

    def blocks(self, cancel: threading.Event | None,
               progress: Progress | None) -> Any:
        sizes = [BLOCK] * (self.total // BLOCK) + ([self.total % BLOCK]
                                                   if self.total % BLOCK else [])
        done = 0
        for chunk, n in self.pipeline.blocks(sizes):
            if cancel is not None and cancel.is_set():
                raise RenderCancelled("The render was cancelled.")
            yield chunk, n
            done += n
            if progress is not None:
                progress(done / self.total)

    def close(self) -> None:
        self.pipeline.close()
        for inst in (self.graph.instrument, self.graph.pending_instrument):
            if inst is not None:
                inst.close()
        self.block.close()


def _temp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")


def _open(path: Path, options: RenderOptions) -> Any:
    import soundfile as sf

    try:
        return sf.SoundFile(str(path), "w", options.sample_rate, 2, options.subtype,
                            format=FORMATS[options.format])
    except (OSError, RuntimeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise RenderError(f"{path.parent} cannot be written to: {exc}") from exc


def _write_error(path: Path, exc: BaseException) -> RenderError:
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno == 28) or "space" in text.lower():
        return RenderError(f"The disk is full: {path.name} could not be written.")
    return RenderError(f"{path.name} could not be written: {text}")


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise RenderError(f"{path} is a folder; choose a file name.")
    if not path.parent.is_dir():
        raise RenderError(f"The folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise RenderError(f"StrumSpace may not write into {path.parent}.")


def render_mixdown(project: Any, path: Path, options: RenderOptions | None = None,
                   progress: Progress | None = None,
                   cancel: threading.Event | None = None) -> Path:
    """Render the song's master bus to `path` (WAV or FLAC). Raises RenderError with a
    message for the musician, RenderCancelled when `cancel` was set."""
    options = options or RenderOptions()
    path = Path(path)
    options.check()
    _check_target(path)
    renderer = _Renderer(project, options, stems=False)
    tmp = _temp_for(path)
    try:
        f = _open(tmp, options)
        try:
            for chunk, _n in renderer.blocks(cancel, progress):
                try:
                    f.write(chunk)
                except (OSError, RuntimeError) as exc:
                    raise _write_error(path, exc) from exc
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                f.close()
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _write_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        renderer.close()
    return path


def _stem_name(index: int, names: list[str], ext: str) -> str:
    label = " + ".join(names) or "Track"
    label = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", label).strip(" .") or "Track"
    return f"{index:02d} {label[:80]}.{ext}"


def render_stems(project: Any, directory: Path, options: RenderOptions | None = None,
                 progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> list[Path]:
    """One file per mixer strip with a track (post-fader, without the master bus),
    named "NN Track name.wav" in display order; returns their paths."""
    options = options or RenderOptions()
    directory = Path(directory)
    options.check()
    if not directory.is_dir():
        raise RenderError(f"The folder {directory} does not exist.")
    if not os.access(directory, os.W_OK):
        raise RenderError(f"StrumSpace may not write into {directory}.")
    renderer = _Renderer(project, options, stems=True)
    strips = strips_of(renderer.song)
    names: dict[int, list[str]] = {}
    for tid, strip in strips.items():
        track = renderer.document.track(tid)
        names.setdefault(strip, []).append(track.name or ("Audio" if strip >= MIDI_STRIPS
                                                          else "MIDI"))
    ordered = list(names)  # display order of each strip's first track
    if options.synth_effects and any(s < MIDI_STRIPS for s in ordered):
        # The synth's shared reverb and chorus: a return of its own, last.
        names[FX_RETURN] = [FX_RETURN_NAME]
        ordered.append(FX_RETURN)
    finals = [directory / _stem_name(i + 1, names[s], options.format)
              for i, s in enumerate(ordered)]
    temps = [_temp_for(p) for p in finals]
    files: list[Any] = []
    stem_out = renderer.graph.stem_out
    assert stem_out is not None
    try:
        for t in temps:
            files.append(_open(t, options))
        for _chunk, n in renderer.blocks(cancel, progress):
            for f, s, final in zip(files, ordered, finals, strict=True):
                try:
                    f.write(stem_out[s, :, :n].T)
                except (OSError, RuntimeError) as exc:
                    raise _write_error(final, exc) from exc
        for f in files:
            f.close()
        for t, final in zip(temps, finals, strict=True):
            try:
                os.replace(t, final)
            except OSError as exc:
                raise _write_error(final, exc) from exc
    except BaseException:
        for f in files:
            with contextlib.suppress(OSError, RuntimeError):
                f.close()
        for t in temps:
            with contextlib.suppress(OSError):
                t.unlink()
        raise
    finally:
        renderer.close()
    return finals
