"""Tests for strumspace_desktop.core.settings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from strumspace_desktop.core import settings as settings_mod
from strumspace_desktop.core.settings import (
    AppSettings,
    AudioSettings,
    MidiSettings,
    TransportSettings,
    config_dir,
    default_settings_path,
)


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("STRUMSPACE_CONFIG_DIR", str(directory))
    return directory


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _bad_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("settings.json.bad-*"))


def test_env_var_overrides_the_config_dir(cfg: Path) -> None:
    assert config_dir() == cfg
    assert default_settings_path() == cfg / "settings.json"


def test_platform_default_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRUMSPACE_CONFIG_DIR", raising=False)
    assert config_dir().name == "StrumSpace"


def test_missing_file_gives_defaults_without_warning(cfg: Path) -> None:
    loaded, warning = AppSettings.load()
    assert loaded == AppSettings()
    assert warning is None
    assert not cfg.exists()  # loading does not create anything


def test_defaults() -> None:
    s = AppSettings()
    assert s.audio == AudioSettings(None, None, None, 48000, 256)
    assert s.midi == MidiSettings([], [])
    assert s.instrument.soundfont_path is None
    assert s.transport.tempo == 120.0
    assert (s.transport.numerator, s.transport.denominator) == (4, 4)


def test_save_load_round_trip(cfg: Path) -> None:
    original = AppSettings()
    original.audio = AudioSettings("JACK Audio Connection Kit", "system", "system", 44100, 128)
    original.midi = MidiSettings(
        ["Keystation 49"], [{"cc": 7, "channel": 0, "target": "master.volume"}]
    )
    original.instrument.soundfont_path = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    original.transport = TransportSettings(96.5, 6, 8, 2, False, 0.25)
    written = original.save()
    assert written == cfg / "settings.json"
    loaded, warning = AppSettings.load()
    assert warning is None
    assert loaded == original


def test_save_writes_json_with_a_version(cfg: Path) -> None:
    AppSettings().save()
    data = json.loads((cfg / "settings.json").read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["audio"]["blocksize"] == 256


def test_save_is_atomic_and_leaves_no_temp_files(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cfg / "settings.json"
    AppSettings().save()
    before = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    changed = AppSettings()
    changed.transport.tempo = 90.0
    monkeypatch.setattr(settings_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        changed.save()
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in cfg.iterdir()) == ["settings.json"]


def test_save_fsyncs_before_replacing(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("replace")
        assert Path(src).parent == Path(dst).parent  # same filesystem: rename is atomic
        real_replace(src, dst)

    monkeypatch.setattr(settings_mod.os, "fsync", fsync)
    monkeypatch.setattr(settings_mod.os, "replace", replace)
    AppSettings().save()
    assert events[:2] == ["fsync", "replace"]


def test_unserialisable_value_fails_before_touching_the_disk(cfg: Path) -> None:
    s = AppSettings()
    s.midi.learn_bindings = [{"bad": object()}]
    with pytest.raises(TypeError):
        s.save()
    assert not cfg.exists() or list(cfg.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b'{"audio": {"blocksize": 256', "is damaged"),
        (b"", "is damaged"),
        (b"\xff\xfe\x00garbage", "is not a text file"),
        (b"[1, 2, 3]", "does not contain settings"),
        (b"null", "does not contain settings"),
    ],
)
def test_corrupt_file_is_set_aside(cfg: Path, content: bytes, phrase: str) -> None:
    path = cfg / "settings.json"
    cfg.mkdir(parents=True)
    path.write_bytes(content)
    loaded, warning = AppSettings.load()
    assert loaded == AppSettings()
    assert warning is not None
    assert phrase in warning
    assert "default settings are in use" in warning
    assert not path.exists()
    (bad,) = _bad_files(cfg)
    assert bad.read_bytes() == content  # nothing lost
    assert str(bad) in warning
    # After saving, the next load is clean.
    loaded.save()
    assert AppSettings.load() == (AppSettings(), None)


def test_unreadable_path_is_set_aside(cfg: Path) -> None:
    (cfg / "settings.json").mkdir(parents=True)  # a folder where the file should be
    loaded, warning = AppSettings.load()
    assert loaded == AppSettings()
    assert warning is not None and "could not be read" in warning
    assert len(_bad_files(cfg)) == 1


def test_two_bad_files_in_the_same_second_both_kept(cfg: Path) -> None:
    path = cfg / "settings.json"
    cfg.mkdir(parents=True)
    for content in (b"{", b"}"):
        path.write_bytes(content)
        AppSettings.load()
    assert sorted(p.read_bytes() for p in _bad_files(cfg)) == [b"{", b"}"]


def test_bad_file_that_cannot_be_moved_still_loads(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cfg / "settings.json"
    cfg.mkdir(parents=True)
    path.write_bytes(b"{oops")

    def failing_replace(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(settings_mod.os, "replace", failing_replace)
    loaded, warning = AppSettings.load()
    assert loaded == AppSettings()
    assert warning is not None
    assert "could not be moved aside" in warning and "Permission denied" in warning


def test_unknown_keys_are_ignored(cfg: Path) -> None:
    _write(
        cfg / "settings.json",
        {
            "version": 7,
            "future_section": {"x": 1},
            "audio": {"sample_rate": 96000, "shiny_new_option": True},
        },
    )
    loaded, warning = AppSettings.load()
    assert warning is None
    assert loaded.audio.sample_rate == 96000


def test_partial_file_keeps_other_defaults(cfg: Path) -> None:
    _write(cfg / "settings.json", {"transport": {"tempo": 140}})
    loaded, warning = AppSettings.load()
    assert warning is None
    assert loaded.transport.tempo == 140.0
    assert loaded.transport.numerator == 4
    assert loaded.audio == AudioSettings()


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("audio", "blocksize", 4096, 1024),
        ("audio", "blocksize", 8, 64),
        ("audio", "blocksize", 300, 256),
        ("audio", "blocksize", 384, 256),  # halfway: the lower latency wins
        ("audio", "blocksize", 700, 512),
        ("audio", "blocksize", "big", 256),
        ("audio", "blocksize", True, 256),
        ("audio", "sample_rate", 12345, 48000),
        ("audio", "output_device", 3, None),
        ("transport", "tempo", 500, 300.0),
        ("transport", "tempo", 1, 20.0),
        ("transport", "tempo", "fast", 120.0),
        ("transport", "numerator", 0, 1),
        ("transport", "denominator", 6, 4),
        ("transport", "count_in_bars", 5, 2),
        ("transport", "count_in_bars", -1, 0),
        ("transport", "metronome_on", "yes", True),
        ("transport", "metronome_volume", 1.5, 1.0),
        ("transport", "metronome_volume", -0.5, 0.0),
        ("instrument", "soundfont_path", ["a"], None),
    ],
)
def test_out_of_range_values_are_fixed_with_a_warning(
    cfg: Path, section: str, key: str, value: Any, expected: Any
) -> None:
    path = cfg / "settings.json"
    _write(path, {section: {key: value}})
    loaded, warning = AppSettings.load()
    assert getattr(getattr(loaded, section), key) == expected
    assert warning is not None
    assert f"{section}.{key}" in warning
    assert path.exists()  # a readable file is not set aside
    assert _bad_files(cfg) == []


def test_integral_floats_are_accepted_silently(cfg: Path) -> None:
    _write(cfg / "settings.json", {"audio": {"sample_rate": 44100.0, "blocksize": 128.0}})
    loaded, warning = AppSettings.load()
    assert (loaded.audio.sample_rate, loaded.audio.blocksize) == (44100, 128)
    assert isinstance(loaded.audio.sample_rate, int)
    assert warning is None


def test_nan_in_json_is_replaced(cfg: Path) -> None:
    (cfg).mkdir(parents=True)
    (cfg / "settings.json").write_text('{"transport": {"tempo": NaN}}', encoding="utf-8")
    loaded, warning = AppSettings.load()
    assert loaded.transport.tempo == 120.0
    assert warning is not None and "transport.tempo" in warning


def test_wrong_section_type_gives_section_defaults(cfg: Path) -> None:
    _write(cfg / "settings.json", {"audio": 5, "transport": {"tempo": 99}})
    loaded, warning = AppSettings.load()
    assert loaded.audio == AudioSettings()
    assert loaded.transport.tempo == 99.0
    assert warning is not None and "audio" in warning


def test_midi_lists_are_filtered(cfg: Path) -> None:
    _write(
        cfg / "settings.json",
        {"midi": {"input_ports": ["A", 3, "", "B"], "learn_bindings": [{"cc": 1}, "x", 4]}},
    )
    loaded, warning = AppSettings.load()
    assert loaded.midi.input_ports == ["A", "B"]
    assert loaded.midi.learn_bindings == [{"cc": 1}]
    assert warning is not None
    assert "midi.input_ports" in warning and "dropped 2 entries" in warning


def test_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "s.json"
    s = AppSettings()
    s.audio.blocksize = 512
    assert s.save(path) == path
    assert AppSettings.load(path)[0].audio.blocksize == 512
