"""General MIDI: the 128 program names, their 16 families, and the GM drum kits.

Qt-free and audio-free: the track list, the UI's instrument picker and the
document all name instruments the same way. Program numbers are 0-based, as the
synth takes them (the GM table's "1 Acoustic Grand Piano" is program 0 here).
"""

from __future__ import annotations

from dataclasses import dataclass

DRUM_CHANNEL = 9  # MIDI channel 10, as musicians count
DRUM_BANK = 128  # where SoundFonts keep their percussion kits

PROGRAMS: tuple[str, ...] = (
    # Piano
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano",
    "Honky-tonk Piano", "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    # Chromatic Percussion
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone",
    "Tubular Bells", "Dulcimer",
    # Organ
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ",
    "Accordion", "Harmonica", "Tango Accordion",
    # Guitar
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics",
    # Bass
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    # Strings
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings",
    "Orchestral Harp", "Timpani",
    # Ensemble
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2",
    "Choir Aahs", "Voice Oohs", "Synth Voice", "Orchestra Hit",
    # Brass
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section",
    "Synth Brass 1", "Synth Brass 2",
    # Reed
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn",
    "Bassoon", "Clarinet",
    # Pipe
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle",
    "Ocarina",
    # Synth Lead
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    # Synth Pad
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)",
    "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    # Synth Effects
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
    "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    # Ethnic
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    # Percussive
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom",
    "Synth Drum", "Reverse Cymbal",
    # Sound Effects
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring",
    "Helicopter", "Applause", "Gunshot",
)

# Each family holds eight consecutive programs.
FAMILIES: tuple[str, ...] = (
    "Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Ensemble",
    "Brass", "Reed", "Pipe", "Synth Lead", "Synth Pad", "Synth Effects", "Ethnic",
    "Percussive", "Sound Effects",
)


@dataclass(frozen=True)
class DrumKit:
    preset: int  # program number inside bank 128
    name: str


DRUM_KITS: tuple[DrumKit, ...] = (
    DrumKit(0, "Standard Kit"), DrumKit(8, "Room Kit"), DrumKit(16, "Power Kit"),
    DrumKit(24, "Electronic Kit"), DrumKit(25, "TR-808 Kit"), DrumKit(32, "Jazz Kit"),
    DrumKit(40, "Brush Kit"), DrumKit(48, "Orchestra Kit"),
)


def program_name(program: int) -> str:
    _check_program(program)
    return PROGRAMS[program]


def family_index(program: int) -> int:
    _check_program(program)
    return program // 8


def family_of(program: int) -> str:
    return FAMILIES[family_index(program)]


def programs_in_family(family: int | str) -> list[int]:
    """The eight programs of a family, given by index or by name."""
    index = FAMILIES.index(family) if isinstance(family, str) else family
    if not 0 <= index < len(FAMILIES):
        raise ValueError(f"there are {len(FAMILIES)} GM families, not {index + 1}")
    return list(range(index * 8, index * 8 + 8))


def drum_kit(preset: int) -> DrumKit:
    for kit in DRUM_KITS:
        if kit.preset == preset:
            return kit
    known = ", ".join(str(k.preset) for k in DRUM_KITS)
    raise ValueError(f"{preset} is not a GM drum kit (kits: {known})")


def _check_program(program: int) -> None:
    if not 0 <= program < len(PROGRAMS):
        raise ValueError(f"GM programs are 0..{len(PROGRAMS) - 1}, got {program!r}")


@dataclass(frozen=True)
class Instrument:
    """What a track plays: a melodic GM program or a drum kit (bank 128)."""

    program: int
    drums: bool = False

    def __post_init__(self) -> None:
        if self.drums:
            drum_kit(self.program)
        else:
            _check_program(self.program)

    @classmethod
    def melodic(cls, program: int) -> Instrument:
        return cls(program, drums=False)

    @classmethod
    def kit(cls, preset: int) -> Instrument:
        return cls(preset, drums=True)

    @property
    def bank(self) -> int:
        return DRUM_BANK if self.drums else 0

    @property
    def name(self) -> str:
        return drum_kit(self.program).name if self.drums else PROGRAMS[self.program]

    @property
    def family(self) -> str:
        return "Drum Kits" if self.drums else family_of(self.program)


def all_instruments() -> list[Instrument]:
    """Every choice an instrument picker offers: 128 programs, then the kits."""
    return [Instrument.melodic(p) for p in range(len(PROGRAMS))] + \
        [Instrument.kit(k.preset) for k in DRUM_KITS]
