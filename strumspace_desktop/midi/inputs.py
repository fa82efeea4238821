"""The engine process's MIDI inputs: open the chosen ports, follow hot-plugging.

The audio callback polls each open rtmidi input (`get_message`), so MIDI needs no
Python thread of its own: rtmidi's native thread queues the messages without the
GIL, and the callback drains them at the start of each block.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import rtmidi

from strumspace_desktop.midi.ports import (
    OWN_CLIENT_PREFIX,
    MidiPort,
    list_input_ports,
    supports_virtual_ports,
)

QUEUE_SIZE = 4096  # messages rtmidi keeps between two polls


class MidiInputs:
    """Owns rtmidi inputs; publishes the tuple the callback polls.

    `wanted` is a set of stable port names, or None for "every port". Closing a
    port waits until the callback has moved past it (two blocks) before freeing it.
    """

    def __init__(self, api: int, publish: Callable[[tuple[rtmidi.MidiIn, ...]], None],
                 blocks_done: Callable[[], int], client_name: str = OWN_CLIENT_PREFIX) -> None:
        self.api = api
        self._publish = publish
        self._blocks_done = blocks_done
        self._client = client_name
        self._probe = rtmidi.MidiIn(rtapi=api, name=f"{client_name}-probe",
                                    queue_size_limit=16)
        self._open: dict[str, rtmidi.MidiIn] = {}
        self._virtual: rtmidi.MidiIn | None = None
        self.wanted: set[str] | None = None
        self.ports: list[MidiPort] = []
        if supports_virtual_ports(api):
            vin = rtmidi.MidiIn(rtapi=api, name=client_name, queue_size_limit=QUEUE_SIZE)
            vin.open_virtual_port("midi_in")
            self._virtual = vin

    @property
    def virtual_port_name(self) -> str | None:
        return f"{self._client}:midi_in" if self._virtual is not None else None

    def open_names(self) -> list[str]:
        return sorted(self._open)

    def set_wanted(self, names: Iterable[str] | None) -> None:
        self.wanted = None if names is None else set(names)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Re-list ports, open wanted ones that appeared, close ones that vanished.
        Returns True when the list of ports changed."""
        try:
            ports = list_input_ports(self._probe)
        except rtmidi.SystemError:
            ports = []
        changed = [p.stable_name for p in ports] != [p.stable_name for p in self.ports]
        self.ports = ports
        if not (changed or force):
            return False
        present = {p.stable_name: p for p in ports}
        target = set(present) if self.wanted is None else self.wanted & set(present)
        removed = [n for n in self._open if n not in target]
        added = [n for n in sorted(target) if n not in self._open]
        if not removed and not added:
            if force:
                self._publish_inputs()  # the virtual port, on the first call
            return changed
        retired = [self._open.pop(n) for n in removed]
        for name in added:
            try:
                mi = rtmidi.MidiIn(rtapi=self.api, name=f"{self._client}-in",
                                   queue_size_limit=QUEUE_SIZE)
                mi.open_port(present[name].index, name=_port_label(name))
            except (rtmidi.SystemError, rtmidi.InvalidPortError, ValueError):
                continue  # vanished between listing and opening: the next refresh retries
            self._open[name] = mi
        self._publish_inputs()
        self._close_after_callback(retired)
        return True

    def _publish_inputs(self) -> None:
        inputs = tuple(self._open.values())
        if self._virtual is not None:
            inputs = (self._virtual, *inputs)
        self._publish(inputs)

    def _close_after_callback(self, retired: list[rtmidi.MidiIn]) -> None:
        if not retired:
            return
        start = self._blocks_done()
        deadline = time.monotonic() + 0.5
        while self._blocks_done() < start + 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        for mi in retired:
            mi.close_port()
            mi.delete()

    def close(self) -> None:
        self._publish(())
        self._close_after_callback([*self._open.values(),
                                    *([self._virtual] if self._virtual else [])])
        self._open.clear()
        self._virtual = None
        self._probe.delete()


def _port_label(name: str) -> str:
    # JACK port names allow few characters; keep it short and readable.
    label = "".join(ch if ch.isalnum() else "_" for ch in name)[:40]
    return f"in_{label}"
