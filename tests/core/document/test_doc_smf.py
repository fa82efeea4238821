"""Standard MIDI Files in and out, checked against independent parsers."""

from __future__ import annotations

import argparse
import io
import struct
from pathlib import Path

import mido
import pretty_midi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strumspace_desktop.core.document import Document, Instrument, Note, convert_cli
from strumspace_desktop.core.document.project_files import open_project
from strumspace_desktop.core.document.smf import MidiFileError, export_midi, import_midi
from strumspace_desktop.core.timing import PPQ

music21 = pytest.importorskip("music21")
M21_DIR = Path(music21.__file__).parent
REAL_FILES = sorted(M21_DIR.glob("midi/testPrimitive/*.mid")) + sorted(M21_DIR.glob("omr/*.mid"))
assert len(REAL_FILES) >= 20, "music21 ships these real MIDI files"


def song() -> Document:
    d = Document.new("Round trip", bpm=100)
    d.set_tempo(3840, 150.0)
    d.set_time_signature(0, 3, 4)
    d.set_time_signature(2880, 6, 8)
    d.add_marker(0, "Intro")
    d.add_marker(2880, "Verse")
    piano = d.add_track("midi", "Piano", instrument=Instrument(program=4, bank=129, channel=0))
    c = d.add_midi_clip(piano, 0, 7680)
    d.add_notes(c, [Note(60 + i % 12, i * 240, 200 + i, 40 + i, 0) for i in range(24)])
    d.add_notes(c, [Note(72, 480, 0, 90, 0)])  # zero length survives
    drums = d.add_track("midi", "Drums", instrument=Instrument(program=0, channel=9))
    dc = d.add_midi_clip(drums, 960, 1920)
    d.add_notes(dc, [Note(36, i * 480, 120, 110, 9) for i in range(4)])
    d.set_sysex(drums, [(0, bytes([0x7E, 0x7F, 0x09, 0x01]))])
    return d


def musical(doc: Document) -> dict:
    """What a MIDI file can hold, independent of ids and clip layout."""
    tracks = []
    for t in doc.tracks():
        if t.kind != "midi":
            continue
        notes = []
        for c in doc.clips(t.id):
            for n in doc.notes(c.id).values():
                notes.append((c.start + n.start, n.length, n.pitch, n.velocity, n.channel))
        tracks.append((t.name, t.instrument, sorted(notes), doc.sysex(t.id)))
    return {
        "tempo": doc.tempo_changes(),
        "meters": doc.time_signatures(),
        "markers": sorted((m.tick, m.name) for m in doc.markers().values()),
        "tracks": tracks,
    }


def test_export_then_import_keeps_everything() -> None:
    d = song()
    data, report = export_midi(d)
    assert report.notes == 29 and report.tracks == 2
    back, rep = import_midi(data, title="Round trip")
    assert musical(back) == musical(d)
    assert rep.sysex_kept == 1 and not back.can_undo()


note_st = st.builds(
    Note,
    pitch=st.integers(0, 127),
    start=st.integers(0, 20_000),
    length=st.integers(1, 5000),
    velocity=st.integers(1, 127),
    channel=st.just(0),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(note_st, max_size=30), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(1, 30_000), st.integers(30, 250)), max_size=4),
    st.sampled_from([0, 1]),
)
def test_pretty_midi_reads_what_we_write(tracks, tempos, midi_type) -> None:
    d = Document.new()
    for tick, bpm in tempos:
        d.set_tempo(tick, float(bpm))
    expected = []
    for i, notes in enumerate(tracks):
        ch = i if midi_type == 1 else 0
        t = d.add_track("midi", f"T{i}", instrument=Instrument(program=i * 10, channel=ch))
        c = d.add_midi_clip(t, 0, 30_000)
        d.add_notes(c, [Note(n.pitch, n.start, n.length, n.velocity, ch) for n in notes])
    # Expected from the document (FIFO pairing of overlapping equal pitches, as written).
    tm = d.tempo_map()
    for t in d.tracks():
        for c in d.clips(t.id):
            for n in d.notes(c.id).values():
                expected.append((n.pitch, n.velocity, tm.seconds_at_tick(n.start)))
    data, _ = export_midi(d, midi_type=midi_type)
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    got = [(n.pitch, n.velocity, n.start) for inst in pm.instruments for n in inst.notes]
    assert len(got) == len(expected)
    for x, y in zip(sorted(got), sorted(expected), strict=True):
        # MIDI stores whole microseconds per quarter: allow that rounding to add up.
        assert x[:2] == y[:2] and abs(x[2] - y[2]) < 1e-4, (x, y)
    if midi_type == 1:
        assert sorted(i.program for i in pm.instruments) == sorted(
            i * 10 for i, notes in enumerate(tracks) if notes
        )
    _, bpms = pm.get_tempo_changes()
    mine = [round(c.bpm, 3) for c in d.tempo_changes()]
    # pretty_midi leaves out a change to the tempo already in force.
    assert [round(b, 3) for b in bpms] == [
        b for i, b in enumerate(mine) if i == 0 or mine[i - 1] != b
    ]


def test_music21_reads_what_we_write(tmp_path: Path) -> None:
    d = song()
    data, _ = export_midi(d)
    path = tmp_path / "song.mid"
    path.write_bytes(data)
    score = music21.converter.parse(str(path), quantizePost=False)
    parts = list(score.parts)
    assert len(parts) == 2
    pitches = sorted(p.midi for n in parts[0].recurse().notes for p in n.pitches)
    piano = musical(d)["tracks"][0]
    assert pitches == sorted(n[2] for n in piano[2])
    # Channel 10 comes back as unpitched percussion, one per hit.
    assert len(list(parts[1].recurse().notes)) == 4
    ts = [(x.numerator, x.denominator) for x in score.recurse().getElementsByClass("TimeSignature")]
    assert (3, 4) in ts and (6, 8) in ts


def _pm_notes(pm: pretty_midi.PrettyMIDI, ppq: int) -> list[tuple[int, int, int, int]]:
    """Notes read by pretty_midi, as (start, end, pitch, velocity) in 960-PPQ ticks."""
    out = []
    for inst in pm.instruments:
        for n in inst.notes:
            s = pm.time_to_tick(n.start) * PPQ / ppq
            e = pm.time_to_tick(n.end) * PPQ / ppq
            out.append((round(s), round(e), n.pitch, n.velocity))
    return sorted(out)


def _tempo_map(mid: mido.MidiFile) -> list[tuple[float, int]]:
    """The tempo in force, from every track's set_tempo: (quarter notes, µs per quarter),
    with the 120 bpm default at 0 when the file has none there and repeats left out."""
    found: dict[float, int] = {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                found[tick / mid.ticks_per_beat] = msg.tempo
    out: list[tuple[float, int]] = []
    for q, tempo in sorted({0.0: 500000, **found}.items()):
        if not out or out[-1][1] != tempo:
            out.append((q, tempo))
    return out


@pytest.mark.filterwarnings("ignore:Tempo, Key or Time signature:RuntimeWarning")
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_files_go_in_and_out_unchanged(path: Path) -> None:
    original = mido.MidiFile(str(path))
    doc, report = import_midi(path)
    data, _ = export_midi(doc)
    ours = mido.MidiFile(file=io.BytesIO(data))
    # Tempo map: same tempi at the same places (up to the 960-PPQ grid).
    a, b = _tempo_map(original), _tempo_map(ours)
    assert [t for _, t in a] == [t for _, t in b]
    for (qa, _), (qb, _) in zip(a, b, strict=True):
        assert abs(qa - qb) <= 0.5 / PPQ
    # Notes, read by pretty_midi from both files.
    pa = pretty_midi.PrettyMIDI(str(path))
    pb = pretty_midi.PrettyMIDI(io.BytesIO(data))
    na, nb = _pm_notes(pa, original.ticks_per_beat), _pm_notes(pb, PPQ)
    assert len(na) == len(nb)
    for x, y in zip(na, nb, strict=True):
        assert x[2:] == y[2:] and abs(x[0] - y[0]) <= 1 and abs(x[1] - y[1]) <= 1, (x, y)
    assert report.notes >= len(na)


def test_type_0_export_holds_the_same_notes() -> None:
    d = song()
    one, _ = export_midi(d, midi_type=1)
    zero, _ = export_midi(d, midi_type=0)
    m0 = mido.MidiFile(file=io.BytesIO(zero))
    assert m0.type == 0 and len(m0.tracks) == 1
    p1, p0 = pretty_midi.PrettyMIDI(io.BytesIO(one)), pretty_midi.PrettyMIDI(io.BytesIO(zero))
    assert _pm_notes(p1, PPQ) == _pm_notes(p0, PPQ)
    back, _ = import_midi(zero)
    assert [t.instrument.channel for t in back.tracks()] == [0, 9]  # split by channel again


def test_written_files_use_running_status() -> None:
    d = Document.new()
    t = d.add_track("midi")
    c = d.add_midi_clip(t, 0, 960 * 64)
    d.add_notes(c, [Note(60, i * 960, 480) for i in range(64)])
    data, _ = export_midi(d)
    chunks = data.split(b"MTrk")
    note_track = chunks[-1]
    assert note_track.count(b"\x90") == 1  # 128 note events, one status byte


def _smf(track: bytes, fmt: int = 0, ppq: int = 480) -> bytes:
    return (
        b"MThd"
        + struct.pack(">IHHH", 6, fmt, 1, ppq)
        + b"MTrk"
        + struct.pack(">I", len(track))
        + track
    )


def test_running_status_input_is_read() -> None:
    # Hand-written: note-on C4, then (running status) note-on E4, then offs as velocity 0.
    body = bytes(
        [0x00, 0x90, 60, 100, 0x00, 64, 90, 0x83, 0x60, 60, 0, 0x00, 64, 0, 0x00, 0xFF, 0x2F, 0x00]
    )
    doc, _ = import_midi(_smf(body))
    (clip,) = doc.clips()
    notes = sorted((n.pitch, n.start, n.length, n.velocity) for n in doc.notes(clip.id).values())
    assert notes == [(60, 0, 960, 100), (64, 0, 960, 90)]


def test_sysex_kept_or_dropped_with_a_note() -> None:
    body = bytes(
        [
            0x00,
            0xF0,
            0x05,
            0x7E,
            0x7F,
            0x09,
            0x01,
            0xF7,
            0x00,
            0x90,
            60,
            100,
            0x60,
            0x80,
            60,
            0,
            0x00,
            0xFF,
            0x2F,
            0x00,
        ]
    )
    kept, rep = import_midi(_smf(body))
    (t,) = kept.tracks()
    assert kept.sysex(t.id) == [(0, bytes([0x7E, 0x7F, 0x09, 0x01]))]
    assert any("SysEx" in line for line in rep.summary())
    data, _ = export_midi(kept)
    assert any(m.type == "sysex" for tr in mido.MidiFile(file=io.BytesIO(data)).tracks for m in tr)
    dropped, rep2 = import_midi(_smf(body), keep_sysex=False)
    assert dropped.sysex(dropped.tracks()[0].id) == []
    assert any("SysEx" in line for line in rep2.summary())


@pytest.mark.parametrize("cut", [10, 20, 30])
def test_truncated_midi_gives_a_clear_error(cut: int) -> None:
    data, _ = export_midi(song())
    with pytest.raises(MidiFileError, match="truncated or corrupt"):
        import_midi(data[:cut])


def test_corrupt_midi_gives_a_clear_error() -> None:
    with pytest.raises(MidiFileError):
        import_midi(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xf9")
    with pytest.raises(MidiFileError, match="not a readable"):
        import_midi(b"RIFF....WAVEfmt ")


def _run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    convert_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["convert", *argv])
    return int(args.func(args))


def test_convert_midi_to_project_and_back(tmp_path: Path) -> None:
    src = tmp_path / "in.mid"
    src.write_bytes(export_midi(song())[0])
    assert _run_cli(str(src), str(tmp_path / "song.strumspace"), "--quiet") == 0
    project = open_project(tmp_path / "song.strumspace")
    assert musical(project.document)["tracks"] == musical(song())["tracks"]
    assert _run_cli(str(tmp_path / "song.strumspace"), str(tmp_path / "out.mid"), "--quiet") == 0
    a = pretty_midi.PrettyMIDI(str(src))
    b = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    assert _pm_notes(a, PPQ) == _pm_notes(b, PPQ)
    # OUT exists: refused without --force, nothing replaced.
    before = (tmp_path / "out.mid").read_bytes()
    assert (
        _run_cli(
            str(tmp_path / "song.strumspace"), str(tmp_path / "out.mid"), "--type", "0", "--quiet"
        )
        == 1
    )
    assert (tmp_path / "out.mid").read_bytes() == before


def test_convert_bad_input_changes_nothing(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(export_midi(song())[0][:25])
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _run_cli(str(bad), str(tmp_path / "x.strumspace")) == 1
    assert _run_cli(str(bad), str(tmp_path / "x.mid")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "truncated or corrupt" in capsys.readouterr().err


def test_strumspace_command_has_convert() -> None:
    from strumspace_desktop import cli

    args = cli.build_parser().parse_args(["convert", "a.mid", "b.strumspace"])
    assert args.func is convert_cli.run


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("work", ["bach/bwv66.6", "bach/bwv1.6", "airdsAirs/book1.abc"])
def test_corpus_scores_written_by_music21_round_trip(work: str, tmp_path: Path) -> None:
    """Scores from music21's corpus, written to MIDI by music21 itself (an independent
    writer), come in and go out with the same notes and tempo map."""
    score = music21.corpus.parse(work)
    if isinstance(score, music21.stream.Opus):
        score = score.scores[0]
    src = tmp_path / "m21.mid"
    score.write("midi", fp=str(src))
    doc, _ = import_midi(src)
    data, _ = export_midi(doc)
    original = mido.MidiFile(str(src))
    ours = mido.MidiFile(file=io.BytesIO(data))
    assert [t for _, t in _tempo_map(original)] == [t for _, t in _tempo_map(ours)]
    na = _pm_notes(pretty_midi.PrettyMIDI(str(src)), original.ticks_per_beat)
    nb = _pm_notes(pretty_midi.PrettyMIDI(io.BytesIO(data)), PPQ)
    assert na and na == nb

    # And music21 reads our file as it reads its own.
    def pitches(midi_bytes: bytes) -> list[int]:
        parsed = music21.converter.parse(midi_bytes, format="midi")
        return sorted(p.midi for n in parsed.recurse().notes for p in n.pitches)

    assert pitches(data) == pitches(src.read_bytes())


def test_the_first_key_signature_becomes_the_song_key_and_is_written_back() -> None:
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack([
        mido.MetaMessage("key_signature", key="F#m", time=0),
        mido.Message("note_on", note=66, velocity=80, time=0),
        mido.Message("note_off", note=66, velocity=0, time=480),
        mido.MetaMessage("key_signature", key="A", time=0),  # a later key change
    ])
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    doc, report = import_midi(buf.getvalue())
    assert doc.song_key() == (6, "minor")
    assert report.dropped["later key signatures"] == 1
    data, _ = export_midi(doc)
    keys = [m.key for t in mido.MidiFile(file=io.BytesIO(data)).tracks for m in t
            if m.type == "key_signature"]
    assert keys == ["F#m"]
    assert import_midi(data)[0].song_key() == (6, "minor")


@pytest.mark.parametrize("mode", ["major", "minor"])
def test_every_key_goes_out_and_in_as_a_key_signature(mode: str) -> None:
    for tonic in range(12):
        doc = Document.new()
        doc.set_song_key((tonic, mode))
        data, _ = export_midi(doc)
        (key,) = [m.key for t in mido.MidiFile(file=io.BytesIO(data)).tracks for m in t
                  if m.type == "key_signature"]
        assert len(key.rstrip("m")) <= 2  # a real key signature name (F#, Eb), no double sharps
        assert import_midi(data)[0].song_key() == (tonic, mode)
    assert not [m for t in mido.MidiFile(file=io.BytesIO(export_midi(Document.new())[0])).tracks
                for m in t if m.type == "key_signature"]  # no key set: none written
