"""The Debian SoundFonts we render with, grouped into families of shared samples, and
the timbre split: a family is wholly in train, validation or test, so the test set
measures timbres never heard in training. Programs are split too (train programs and
held-out programs per instrument category), so evaluation instruments are new twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SoundFont:
    name: str
    path: str
    family: str
    package: str  # Debian package
    licence: str
    note: str = ""
    # "fluidsynth" plays a .sf2/.sf3 file; "timidity" runs TiMidity++ with ``path`` as
    # its configuration (synth_timidity.py); "sampler" plays recorded notes from the
    # folders under ``path`` (synth_sampler.py); "random" draws an instrument per clip
    # (synth_random.py, no files).
    engine: str = "fluidsynth"
    # GM programs (bank 0) it has; None: all 128.
    programs: tuple[int, ...] | None = None
    drums: bool = True  # has a GM drum kit (bank 128)

    @property
    def installed(self) -> bool:
        if self.engine == "random":
            return True
        if self.engine == "timidity":
            import shutil

            if shutil.which("timidity") is None:
                return False
        if self.engine == "sampler":
            return all((Path(self.path) / f).is_dir()
                       for folders in TONEJS_INSTRUMENTS.values() for f in folders)
        return Path(self.path).is_file()


# The bank-0 programs /etc/timidity/freepats.cfg maps (Debian freepats 20060219).
FREEPATS_PROGRAMS = (
    0, 1, 2, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 19, 21, 23, 24, 25, 26, 27, 28, 29, 30,
    32, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 47, 48, 53, 56, 57, 58, 59, 60, 61,
    64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 79, 80, 84, 88, 94, 95, 98, 101,
    102, 104, 114, 115, 120, 122, 125)

# Recorded instruments from npm (tonejs-instruments, MIT per the packages), pinned; the
# GM program each stands for, within the training program pools. 48 (a string section)
# merges violin, cello and double bass: the first folder holding a pitch plays it.
TONEJS_PACKAGES = {
    "guitar-acoustic": "1.1.2", "guitar-electric": "1.1.1", "guitar-nylon": "1.1.1",
    "harp": "1.1.1", "piano": "1.1.2", "organ": "1.1.1", "harmonium": "1.1.1",
    "violin": "1.1.1", "cello": "1.1.1", "contrabass": "1.1.2", "bass-electric": "1.1.2"}


def _tonejs(*names: str) -> tuple[str, ...]:
    return tuple(f"tonejs-instrument-{n}-mp3" for n in names)


TONEJS_INSTRUMENTS: dict[int, tuple[str, ...]] = {
    24: _tonejs("guitar-nylon"), 25: _tonejs("guitar-acoustic"),
    27: _tonejs("guitar-electric"), 46: _tonejs("harp"), 0: _tonejs("piano"),
    19: _tonejs("organ"), 20: _tonejs("harmonium"),
    48: _tonejs("violin", "cello", "contrabass"), 33: _tonejs("bass-electric")}
# (The xylophone package records only G4 and up: chords in the guitar range would be
# resampled down by up to two octaves, so it is left out.)
# Where `python -m models.chords.data samples` installs them (npm's node_modules).
TONEJS_ROOT = Path(__file__).resolve().parents[2] / "build" / "tonejs" / "node_modules"

SOUNDFONTS: tuple[SoundFont, ...] = (
    # Family fluidr3: Frank Wen's Fluid R3 samples, and MuseScore General, which is
    # built on them (S. Christian Collins' adaptation).
    SoundFont("FluidR3_GM", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluidr3",
              "fluid-soundfont-gm", "MIT (Frank Wen)"),
    SoundFont("FluidR3Mono_GM", "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3", "fluidr3",
              "fluidr3mono-gm-soundfont", "MIT (Frank Wen; mono version Michael Cowgill)",
              "Ogg-compressed: about 2 s to load"),
    SoundFont("MuseScore_General_Lite", "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
              "fluidr3", "musescore-general-soundfont-small",
              "MIT (S. Christian Collins; parts public domain or CC0)",
              "Ogg-compressed: about 3 s to load"),
    # Independent families.
    SoundFont("OPL3_FM", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2", "opl3",
              "opl3-soundfont", "CC-BY-SA-4.0 (Bret Curtis)", "FM synthesis, not samples"),
    SoundFont("Csound_GMbank", "/usr/share/sounds/sf2/sf_GMbank.sf2", "csound_gmbank",
              "csound-soundfont", "LGPL-2.1+ (Csound)"),
    SoundFont("TimGM6mb", "/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb",
              "timgm6mb-soundfont", "GPL-2 (Tim Brechbill)"),
    # Not a SoundFont: GUS patches that TiMidity++ renders (its own envelopes,
    # interpolation and filters), sharing samples with no other family: the
    # independent validation family since 2026-11-27 (the Csound bank shares samples
    # with the test family: DATA.md). Only the `valid_freepats` set uses it.
    SoundFont("FreePats", "/etc/timidity/freepats.cfg", "freepats", "freepats timidity",
              "GPL-2+ (FreePats project)", "GUS patches rendered by TiMidity++",
              engine="timidity", programs=FREEPATS_PROGRAMS),
    # Not a SoundFont either: recordings of real instruments, one file per note, a
    # fourth training family. Only the `train_tonejs` set uses it.
    SoundFont("ToneJS", str(TONEJS_ROOT), "tonejs", "npm: tonejs-instrument-*-mp3",
              "MIT (per the npm packages; github.com/Makefully-Studios/tonejs-instruments)",
              "recorded notes, resampled to pitch", engine="sampler",
              programs=tuple(sorted(TONEJS_INSTRUMENTS)), drums=False),
    # Our own synthesizer with a new random instrument per clip (domain randomization):
    # a fifth training family. Only the `train_synth` set uses it.
    SoundFont("RandomTimbre", "", "random", "none (models/chords/synth_random.py)",
              "ours", "additive wavetables, a random instrument per clip",
              engine="random", drums=False),
)
# Not used: fluid-soundfont-gs (FluidR3_GS.sf2) holds only GS variation banks, no
# bank 0, and belongs to family fluidr3 anyway; musescore-general-soundfont (HQ) is
# the same family as its Lite version at twice the size.
SOUNDFONTS_BY_NAME = {sf.name: sf for sf in SOUNDFONTS}

FAMILY_SPLIT: dict[str, str] = {
    "fluidr3": "train",
    "opl3": "train",
    "csound_gmbank": "valid",
    "timgm6mb": "test",
    "freepats": "valid",
    "tonejs": "train",
    "random": "train",
}
SPLITS = ("train", "valid", "test")

# GM programs per category. "train" programs are heard in training; "heldout" ones
# only in validation and test (on their own SoundFont families). "wide" programs widen
# the timbres of the `train_wide` set (never a held-out program: a test checks it).
PROGRAMS: dict[str, dict[str, tuple[int, ...]]] = {
    "piano": {"train": (0, 1, 6), "heldout": (2,), "wide": (3, 7)},
    "electric_piano": {"train": (4,), "heldout": (5,), "wide": (7, 108)},
    "organ": {"train": (16, 19, 21), "heldout": (17, 18), "wide": (20, 22, 23)},
    "guitar": {"train": (24, 25, 27, 29), "heldout": (26, 30), "wide": (28, 105, 106, 46)},
    "strings": {"train": (48, 50, 46), "heldout": (49, 51), "wide": (44, 45, 52, 53, 61)},
    "pad": {"train": (89,), "heldout": (88,), "wide": (90, 91, 92, 94, 95)},
    "mallet": {"train": (11,), "heldout": (12,), "wide": (8, 9, 10, 13, 14)},
    "bass": {"train": (32, 33, 34), "heldout": (35, 38), "wide": (36, 37, 39)},
    # The melody over the chords (melody.py): brass, reeds, flutes, synth leads and
    # voices; the held-out ones (violin, oboe, clarinet) only in evaluation.
    "lead": {"train": (56, 65, 73, 80), "heldout": (40, 68, 71),
             "wide": (54, 64, 66, 74, 79, 81)},
}
# Which textures suit a category (a strummed organ sounds like no musician).
TEXTURES_FOR: dict[str, tuple[str, ...]] = {
    "piano": ("block", "pick", "hold"), "electric_piano": ("block", "pick", "hold"),
    "organ": ("hold", "block"), "guitar": ("strum", "strum", "pick"),
    "strings": ("hold", "block"), "pad": ("hold",), "mallet": ("pick", "block"),
}
HARMONY_CATEGORIES = tuple(TEXTURES_FOR)


def soundfonts_for(split: str) -> list[SoundFont]:
    """The split's SoundFonts that a set draws from at random (FreePats, played by
    TiMidity, only by name: manifest.SET_SOUNDFONT, so `valid` stays the Csound bank)."""
    return [sf for sf in SOUNDFONTS
            if FAMILY_SPLIT[sf.family] == split and sf.engine == "fluidsynth"]


def program_pool(category: str, split: str, wide: bool = False,
                 available: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The programs a clip of ``category`` draws from; ``available``: only those (a
    patch set without every GM program)."""
    if split != "train":
        pool = PROGRAMS[category]["heldout"]
    else:
        pool = PROGRAMS[category]["train"] + (PROGRAMS[category]["wide"] if wide else ())
    return pool if available is None else tuple(p for p in pool if p in available)


def split_of_soundfont(name: str) -> str:
    return FAMILY_SPLIT[SOUNDFONTS_BY_NAME[name].family]
