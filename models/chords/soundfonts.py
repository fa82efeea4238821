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

    @property
    def installed(self) -> bool:
        return Path(self.path).is_file()


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
}
# Which textures suit a category (a strummed organ sounds like no musician).
TEXTURES_FOR: dict[str, tuple[str, ...]] = {
    "piano": ("block", "pick", "hold"), "electric_piano": ("block", "pick", "hold"),
    "organ": ("hold", "block"), "guitar": ("strum", "strum", "pick"),
    "strings": ("hold", "block"), "pad": ("hold",), "mallet": ("pick", "block"),
}
HARMONY_CATEGORIES = tuple(TEXTURES_FOR)


def soundfonts_for(split: str) -> list[SoundFont]:
    return [sf for sf in SOUNDFONTS if FAMILY_SPLIT[sf.family] == split]


def program_pool(category: str, split: str, wide: bool = False) -> tuple[int, ...]:
    if split != "train":
        return PROGRAMS[category]["heldout"]
    return PROGRAMS[category]["train"] + (PROGRAMS[category]["wide"] if wide else ())


def split_of_soundfont(name: str) -> str:
    return FAMILY_SPLIT[SOUNDFONTS_BY_NAME[name].family]
