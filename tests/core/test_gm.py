"""Tests for strumspace_desktop.core.gm."""

from __future__ import annotations

import pytest

from strumspace_desktop.core import gm


def test_there_are_128_distinct_programs_in_16_families_of_8() -> None:
    assert len(gm.PROGRAMS) == 128
    assert len(set(gm.PROGRAMS)) == 128
    assert len(gm.FAMILIES) == 16
    for f, name in enumerate(gm.FAMILIES):
        members = gm.programs_in_family(f)
        assert members == list(range(8 * f, 8 * f + 8))
        assert gm.programs_in_family(name) == members
        assert {gm.family_of(p) for p in members} == {name}


@pytest.mark.parametrize(("program", "name", "family"), [
    (0, "Acoustic Grand Piano", "Piano"),
    (24, "Acoustic Guitar (nylon)", "Guitar"),
    (33, "Electric Bass (finger)", "Bass"),
    (40, "Violin", "Strings"),
    (56, "Trumpet", "Brass"),
    (73, "Flute", "Pipe"),
    (81, "Lead 2 (sawtooth)", "Synth Lead"),
    (127, "Gunshot", "Sound Effects"),
])
def test_known_programs_match_the_gm_table(program: int, name: str, family: str) -> None:
    assert gm.program_name(program) == name
    assert gm.family_of(program) == family


@pytest.mark.parametrize("bad", [-1, 128, 1000])
def test_programs_outside_0_127_are_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.127"):
        gm.program_name(bad)
    with pytest.raises(ValueError):
        gm.Instrument.melodic(bad)


def test_drum_kits_are_the_gm2_bank_128_presets() -> None:
    assert [(k.preset, k.name) for k in gm.DRUM_KITS] == [
        (0, "Standard Kit"), (8, "Room Kit"), (16, "Power Kit"), (24, "Electronic Kit"),
        (25, "TR-808 Kit"), (32, "Jazz Kit"), (40, "Brush Kit"), (48, "Orchestra Kit")]
    assert gm.drum_kit(25).name == "TR-808 Kit"
    with pytest.raises(ValueError, match="not a GM drum kit"):
        gm.drum_kit(1)


def test_instrument_bank_name_and_family() -> None:
    piano = gm.Instrument.melodic(0)
    assert (piano.bank, piano.program, piano.name, piano.family) == (
        0, 0, "Acoustic Grand Piano", "Piano")
    jazz = gm.Instrument.kit(32)
    assert (jazz.bank, jazz.program, jazz.name, jazz.family) == (
        gm.DRUM_BANK, 32, "Jazz Kit", "Drum Kits")
    with pytest.raises(ValueError):
        gm.Instrument.kit(3)


def test_all_instruments_lists_programs_then_kits() -> None:
    choices = gm.all_instruments()
    assert len(choices) == 128 + 8
    assert [c.program for c in choices[:128]] == list(range(128))
    assert all(c.drums for c in choices[128:])
    assert gm.DRUM_CHANNEL == 9
