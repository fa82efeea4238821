"""Importing audio files: every format this libsndfile reads, checked completely before
anything is stored; bad files give a message naming them and change nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from strumspace_desktop.core.audio_import import (
    AudioImportCancelled,
    AudioImportError,
    import_audio_file,
    prepare_audio,
    region_length_ticks,
)
from strumspace_desktop.core.document import AudioRegion
from strumspace_desktop.core.document.project_files import (
    Project,
    new_project,
    open_project,
    save_project_as,
)
from strumspace_desktop.core.timing import PPQ, TempoMap

RATE = 48000


def tone(frames: int, channels: int, rate: int = RATE) -> np.ndarray:
    t = np.arange(frames) / rate
    cols = [0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


FORMATS = [  # (suffix, libsndfile format, subtype, stored as, lossless)
    ("wav", "WAV", "PCM_16", "flac", True),
    ("wav", "WAV", "PCM_24", "flac", True),
    ("wav", "WAV", "FLOAT", "wav", True),
    ("flac", "FLAC", "PCM_16", "flac", True),
    ("ogg", "OGG", "VORBIS", "wav", False),
    ("opus", "OGG", "OPUS", "wav", False),
    ("mp3", "MP3", "MPEG_LAYER_III", "wav", False),
    ("aiff", "AIFF", "PCM_24", "flac", True),
]


def write(path: Path, data: np.ndarray, fmt: str, subtype: str, rate: int = RATE) -> Path:
    sf.write(path, data, rate, format=fmt, subtype=subtype)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = new_project(tmp_path / "scratch-audio")
    p.document.set_tempo(0, 120.0)
    p.document.clear_undo_history()
    return p


@pytest.mark.parametrize(("suffix", "fmt", "subtype", "ext", "lossless"), FORMATS)
def test_each_format_becomes_a_region(tmp_path: Path, project: Project, suffix: str,
                                      fmt: str, subtype: str, ext: str, lossless: bool) -> None:
    data = tone(RATE * 2, 2)
    src = write(tmp_path / f"take.{suffix}", data, fmt, subtype)
    result = import_audio_file(project, src, tick=PPQ * 4)
    doc = project.document
    blob = doc.blobs()[result.blob.sha256]
    assert (blob.ext, blob.channels, blob.sample_rate, blob.name) == (ext, 2, RATE, src.name)
    assert blob.frames == sf.info(str(src)).frames
    track = doc.track(result.track_id)
    assert (track.kind, track.name) == ("audio", "take")
    [region] = doc.clips(result.track_id)
    assert isinstance(region, AudioRegion)
    assert (region.start, region.blob, region.offset) == (PPQ * 4, blob.sha256, 0)
    # Two seconds at 120 bpm: four beats.
    assert region.length == region_length_ticks(doc.tempo_map(), PPQ * 4, blob.frames, RATE)
    assert abs(region.length - 4 * PPQ * blob.frames / (2 * RATE)) <= 1
    stored, rate = sf.read(str(project.audio_path(blob.sha256)), dtype="float32")
    assert rate == RATE and stored.shape == (blob.frames, 2)
    if lossless:
        np.testing.assert_array_equal(stored, sf.read(str(src), dtype="float32")[0])
    else:  # lossy: stored exactly as it decodes
        np.testing.assert_array_equal(stored, sf.read(str(src), dtype="float32")[0])
    # One undo step removes the track, the region and the blob.
    assert doc.undo()
    assert doc.clips() == [] and doc.blobs() == {}


def test_flac_source_is_kept_byte_for_byte(tmp_path: Path, project: Project) -> None:
    src = write(tmp_path / "a.flac", tone(5000, 1), "FLAC", "PCM_24")
    result = import_audio_file(project, src)
    stored = project.audio_path(result.blob.sha256)
    assert stored is not None and stored.read_bytes() == src.read_bytes()


def test_mono_stays_mono_and_unusual_rates_are_kept(tmp_path: Path, project: Project) -> None:
    src = write(tmp_path / "low.wav", tone(22050, 1, 22050), "WAV", "PCM_16", rate=22050)
    result = import_audio_file(project, src)
    assert (result.blob.channels, result.blob.sample_rate, result.blob.frames) == (1, 22050,
                                                                                   22050)
    region = project.document.clip(result.region_id)
    assert abs(region.length - 2 * PPQ) <= 1  # one second at 120 bpm
    stored, rate = sf.read(str(project.audio_path(result.blob.sha256)), dtype="int16")
    assert rate == 22050
    np.testing.assert_array_equal(stored, sf.read(str(src), dtype="int16")[0])


def test_six_channels_keep_the_first_two(tmp_path: Path, project: Project) -> None:
    data = tone(4800, 6)
    src = write(tmp_path / "surround.wav", data, "WAV", "PCM_24")
    result = import_audio_file(project, src)
    assert result.blob.channels == 2
    assert any("6 channels" in n and "1 and 2" in n for n in result.notes)
    stored, _ = sf.read(str(project.audio_path(result.blob.sha256)), dtype="int32")
    source, _ = sf.read(str(src), dtype="int32")
    np.testing.assert_array_equal(stored, source[:, :2])


def test_onto_an_existing_track_and_the_same_file_twice(tmp_path: Path,
                                                        project: Project) -> None:
    doc = project.document
    track = doc.add_track("audio", "Vox")
    src = write(tmp_path / "v.wav", tone(4800, 2), "WAV", "PCM_16")
    a = import_audio_file(project, src, track_id=track, tick=0)
    b = import_audio_file(project, src, track_id=track, tick=PPQ * 8)
    assert not a.track_created and a.blob.sha256 == b.blob.sha256
    assert [c.start for c in doc.clips(track)] == [0, PPQ * 8]
    assert len(list(project.audio_dir.iterdir())) == 1  # stored once, by content
    midi = doc.add_track("midi", "Keys")
    with pytest.raises(AudioImportError, match="audio track"):
        import_audio_file(project, src, track_id=midi)


def test_length_follows_the_tempo_map() -> None:
    tempo = TempoMap.constant(60.0)
    assert region_length_ticks(tempo, 0, 48000, 48000) == PPQ
    from strumspace_desktop.core.timing import TempoChange

    changing = TempoMap([TempoChange(0, 60.0), TempoChange(PPQ, 120.0)])
    # One second at 60 bpm, then one second at 120 bpm: 1 + 2 beats.
    assert region_length_ticks(changing, 0, 96000, 48000) == 3 * PPQ


def test_survives_save_and_open(tmp_path: Path, project: Project) -> None:
    src = write(tmp_path / "s.ogg", tone(9600, 2), "OGG", "VORBIS")
    result = import_audio_file(project, src)
    save_project_as(project, tmp_path / "Song.strumspace")
    again = open_project(tmp_path / "Song.strumspace")
    assert again.offline_blobs == set()
    assert again.audio_path(result.blob.sha256) is not None


# ----- bad input -----------------------------------------------------------------------


def _bad_cases(tmp_path: Path) -> dict[str, Path]:
    data = tone(RATE * 2, 2)
    cases: dict[str, Path] = {}
    for suffix, fmt, subtype, _ext, _lossless in FORMATS:
        good = write(tmp_path / f"good-{subtype}.{suffix}", data, fmt, subtype)
        raw = good.read_bytes()
        for frac in (0.5, 0.98):
            cut = tmp_path / f"cut{int(frac * 100)}-{subtype}.{suffix}"
            cut.write_bytes(raw[: int(len(raw) * frac)])
            cases[cut.name] = cut
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("these are my lyrics, not audio\n" * 50)
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(write(tmp_path / "h.wav", tone(0, 2), "WAV", "PCM_16").read_bytes())
    flac = (tmp_path / "good-PCM_16.flac").read_bytes()
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(flac[:4000] + bytes(range(256)) * 16 + flac[4000 + 4096:])
    nan = tmp_path / "nan.wav"
    bad = tone(1000, 1)
    bad[500] = np.nan
    sf.write(nan, bad, RATE, subtype="FLOAT")
    cases.update({p.name: p for p in (empty, text, header_only, corrupt, nan)})
    cases["missing.wav"] = tmp_path / "missing.wav"
    return cases


def test_bad_files_are_refused_by_name_and_change_nothing(tmp_path: Path,
                                                          project: Project) -> None:
    doc = project.document
    before = doc.state()
    for name, path in _bad_cases(tmp_path).items():
        with pytest.raises(AudioImportError) as info:
            import_audio_file(project, path)
        message = str(info.value)
        assert name in message, message
        assert any(w in message for w in ("truncated", "damaged", "empty", "no audio",
                                          "not an audio file", "not found")), message
        assert doc.state() == before, name
        leftovers = list(project.audio_dir.iterdir()) if project.audio_dir.exists() else []
        assert leftovers == [], (name, leftovers)


def test_cancel_leaves_nothing(tmp_path: Path, project: Project) -> None:
    src = write(tmp_path / "long.wav", tone(RATE * 4, 2), "WAV", "FLOAT")
    cancel = threading.Event()
    seen: list[float] = []

    def progress(f: float) -> None:
        seen.append(f)
        cancel.set()  # cancel once the first block is through

    with pytest.raises(AudioImportCancelled):
        import_audio_file(project, src, progress=progress, cancel=cancel)
    assert seen and list(project.audio_dir.iterdir()) == []
    assert project.document.blobs() == {}


def test_progress_reaches_one_and_long_files_stream(tmp_path: Path) -> None:
    src = write(tmp_path / "long.wav", tone(RATE * 10, 2), "WAV", "PCM_16")
    seen: list[float] = []
    prepared = prepare_audio(src, tmp_path / "audio", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert len(seen) > 5  # decoded in blocks, not all at once
    assert prepared.created and prepared.path.is_file()


def test_read_only_project_refuses_and_removes_the_copy(tmp_path: Path) -> None:
    from strumspace_desktop.core.document import Document


    doc = Document.new()
    ro = Document(doc.ydoc, read_only_reason="opened read-only")
    project = Project(ro, None, tmp_path / "audio")
    src = write(tmp_path / "x.wav", tone(4800, 2), "WAV", "PCM_16")
    with pytest.raises(AudioImportError, match="read-only"):
        import_audio_file(project, src)
    assert list((tmp_path / "audio").iterdir()) == []
