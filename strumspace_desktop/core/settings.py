"""Application settings: dataclasses, JSON load/save, validation.

Qt-free so that the audio process and tests can read the same file. Loading
never raises for a bad file: a settings problem must not stop a musician from
opening the app. A file that cannot be parsed is renamed aside (so nothing is
lost and the next save does not overwrite the evidence) and defaults are used;
out-of-range values are clamped or reset individually. Either way the caller
gets a plain-words warning to show.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

APP_NAME = "StrumSpace"
CONFIG_DIR_ENV = "STRUMSPACE_CONFIG_DIR"
SETTINGS_FILENAME = "settings.json"
SCHEMA_VERSION = 1

SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
MIN_BLOCKSIZE = 64
MAX_BLOCKSIZE = 1024
MIN_TEMPO = 20.0
MAX_TEMPO = 300.0
MAX_NUMERATOR = 32
DENOMINATORS = (1, 2, 4, 8, 16, 32)
MAX_COUNT_IN_BARS = 2


def config_dir() -> Path:
    """The settings folder: $STRUMSPACE_CONFIG_DIR if set (tests), else the OS default."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    # appauthor=False: otherwise Windows gets ...\StrumSpace\StrumSpace.
    return Path(user_config_dir(APP_NAME, appauthor=False))


def default_settings_path() -> Path:
    return config_dir() / SETTINGS_FILENAME


@dataclass
class AudioSettings:
    host_api: str | None = None  # None: let the audio layer choose
    output_device: str | None = None
    input_device: str | None = None
    sample_rate: int = 48000
    blocksize: int = 256  # frames; a power of two in 64..1024


@dataclass
class MidiSettings:
    input_ports: list[str] = field(default_factory=list)  # empty: listen to all ports
    # MIDI-learn bindings as plain JSON objects; their shape belongs to the MIDI layer.
    learn_bindings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class InstrumentSettings:
    soundfont_path: str | None = None  # None: the system General MIDI font


@dataclass
class TransportSettings:
    tempo: float = 120.0
    numerator: int = 4
    denominator: int = 4
    count_in_bars: int = 1
    metronome_on: bool = True
    metronome_volume: float = 0.7  # 0.0 .. 1.0


@dataclass
class RecordingSettings:
    # How late recorded audio arrives (output to input round trip), measured by the
    # latency calibration (ui/latency_dialog.py); recorded audio is moved earlier by it.
    latency_ms: float = 0.0
    mode: str = "overdub"  # or "replace"
    loop_takes: bool = True
    input_quantize: int = 0  # note value (16 = sixteenths); 0: off


MAX_LATENCY_MS = 1000.0
CHORD_STYLES = ("simple", "standard", "jazz")  # C / Cmaj7 / C△7 (models.chords.formats)
CHORD_ACCIDENTALS = ("auto", "sharps", "flats")  # auto: as the song's key writes them
MAX_CAPO = 12


@dataclass
class ChordSettings:
    """How chord names are shown (live chord display and the chord lane)."""

    style: str = "standard"
    accidentals: str = "auto"
    capo: int = 0  # a guitarist's capo fret: the names become the shapes to play


class _Notes:
    """Collects what was fixed while reading, for the warning."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, value: object, used: object) -> None:
        self.items.append(f"{key} ({_short(value)} -> {_short(used)})")


def _short(value: object) -> str:
    text = json.dumps(value) if _is_json(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_json(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


_MISSING = object()


def _read_optional_str(data: dict[str, Any], key: str, where: str, notes: _Notes) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value or None  # an empty name means "not chosen"
    notes.add(f"{where}.{key}", value, None)
    return None


def _read_int(
    data: dict[str, Any],
    key: str,
    default: int,
    fix: Callable[[int], int],
    where: str,
    notes: _Notes,
) -> int:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        return default
    # bool is an int subclass; true is not a block size.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        notes.add(f"{where}.{key}", value, default)
        return default
    used = fix(round(value))
    if used != value:
        notes.add(f"{where}.{key}", value, used)
    return used


def _read_float(
    data: dict[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    where: str,
    notes: _Notes,
) -> float:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        notes.add(f"{where}.{key}", value, default)
        return default
    used = min(max(float(value), low), high)
    if used != value:
        notes.add(f"{where}.{key}", value, used)
    return used


def _read_bool(data: dict[str, Any], key: str, default: bool, where: str, notes: _Notes) -> bool:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        return default
    if isinstance(value, bool):
        return value
    notes.add(f"{where}.{key}", value, default)
    return default


def _clamp(low: int, high: int) -> Callable[[int], int]:
    return lambda v: min(max(v, low), high)


def _nearest_power_of_two_blocksize(value: int) -> int:
    clamped = min(max(value, MIN_BLOCKSIZE), MAX_BLOCKSIZE)
    lower = 1 << (clamped.bit_length() - 1)
    upper = lower if lower == clamped else lower * 2
    # Ties go to the smaller block (lower latency).
    return lower if clamped - lower <= upper - clamped else upper


def _one_of(allowed: tuple[int, ...], default: int) -> Callable[[int], int]:
    return lambda v: v if v in allowed else default


def _audio_from(data: dict[str, Any], notes: _Notes) -> AudioSettings:
    d = AudioSettings()
    return AudioSettings(
        host_api=_read_optional_str(data, "host_api", "audio", notes),
        output_device=_read_optional_str(data, "output_device", "audio", notes),
        input_device=_read_optional_str(data, "input_device", "audio", notes),
        sample_rate=_read_int(
            data, "sample_rate", d.sample_rate, _one_of(SAMPLE_RATES, d.sample_rate), "audio", notes
        ),
        blocksize=_read_int(
            data, "blocksize", d.blocksize, _nearest_power_of_two_blocksize, "audio", notes
        ),
    )


def _midi_from(data: dict[str, Any], notes: _Notes) -> MidiSettings:
    ports = data.get("input_ports", [])
    if not isinstance(ports, list):
        notes.add("midi.input_ports", ports, [])
        ports = []
    good_ports = [p for p in ports if isinstance(p, str) and p]
    if len(good_ports) != len(ports):
        notes.add("midi.input_ports", ports, good_ports)
    bindings = data.get("learn_bindings", [])
    if not isinstance(bindings, list):
        notes.add("midi.learn_bindings", bindings, [])
        bindings = []
    good_bindings = [b for b in bindings if isinstance(b, dict)]
    if len(good_bindings) != len(bindings):
        dropped = len(bindings) - len(good_bindings)
        notes.items.append(f"midi.learn_bindings (dropped {dropped} entries that were not objects)")
    return MidiSettings(input_ports=good_ports, learn_bindings=good_bindings)


def _instrument_from(data: dict[str, Any], notes: _Notes) -> InstrumentSettings:
    return InstrumentSettings(
        soundfont_path=_read_optional_str(data, "soundfont_path", "instrument", notes)
    )


def _transport_from(data: dict[str, Any], notes: _Notes) -> TransportSettings:
    d = TransportSettings()
    w = "transport"
    return TransportSettings(
        tempo=_read_float(data, "tempo", d.tempo, MIN_TEMPO, MAX_TEMPO, w, notes),
        numerator=_read_int(data, "numerator", d.numerator, _clamp(1, MAX_NUMERATOR), w, notes),
        denominator=_read_int(
            data, "denominator", d.denominator, _one_of(DENOMINATORS, d.denominator), w, notes
        ),
        count_in_bars=_read_int(
            data, "count_in_bars", d.count_in_bars, _clamp(0, MAX_COUNT_IN_BARS), w, notes
        ),
        metronome_on=_read_bool(data, "metronome_on", d.metronome_on, w, notes),
        metronome_volume=_read_float(
            data, "metronome_volume", d.metronome_volume, 0.0, 1.0, w, notes
        ),
    )


def _recording_from(data: dict[str, Any], notes: _Notes) -> RecordingSettings:
    d = RecordingSettings()
    w = "recording"
    mode = data.get("mode", d.mode)
    if mode not in ("overdub", "replace"):
        notes.add(f"{w}.mode", mode, d.mode)
        mode = d.mode
    return RecordingSettings(
        latency_ms=_read_float(data, "latency_ms", d.latency_ms, 0.0, MAX_LATENCY_MS, w, notes),
        mode=mode,
        loop_takes=_read_bool(data, "loop_takes", d.loop_takes, w, notes),
        input_quantize=_read_int(data, "input_quantize", d.input_quantize,
                                 _one_of((0, 1, 2, 4, 8, 16, 32, 64), 0), w, notes),
    )


def _chords_from(data: dict[str, Any], notes: _Notes) -> ChordSettings:
    d = ChordSettings()
    w = "chords"
    values = {}
    for key, allowed in (("style", CHORD_STYLES), ("accidentals", CHORD_ACCIDENTALS)):
        value = data.get(key, getattr(d, key))
        if value not in allowed:
            notes.add(f"{w}.{key}", value, getattr(d, key))
            value = getattr(d, key)
        values[key] = value
    return ChordSettings(
        style=values["style"], accidentals=values["accidentals"],
        capo=_read_int(data, "capo", d.capo, _clamp(0, MAX_CAPO), w, notes))


_SECTIONS: dict[str, Callable[[dict[str, Any], _Notes], Any]] = {
    "audio": _audio_from,
    "midi": _midi_from,
    "instrument": _instrument_from,
    "transport": _transport_from,
    "recording": _recording_from,
    "chords": _chords_from,
}


@dataclass
class AppSettings:
    audio: AudioSettings = field(default_factory=AudioSettings)
    midi: MidiSettings = field(default_factory=MidiSettings)
    instrument: InstrumentSettings = field(default_factory=InstrumentSettings)
    transport: TransportSettings = field(default_factory=TransportSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    chords: ChordSettings = field(default_factory=ChordSettings)

    def to_dict(self) -> dict[str, Any]:
        return {"version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> tuple[AppSettings, list[str]]:
        """Build settings from parsed JSON; returns them and the list of fixed values.

        Unknown keys are ignored (a newer version may have written them).
        """
        notes = _Notes()
        sections: dict[str, Any] = {}
        for name, read in _SECTIONS.items():
            section = data.get(name, {})
            if not isinstance(section, dict):
                notes.add(name, section, "defaults")
                section = {}
            sections[name] = read(section, notes)
        return cls(**sections), notes.items

    @classmethod
    def load(cls, path: Path | None = None) -> tuple[AppSettings, str | None]:
        """Read settings; never raises for a missing, unreadable or corrupt file."""
        path = default_settings_path() if path is None else Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(), None  # first run
        except OSError as exc:
            return cls(), _set_aside(path, f"could not be read ({exc.strerror or exc})")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return cls(), _set_aside(path, "is not a text file")
        except json.JSONDecodeError as exc:
            return cls(), _set_aside(path, f"is damaged (line {exc.lineno}: {exc.msg})")
        if not isinstance(data, dict):
            return cls(), _set_aside(path, "does not contain settings")
        settings, fixed = cls.from_dict(data)
        if not fixed:
            return settings, None
        return settings, (
            f"Some settings in {path} were invalid and have been replaced: "
            + "; ".join(fixed)
            + "."
        )

    def save(self, path: Path | None = None) -> Path:
        """Write atomically: a crash mid-save leaves the old file, never half a file."""
        path = default_settings_path() if path is None else Path(path)
        # Serialise first, so an unserialisable value cannot leave a temp file behind.
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)
        return path


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open directories.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _set_aside(path: Path, problem: str) -> str:
    """Rename a bad settings file out of the way; return the warning to show."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except OSError as exc:
        return (
            f"The settings file {path} {problem}, so default settings are in use. "
            f"It could not be moved aside ({exc.strerror or exc}); "
            "saving settings will overwrite it."
        )
    return (
        f"The settings file {path} {problem}, so default settings are in use. "
        f"The old file was kept as {target}."
    )
