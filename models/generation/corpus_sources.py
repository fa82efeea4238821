"""The music21 corpus collections we use, what each contributes, and its licence.

Only registry packages ship this data (music21's wheel carries its corpus), so the
dataset can be rebuilt anywhere `pip install music21` works.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    name: str
    pattern: str  # glob under music21's corpus folder
    kind: str  # "folk" (melody; weak chords), "harmonic" (melody + texture chords), "analysis"
    licence: str
    shippable: bool  # may a model we ship be trained on it?
    default: bool = True  # part of the committed dataset


_MUSIC21_CORPUS = ("music21 corpus (BSD-3 software; corpus/license.txt: encodings distributed "
                   "with the encoders' permission, no further restriction stated for this "
                   "collection)")

SOURCES: tuple[Source, ...] = (
    Source("oneills1850", "oneills1850/*.abc", "folk",
           "Music public domain (O'Neill, 1903). ABC by Norbert Paap, John Chambers, Bob "
           "Safranek and others. " + _MUSIC21_CORPUS, True),
    Source("ryansMammoth", "ryansMammoth/*.abc", "folk",
           "Music public domain (Ryan's Mammoth Collection, 1883). ABC by Ray Davies, John "
           "Walsh, Bob Puckette and others. " + _MUSIC21_CORPUS, True),
    Source("airdsAirs", "airdsAirs/*.abc", "folk",
           "Music public domain (Aird's Selection, 1778-1803). ABC by Jack Campin, 2009. "
           + _MUSIC21_CORPUS, True),
    Source("bach_chorales", "bach/bwv*.mxl", "harmonic",
           "Music public domain (J. S. Bach). MusicXML " + _MUSIC21_CORPUS, True),
    Source("bach_rn", "bach/choraleAnalyses/*.rntxt", "analysis",
           "Roman-numeral analyses by Andrew Jones, proofread by Dmitri Tymoczko and Hamish "
           "Robb (When-in-Rome style RomanText). " + _MUSIC21_CORPUS, True),
    Source("monteverdi_rn", "monteverdi/*.rntxt", "analysis",
           "Roman-numeral analyses of Monteverdi madrigals (Dmitri Tymoczko et al.). "
           + _MUSIC21_CORPUS, True),
    Source("palestrina", "palestrina/*.krn", "harmonic",
           "Music public domain (Palestrina masses). Humdrum encodings (CCARH). "
           + _MUSIC21_CORPUS, True),
    # Essen: permission for non-commercial distribution and use in music21 only
    # (corpus/essenFolksong/license.txt). Opt-in, never committed, never in a shipped model.
    Source("essen", "essenFolksong/*.abc", "folk",
           "NON-COMMERCIAL: permission of Ewa Dahlig-Turek for non-commercial distribution "
           "and use in music21; ABC by Seymour Shlien. Not shippable.", False, default=False),
)

SOURCES_BY_NAME = {s.name: s for s in SOURCES}
# Which sources feed which yardstick (Palestrina's cantus is not a song melody).
MELODY_SOURCES = ("oneills1850", "ryansMammoth", "airdsAirs", "bach_chorales")
CHORD_SOURCES = ("bach_chorales", "bach_rn", "monteverdi_rn", "palestrina")


def corpus_root() -> Path:
    from music21 import common  # imported late: music21 takes a second to import

    return Path(str(common.getCorpusFilePath()))


def source_files(source: Source) -> list[Path]:
    files = sorted(corpus_root().glob(source.pattern))
    if source.name == "monteverdi_rn" or source.name == "bach_rn":
        return [f for f in files if f.suffix == ".rntxt"]
    return files
