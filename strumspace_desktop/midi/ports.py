"""MIDI port discovery through python-rtmidi, without Qt.

Port names carry client numbers on ALSA ("Keystation 88:Keystation 88 MIDI 1 20:0")
that change when a device is replugged, so ports are matched by their stable name.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import rtmidi

OWN_CLIENT_PREFIX = "StrumSpace"
_ALSA_SUFFIX = re.compile(r"\s+\d+:\d+$")


@dataclass(frozen=True)
class MidiPort:
    index: int  # rtmidi's index at the time of listing
    name: str  # as rtmidi reports it
    stable_name: str  # without volatile client:port numbers


def stable_name(name: str) -> str:
    return _ALSA_SUFFIX.sub("", name).strip()


def preferred_api(audio_host_api: str | None = None) -> int:
    """JACK MIDI beside a JACK audio stream (same clock, same server), else the
    platform's native API."""
    compiled = rtmidi.get_compiled_api()
    if audio_host_api and "JACK" in audio_host_api and rtmidi.API_UNIX_JACK in compiled:
        return int(rtmidi.API_UNIX_JACK)
    for api in (rtmidi.API_LINUX_ALSA, rtmidi.API_MACOSX_CORE, rtmidi.API_WINDOWS_MM,
                rtmidi.API_UNIX_JACK):
        if api in compiled:
            return int(api)
    return int(rtmidi.API_UNSPECIFIED)


def api_name(api: int) -> str:
    return str(rtmidi.get_api_display_name(api))


def supports_virtual_ports(api: int) -> bool:
    return api in (rtmidi.API_UNIX_JACK, rtmidi.API_LINUX_ALSA, rtmidi.API_MACOSX_CORE) \
        and sys.platform != "win32"


def list_input_ports(probe: rtmidi.MidiIn) -> list[MidiPort]:
    """Every input port other than StrumSpace's own."""
    ports = []
    for i, name in enumerate(probe.get_ports()):
        if name.startswith(OWN_CLIENT_PREFIX):
            continue
        ports.append(MidiPort(i, name, stable_name(name)))
    return ports


def is_jack(api: int) -> bool:
    return api == int(rtmidi.API_UNIX_JACK)
