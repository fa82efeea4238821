"""Offline rendering with TiMidity++ over the FreePats patch set: a timbre family of its
own for training (GUS patches, TiMidity's own envelopes and interpolation), beside the
SoundFonts FluidSynth plays.

A clip is written as a Standard MIDI File (``performance.to_midi``: program changes,
a one-semitone bend range and a static bend for detune, then the notes at exact times)
and rendered by the ``timidity`` program to a 16-bit stereo WAV, with TiMidity's reverb
and chorus off (``augment.py`` adds ours). The result is cut or padded to the
performance's duration, so labels and audio line up as with ``synth_offline``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from models.chords.performance import Performance, to_midi
from models.chords.synth_offline import DEFAULT_RATE, SoundFontLoadError, run_renderer

RENDER_TIMEOUT_S = 120.0


class TimiditySynth:
    """Renders performances with ``timidity -c CONFIG``; the same interface as
    ``OfflineSynth`` (``render``, ``close``). Each clip is a fresh TiMidity process,
    so a clip renders the same every time."""

    def __init__(self, config: Path, sample_rate: int = DEFAULT_RATE) -> None:
        exe = shutil.which("timidity")
        if exe is None:
            raise SoundFontLoadError("TiMidity++ is not installed (Debian: timidity)")
        if not Path(config).is_file():
            raise SoundFontLoadError(f"TiMidity configuration {config} is not installed "
                                     "(Debian: freepats)")
        self.exe = exe
        self.config = Path(config)
        self.sample_rate = sample_rate
        self._tmp: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(
            prefix="strumspace-timidity-")

    def render(self, perf: Performance, programs: dict[int, int], detune_cents: float = 0.0
               ) -> np.ndarray:
        """Stereo float32 audio, shape (frames, 2), of the whole performance."""

        if self._tmp is None:
            raise SoundFontLoadError("this TiMidity renderer is closed")
        tmp = Path(self._tmp.name)
        mid, wav = tmp / "clip.mid", tmp / "clip.wav"
        to_midi(perf, mid, programs, detune_cents)
        cmd = [self.exe, "-c", str(self.config), "-Ow", "--output-stereo",
               "--output-16bit", "-s", str(self.sample_rate), "-EFreverb=d",
               "-EFchorus=d", "--preserve-silence", "-idq", "-o", str(wav), str(mid)]
        try:
            audio = run_renderer(cmd, wav, "TiMidity", self.sample_rate, RENDER_TIMEOUT_S)
        finally:
            wav.unlink(missing_ok=True)
        total = round(perf.duration * self.sample_rate)
        out = np.zeros((total, 2), dtype=np.float32)
        n = min(total, audio.shape[0])
        out[:n] = audio[:n, :2] if audio.shape[1] >= 2 else audio[:n, :1]
        return out

    def close(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
            self._tmp = None

    def __del__(self) -> None:
        self.close()
