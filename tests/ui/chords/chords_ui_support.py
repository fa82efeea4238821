"""Helpers of the chord UI tests: live chord events as the worker sends them, and a
rendered progression written to a WAV file (tests/analysis's FluidSynth render)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from strumspace_desktop.analysis.live_events import LiveChord
from strumspace_desktop.ui.chords import ChordTools
from strumspace_desktop.ui.main_window import MainWindow

ANALYSIS_TESTS = Path(__file__).resolve().parents[2] / "analysis"
if str(ANALYSIS_TESTS) not in sys.path:
    sys.path.insert(0, str(ANALYSIS_TESTS))

from analysis_support import JackPlayer, render_clip, with_hum, write_wav  # noqa: E402

__all__ = ["JackPlayer", "live", "rendered_song", "tools_of"]

WAIT_MS = 180_000  # model loading in a fresh process on a slow, shared machine
RATE = 48000


def live(label: str, seconds: float, confidence: float = 0.9, changed: bool = True) -> LiveChord:
    return LiveChord(label, confidence, round(seconds * RATE), seconds, changed=changed)


def tools_of(window: MainWindow) -> ChordTools:
    return window.chord_tools


def rendered_song(folder: Path, repeats: int = 1, rate: int = 22050,
                  beats_per_bar: int = 4, cents: float = 0.0,
                  hum_db: float | None = None) -> tuple[Path, float]:
    """A strummed progression (FluidR3 GM) as a WAV file, and its length in seconds;
    ``cents`` plays it sharp (and faster) by declaring a higher sample rate;
    ``hum_db`` adds steady 50 Hz mains hum (harmonics to 1 kHz) peaking there."""
    audio, _ = render_clip(rate, repeats=repeats, beats_per_bar=beats_per_bar)
    declared = round(rate * 2 ** (cents / 1200))
    if hum_db is not None:
        audio = with_hum(audio, declared, hum_db)
    path = write_wav(folder / "song.wav", np.asarray(audio), declared)
    return path, len(audio) / declared
