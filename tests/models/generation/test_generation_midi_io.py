"""Pieces to and from MIDI files, chord strings and the desktop's note tuples."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from models.generation import midi_io, tokens
from models.generation.midi_io import ChordParseError, MidiFileError, parse_chord, parse_chords
from models.generation.piece import MAJOR, MINOR, Piece


def _piece() -> Piece:
    """3/4 then 6/8, G major then E minor, chords changing mid-bar."""
    notes = np.array([[0, 24, 67, 80], [24, 24, 71, 96], [48, 24, 74, 64], [72, 72, 72, 80],
                      [144, 36, 64, 80], [180, 36, 67, 112]], np.int32)
    bars = np.array([[0, 3, 4], [72, 3, 4], [144, 6, 8]], np.int32)
    keys = np.array([[0, 7, MAJOR], [144, 4, MINOR]], np.int32)
    chords = np.array([[0, 48, 7, 0], [48, 96, 2, 4], [144, 72, 4, 1]], np.int32)
    return Piece("t", "song", title="song", notes=notes, bars=bars, keys=keys, chords=chords)


@pytest.mark.parametrize("midi_type", [0, 1])
@pytest.mark.parametrize("ppq", [480, 96, 960])
def test_midi_round_trip(tmp_path: Path, midi_type: int, ppq: int) -> None:
    piece = _piece()
    path = tmp_path / "song.mid"
    midi_io.write_midi(piece, path, tempo_bpm=96.0, ppq=ppq, midi_type=midi_type)
    loaded = midi_io.load_midi(path)
    back = loaded.piece
    assert loaded.messages == []
    assert abs(loaded.tempo_bpm - 96.0) < 1e-6
    assert np.array_equal(back.notes, piece.notes)
    assert np.array_equal(back.bars, piece.bars)
    assert np.array_equal(back.keys, piece.keys)
    assert np.array_equal(back.chords, piece.chords)
    assert tokens.encode(back).tolist() == tokens.encode(piece).tolist()


def test_written_file_has_a_chord_track_of_block_chords_and_markers(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    midi_io.write_midi(_piece(), path)
    mid = mido.MidiFile(str(path))
    assert [t.name for t in mid.tracks] == ["Conductor", "Melody", "Chords"]
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers == ["G", "D7", "Em"]
    ons = [m.note for m in mid.tracks[2] if m.type == "note_on"]
    assert ons[:3] == [55, 59, 62]  # G in the octave from C3
    assert all(m.channel == 1 for m in mid.tracks[2] if m.type == "note_on")


def test_polyphony_range_and_odd_meters_are_fixed_with_messages(tmp_path: Path) -> None:
    mid = mido.MidiFile(type=1, ticks_per_beat=100)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("time_signature", numerator=17, denominator=16))
    tr.append(mido.MetaMessage("text", text="just words"))
    for pitch in (60, 64, 67):  # a chord: the top note is kept
        tr.append(mido.Message("note_on", note=pitch, velocity=70, time=0))
    tr.append(mido.Message("note_off", note=60, time=100))
    tr.append(mido.Message("note_off", note=64, time=0))
    tr.append(mido.Message("note_off", note=67, time=0))
    tr.append(mido.Message("note_on", note=118, velocity=70, time=0))  # above the range
    tr.append(mido.Message("note_off", note=118, time=37))  # off the grid: rounded
    tr.append(mido.Message("note_on", note=36, velocity=90, time=0, channel=9))  # drums
    tr.append(mido.Message("note_on", note=50, velocity=90, time=0))  # never released
    tr.append(mido.Message("note_off", note=36, velocity=90, time=50, channel=9))
    mid.tracks.append(tr)
    path = tmp_path / "odd.mid"
    mid.save(str(path))
    loaded = midi_io.load_midi(path)
    p = loaded.piece
    assert p.notes[:, 2].tolist() == [67, 106, 50]
    assert p.notes[:, 0].tolist() == [0, 24, 33]
    assert (p.bars[:, 1:] == [4, 4]).all()
    text = " ".join(loaded.messages)
    assert "17/16" in text and "dropped" in text and "octaves" in text
    assert len(p.chords) == 0
    tokens.encode(p)


def test_damaged_and_missing_files_give_midi_file_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01")
    with pytest.raises(MidiFileError, match=r"bad\.mid"):
        midi_io.load_midi(bad)
    text = tmp_path / "notes.mid"
    text.write_text("C G Am F")
    with pytest.raises(MidiFileError, match="not a readable MIDI file"):
        midi_io.load_midi(text)
    with pytest.raises(MidiFileError, match="no such file"):
        midi_io.load_midi(tmp_path / "gone.mid")


def test_empty_midi_file_gives_an_empty_piece(tmp_path: Path) -> None:
    mid = mido.MidiFile(type=1)
    mid.tracks.append(mido.MidiTrack())
    path = tmp_path / "empty.mid"
    mid.save(str(path))
    p = midi_io.read_midi(path)
    assert len(p.notes) == 0 and len(p.bars) == 1


def test_parse_chord_symbols() -> None:
    q = {n: i for i, n in enumerate(tokens.QUALITY_NAMES)}
    cases = {"C": (0, q["maj"]), "Am": (9, q["min"]), "G7": (7, q["7"]), "Bb": (10, q["maj"]),
             "F#m7": (6, q["min7"]), "C:maj7": (0, q["maj7"]), "A:min": (9, q["min"]),
             "Bdim": (11, q["dim"]), "Bm7b5": (11, q["hdim7"]), "C#o7": (1, q["dim7"]),
             "Eb+": (3, q["aug"]), "D/F#": (2, q["maj"]), "Gsus4": (7, q["maj"]),
             "Cb": (11, q["maj"]), "E:hdim7": (4, q["hdim7"]), "Dm9": (2, q["min7"])}
    for text, want in cases.items():
        assert parse_chord(text) == want, text
    assert parse_chord("N") is None
    for bad in ("H", "Cfoo", "", "7"):
        with pytest.raises(ChordParseError):
            parse_chord(bad)


def test_chord_labels_are_lead_sheet_names_that_parse_back() -> None:
    q = {n: i for i, n in enumerate(tokens.QUALITY_NAMES)}
    assert [midi_io.chord_label(7, q[n]) for n in ("maj", "min", "7", "maj7", "min7",
                                                   "hdim7", "dim7", "dim", "aug")] == [
        "G", "Gm", "G7", "Gmaj7", "Gm7", "Gm7b5", "Gdim7", "Gdim", "Gaug"]
    for root in range(12):
        for quality in range(len(tokens.QUALITY_NAMES)):
            assert parse_chord(midi_io.chord_label(root, quality)) == (root, quality)


def test_parse_chord_strings_per_bar_and_with_bar_lines() -> None:
    a = parse_chords("C G Am F")
    assert a.tolist() == [[0, 96, 0, 0], [96, 96, 7, 0], [192, 96, 9, 1], [288, 96, 5, 0]]
    b = parse_chords("C:maj G:7, A:min F:maj7")
    assert b[:, 2].tolist() == [0, 7, 9, 5] and b[:, 0].tolist() == [0, 96, 192, 288]
    c = parse_chords("| C | G D | % | N | F |", (3, 4))
    assert c.tolist() == [[0, 72, 0, 0], [72, 36, 7, 0], [108, 36, 2, 0], [144, 72, 2, 0],
                          [288, 72, 5, 0]]
    assert midi_io.chords_to_string(a) == "C | G | Am | F"
    for bad, match in (("", "empty"), ("  |  ", "empty"), ("% C", "repeats"), ("C X", "X")):
        with pytest.raises(ChordParseError, match=match):
            parse_chords(bad)


def test_desktop_note_tuples_round_trip() -> None:
    piece = _piece()
    tuples = midi_io.to_note_tuples(piece, ppq=960)
    assert tuples[0] == (0, 960, 67, 80)
    chords = [(t * 24 // 960, label) for t, _, label in midi_io.to_chord_tuples(piece)]
    msgs: list[str] = []
    back = midi_io.from_note_tuples(tuples, ppq=960, time_signature=(3, 4), key=(7, MAJOR),
                                    chords=[(t * 40, lab) for t, lab in chords],
                                    messages=msgs)
    assert np.array_equal(back.notes, piece.notes)
    assert np.array_equal(back.chords, piece.chords)
    assert back.keys.tolist() == [[0, 7, MAJOR]]
    assert msgs == []
    off_grid = midi_io.from_note_tuples([(7, 500, 60, 100), (490, 10, 62, 3)], ppq=960)
    assert off_grid.notes.tolist() == [[0, 12, 60, 96], [12, 1, 62, 16]]
    with pytest.raises(ValueError, match="pitch"):
        midi_io.from_note_tuples([(0, 10, 200, 100)])
