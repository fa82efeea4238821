"""Output formats (.lab, JSON, chart) and chord names (notation styles, sharps and
flats, capo)."""

from __future__ import annotations

import dataclasses
import itertools

import mir_eval
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.chords import formats
from models.chords.key_tempo import KeyEstimate, prefers_flats
from models.chords.runtime import Analysis, ChordSpan
from models.chords.vocabulary import QUALITIES, Chord, parse

EXPECTED = {  # quality -> (simple, standard, jazz) for a C root
    "maj": ("C", "C", "C"), "min": ("Cm", "Cm", "C−"), "7": ("C", "C7", "C7"),
    "maj7": ("C", "Cmaj7", "C△7"), "min7": ("Cm", "Cm7", "C−7"),
    "dim": ("Cdim", "Cdim", "C°"), "aug": ("Caug", "Caug", "C+"),
    "sus2": ("Csus2", "Csus2", "Csus2"), "sus4": ("Csus4", "Csus4", "Csus4"),
    "hdim7": ("Cdim", "Cm7b5", "Cø7"), "dim7": ("Cdim", "Cdim7", "C°7"),
    "maj6": ("C", "C6", "C6"), "min6": ("Cm", "Cm6", "C−6"),
}


@pytest.mark.parametrize("quality", QUALITIES)
def test_every_quality_in_every_style(quality: str) -> None:
    for style, alias, expected in zip(formats.STYLES, formats.STYLE_ALIASES,
                                      EXPECTED[quality], strict=True):
        assert formats.chord_name(f"C:{quality}", style) == expected
        assert formats.chord_name(f"C:{quality}", alias) == expected
    for root in range(12):
        for flats in (False, True):
            chord = Chord(root, quality)
            for style in formats.STYLES:
                name = formats.chord_name(chord.label(), style, flats)
                letter = name[:2] if name[1:2] in ("#", "b") else name[:1]
                assert parse(letter).root == root
                assert ("#" if flats else "b") not in letter


@pytest.mark.parametrize("style", ["standard", "jazz"])
def test_full_styles_give_every_chord_its_own_name(style: str) -> None:
    names = {formats.chord_name(Chord(r, q), style) for r in range(12) for q in QUALITIES}
    assert len(names) == 12 * len(QUALITIES)


def test_inversions_are_slash_chords_and_no_chord_is_nc() -> None:
    assert formats.chord_name("A:min7/b3", "standard") == "Am7/C"
    assert formats.chord_name("Db:maj/3", "standard", prefer_flats=True) == "Db/F"
    assert formats.chord_name("C#:maj/3", "standard") == "C#/F"
    assert formats.chord_name("A:min7/b3", "standard", show_bass=False) == "Am7"
    assert formats.chord_name("N", "jazz") == "N.C."
    with pytest.raises(formats.FormatError, match="notation"):
        formats.chord_name("C:maj", "fancy")


def test_key_signature_decides_sharps_or_flats() -> None:
    assert prefers_flats(5, "major") and prefers_flats(2, "minor")  # F major, D minor
    assert not prefers_flats(7, "major") and not prefers_flats(4, "minor")  # G, E minor
    assert KeyEstimate(3, "major", 0.9).label == "Eb major"
    assert KeyEstimate(6, "minor", 0.9).label == "F# minor"


@given(st.integers(0, 156), st.integers(0, 11))
def test_capo_shapes_sound_as_the_chord(index: int, capo: int) -> None:
    chord = Chord(-1, "") if index == 156 else Chord(index // 13, QUALITIES[index % 13])
    shape = parse(formats.capo_label(chord.label(), capo))
    assert shape.transpose(capo) == chord


def test_capo_examples_and_best_capo() -> None:
    assert formats.capo_label("C:maj", 3) == "A:maj"
    assert formats.capo_label("Eb:min7/b3", 1) == "D:min7/b3"
    with pytest.raises(formats.FormatError):
        formats.capo_label("C:maj", 12)
    # F# B C# -> capo 2 gives E A B, capo 4 D G A: all open shapes
    song = [("F#:maj", 4.0), ("B:maj", 4.0), ("C#:maj", 4.0)]
    assert formats.best_capo(song) == 4
    assert formats.best_capo([("C:maj", 2.0), ("G:maj", 2.0)]) == 0


def _analysis() -> Analysis:
    labels = ["N", "C:maj", "G:maj/3", "A:min", "F:maj", "F:maj", "C:maj"]
    spans = []
    t = 0.0
    for k, lab in enumerate(labels):
        d = 0.5 if k == 0 else 2.0
        spans.append(ChordSpan.of(t, t + d, parse(lab), 0.8))
        t += d
    # join the repeated F into one segment (the runtime never writes equal neighbours)
    spans[4:6] = [ChordSpan.of(spans[4].start, spans[5].end, parse("F:maj"), 0.8)]
    beats = [0.5 + 0.5 * k for k in range(int((t - 0.5) / 0.5))]
    return Analysis(segments=spans, duration=t, model_version="test",
                    key=KeyEstimate(0, "major", 0.9), tempo=120.0, beats=beats,
                    downbeats=beats[::4], beats_per_bar=4)


def test_lab_parses_with_mir_eval(tmp_path) -> None:
    a = _analysis()
    text = formats.render(a, "lab")
    path = tmp_path / "song.lab"
    path.write_text(text)
    intervals, labels = mir_eval.io.load_labeled_intervals(str(path))
    mir_eval.chord.validate(labels, labels)
    assert labels == [s.label for s in a.segments]
    assert intervals[0][0] == 0.0 and intervals[-1][1] == pytest.approx(a.duration)
    assert formats.read_lab(text) == [(pytest.approx(s.start), pytest.approx(s.end), s.label)
                                      for s in a.segments]
    with pytest.raises(formats.FormatError, match="line 1"):
        formats.read_lab("0.0 C:maj\n")


def test_json_round_trips() -> None:
    a = _analysis()
    back = Analysis.from_json(formats.render(a, "json"))
    assert back.segments == a.segments and back.key == a.key and back.tempo == a.tempo
    assert back.beats == a.beats and back.downbeats == a.downbeats


def test_json_and_chart_carry_the_tuning() -> None:
    a = dataclasses.replace(_analysis(), tuning_cents=38.46, hum_hz=50.0123)
    back = Analysis.from_json(formats.render(a, "json"))
    assert back.tuning_cents == 38.5 and back.hum_hz == 50.01
    assert _analysis().tuning_cents is None and _analysis().hum_hz is None
    back = Analysis.from_json(formats.render(_analysis(), "json"))
    assert back.tuning_cents is None and back.hum_hz is None
    head = formats.to_chart(a).splitlines()[0]
    assert head.endswith("Time: 4/4  Tuning: +38 cents (A = 449.9 Hz)")
    # a few cents is the estimate's own error: not shown
    assert "Tuning" not in formats.to_chart(dataclasses.replace(a, tuning_cents=-6.0))
    flat = formats.to_chart(dataclasses.replace(a, tuning_cents=-20.0)).splitlines()[0]
    assert flat.endswith("Tuning: -20 cents (A = 434.9 Hz)")


def test_chart_has_one_cell_per_bar_and_repeat_signs() -> None:
    a = _analysis()
    chart = formats.to_chart(a)
    lines = chart.splitlines()
    assert lines[0] == "Key: C major  Tempo: 120 bpm  Time: 4/4"
    bars = [c.strip() for line in lines[1:] for c in line.strip("|").split("|")]
    # a half-second pickup of N, then one bar per chord (F lasts two bars: %)
    assert bars == ["N.C.", "C", "G/B", "Am", "F", "%", "C"]
    for line in lines[1:]:
        assert line.startswith("|") and line.endswith("|") and line.count("|") <= 5
    jazz = formats.to_chart(a, style="C△7", capo=3)
    # the shapes a capo on fret 3 needs: C -> A, G/B -> E/G#, Am -> F#m
    assert "Capo: 3" in jazz and "E/G#" in jazz and "F#−" in jazz
    with pytest.raises(formats.FormatError, match="format"):
        formats.render(a, "pdf")


def test_chart_lists_the_chords_of_a_bar_in_order() -> None:
    a = _analysis()
    # two chords a bar: every bar holds two of them
    a.downbeats = a.beats[::8]
    cells = [c.strip() for line in formats.to_chart(a).splitlines()[1:]
             for c in line.strip("|").split("|")]
    assert cells[:3] == ["N.C.", "C G/B", "Am F"]
    assert all(len(c.split()) <= 2 for c in cells)


def test_chart_header_gives_the_time_signature_of_the_bars() -> None:
    a = _analysis()
    a.beats_per_bar, a.downbeats = 3, a.beats[::3]
    assert formats.to_chart(a).splitlines()[0].endswith("Time: 3/4")
    a.beats_per_bar, a.beat_unit = 6, 8  # a chord track's own meter
    assert formats.to_chart(a).splitlines()[0].endswith("Time: 6/8")
    a.beats, a.downbeats = [], []  # no beats found: no time signature claimed
    assert "Time" not in formats.to_chart(a)


def test_capo_shapes_are_spelled_in_the_key_they_are_fingered_in() -> None:
    a = _analysis()
    # C major played with C, G/B, Am, F; up a fourth: F major with F, C/E, Dm, Bb
    a.segments = [ChordSpan.of(s.start, s.end, parse(s.label).transpose(5), s.confidence)
                  for s in a.segments]
    a.key = KeyEstimate(5, "major", 0.9)
    assert "Bb" in formats.to_chart(a)  # sounding, in F: flats
    # capo 3: fingered in D major (F -> D, C/E -> A/C#, Dm -> Bm, Bb -> G): sharps
    shapes = formats.to_chart(a, capo=3)
    assert "A/C#" in shapes and "Db" not in shapes
    assert "A/Db" in formats.to_chart(a, capo=3, prefer_flats=True)  # forced spelling


def test_bars_cover_the_clip() -> None:
    bars = formats.bars_of([1.0, 3.0, 5.0], 8.0)
    assert bars[0][0] == 0.0 and bars[-1][1] == 8.0
    for (a, b), (c, _) in itertools.pairwise(bars):
        assert b == c and b > a
    assert formats.bars_of([], 5.0) == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]


def test_chart_cells_widen_together_for_a_busy_bar() -> None:
    a = _analysis()
    a.downbeats = a.beats[::16]  # four chords in a bar: longer than a default cell
    lines = formats.to_chart(a, style="C△7", capo=3).splitlines()[1:]
    cells = [c for line in lines for c in line[1:-1].split("|")]
    assert any(c.strip() == "A E/G# F#− D" for c in cells)
    # every cell the same width, a space on both sides of its text: the bar lines align
    assert len({len(c) for c in cells}) == 1
    assert all(c.startswith(" ") and c.endswith(" ") for c in cells)
    assert len({line.index("|", 1) for line in lines}) == 1
