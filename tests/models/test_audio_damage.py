"""models.audio_damage: a whole file passes, a cut one is named as cut, and libsndfile's
reasons are said in plain words (the desktop import and the analysis runtime both
rely on it; their own tests cover every format end to end)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.audio_damage import damage_of, describe_error

RATE = 22050


def _tone(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize(("fmt", "subtype", "ext"), [
    ("WAV", "PCM_16", "wav"), ("AIFF", "PCM_16", "aiff"), ("OGG", "VORBIS", "ogg"),
    ("MP3", "MPEG_LAYER_III", "mp3")])
def test_whole_files_pass_and_cut_ones_are_named(tmp_path: Path, fmt: str, subtype: str,
                                                 ext: str) -> None:
    whole = tmp_path / f"whole.{ext}"
    sf.write(whole, _tone(), RATE, format=fmt, subtype=subtype)
    assert damage_of(whole, sf.info(str(whole))) is None
    with sf.SoundFile(str(whole)) as handle:  # an open file answers the same
        assert damage_of(whole, handle) is None
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    problem = damage_of(cut, sf.info(str(cut)))
    assert problem is not None and problem.startswith("it")


def test_libsndfile_reasons_in_plain_words(tmp_path: Path) -> None:
    text = tmp_path / "lyrics.mp3"
    text.write_text("not audio\n" * 100)
    with pytest.raises(sf.LibsndfileError) as info:
        sf.info(str(text))
    said = describe_error(info.value)
    assert str(text) not in said and "does not exist" not in said, said
    assert describe_error(RuntimeError("Error : flac decoder lost sync.")) == (
        "flac decoder lost sync.")
    assert describe_error(ValueError()) == "ValueError"
