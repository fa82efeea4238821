"""Helpers for the generation data tests: real corpus pieces, parsed once per session."""

from __future__ import annotations

from functools import cache

from models.generation.corpus_sources import SOURCES_BY_NAME, corpus_root
from models.generation.extract import RawPiece, parse_file

# Small files of four collections: a reel with a pickup-free start, a chorale with a
# pickup and its Roman-numeral analysis, and an Aird's book (many tunes, pickups).
CORPUS_FILES = {
    "ryansMammoth": "ryansMammoth/7thRegimentReel.abc",
    "bach_chorales": "bach/bwv269.mxl",
    "bach_rn": "bach/choraleAnalyses/riemenschneider001.rntxt",
    "oneills1850": "oneills1850/0487-0500.abc",
}


@cache
def parsed(source: str) -> tuple[RawPiece, ...]:
    rel = CORPUS_FILES[source]
    pieces, errors = parse_file(SOURCES_BY_NAME[source], corpus_root() / rel, rel)
    assert not errors, errors
    return tuple(pieces)
