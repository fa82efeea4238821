"""Audio device discovery with sounddevice (PortAudio), without Qt."""

from __future__ import annotations

import ctypes
import os
from dataclasses import asdict, dataclass
from typing import Any

# Never let libjack start a server with guessed settings behind the user's back.
os.environ.setdefault("JACK_NO_START_SERVER", "1")

import sounddevice as sd

# Preferred host APIs, best first: JACK when a server runs, then the desktop's sound
# server, then the native APIs. ALSA's "jack" plug device is never chosen over JACK.
_HOST_API_PREFERENCE = ("JACK Audio Connection Kit", "PulseAudio", "Core Audio",
                        "Windows WASAPI", "ASIO", "ALSA", "MME")


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    default_low_output_latency: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


JACK_CLIENT_NAME = b"StrumSpace-audio"


def reinitialize() -> None:
    """Make PortAudio scan again (a JACK server or a USB interface may have come or
    gone). Only valid while no stream is open."""
    sd._terminate()
    _name_jack_client()
    sd._initialize()


def _name_jack_client() -> None:
    # Our JACK ports read "StrumSpace-audio:out_0" rather than "PortAudio:out_0"; the
    # name must be set before PortAudio initializes. Absent outside Linux builds.
    try:
        lib = ctypes.CDLL(sd._libname)
        lib.PaJack_SetClientName(ctypes.c_char_p(JACK_CLIENT_NAME))
    except (OSError, AttributeError):
        pass


def list_devices() -> list[AudioDevice]:
    devices = []
    for d in sd.query_devices():
        api = sd.query_hostapis(d["hostapi"])["name"]
        devices.append(AudioDevice(d["index"], d["name"], api, d["max_input_channels"],
                                   d["max_output_channels"], d["default_samplerate"],
                                   d["default_low_output_latency"]))
    return devices


def host_api_names() -> list[str]:
    return [str(h["name"]) for h in sd.query_hostapis() if h["devices"]]


def choose_output(host_api: str | None, device: str | None) -> AudioDevice | None:
    """The device the settings name, else the preferred host API's default output."""
    devices = [d for d in list_devices() if d.max_output_channels >= 1]
    if not devices:
        return None
    if device:
        for d in devices:
            if d.name == device and (host_api is None or d.host_api == host_api):
                return d
    apis = ([host_api] if host_api else []) + list(_HOST_API_PREFERENCE)
    host_apis = sd.query_hostapis()
    for api in apis:
        for h in host_apis:
            if h["name"] != api:
                continue
            default = [d for d in devices if d.index == h["default_output_device"]]
            on_api = [d for d in devices if d.host_api == api]
            if default or on_api:
                return (default or on_api)[0]
    return devices[0]


def choose_input(output: AudioDevice, device: str | None) -> AudioDevice | None:
    """An input on the same host API as the output (PortAudio cannot mix host APIs in
    one duplex stream): the named one, the output device itself, or the API's default."""
    same_api = [d for d in list_devices()
                if d.host_api == output.host_api and d.max_input_channels > 0]
    if device:
        for d in same_api:
            if d.name == device:
                return d
    for d in same_api:
        if d.index == output.index:
            return d
    return same_api[0] if same_api else None
