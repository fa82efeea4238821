"""An audio track's input choice: the take writer gets only the chosen channels of
the engine's input ring (a real ring and a real writer)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pytest
import soundfile as sf

from strumspace_desktop.audio.input_ring import InputReader, InputRing
from strumspace_desktop.record.audio_writer import AudioTakeWriter
from strumspace_desktop.record.input_choice import INPUT_CHOICES, ChannelPick, resolve


@pytest.mark.parametrize("choice", list(INPUT_CHOICES))
def test_a_take_holds_the_chosen_inputs(tmp_path: Path, choice: str) -> None:
    ring = InputRing.create(2, 48000, capacity=8192)
    try:
        channels, note = resolve(choice, ring.channels)
        assert note == ""
        pick = ChannelPick(ring.reader(), channels)
        writer = AudioTakeWriter(cast(InputReader, pick), tmp_path, start_clock=100)
        data = np.arange(4096 * 2, dtype=np.float32).reshape(4096, 2) / 1e5
        for i in range(0, 4096, 256):
            ring.write(data[i:i + 256], 256, i)
        writer.stop(at_clock=3000)
        take = writer.finish()
        assert take.error == "" and take.channels == len(channels) and take.frames == 2900
        audio, _rate = sf.read(take.path, dtype="float32", always_2d=True)
        assert np.array_equal(audio, data[100:3000][:, list(channels)])
    finally:
        ring.close()


def test_a_single_input_device_records_input_1_and_says_so() -> None:
    assert resolve("1", 1) == ((0,), "")
    for choice in ("2", "1+2"):
        channels, note = resolve(choice, 1)
        assert channels == (0,) and "records input 1" in note
    assert resolve("1+2", 2) == ((0, 1), "")
    with pytest.raises(ValueError, match="no input"):
        resolve("1", 0)


def test_a_pick_outside_the_ring_is_refused() -> None:
    ring = InputRing.create(1, 48000, capacity=1024)
    try:
        with pytest.raises(ValueError, match="not all among"):
            ChannelPick(ring.reader(), (1,))
    finally:
        ring.close()
