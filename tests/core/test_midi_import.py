"""A MIDI file into the open project: tracks and clips added at a tick as one undo
step, on free synth channels; bad files and full songs change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.document.smf import export_midi
from strumspace_desktop.core.midi_import import MidiImportError, import_midi_into
from strumspace_desktop.core.timing import PPQ


def _song_file(tmp_path: Path, bpm: float = 90.0) -> Path:
    src = Document.new("file")
    src.set_song_key((7, "major"))
    src.set_tempo(0, bpm)
    src.set_time_signature(0, 3, 4)
    keys = src.add_track("midi", "Keys", instrument=Instrument(4, 0, 0))
    c = src.add_midi_clip(keys, 0, PPQ * 4)
    src.add_notes(c, [Note(60, 0, PPQ), Note(64, PPQ, PPQ)])
    drums = src.add_track("midi", "Drums", instrument=Instrument(0, 0, 9))
    d = src.add_midi_clip(drums, 0, PPQ * 4)
    src.add_notes(d, [Note(36, 0, PPQ // 2, channel=9)])
    src.add_marker(PPQ, "Verse")
    data, _ = export_midi(src)
    path = tmp_path / "song.mid"
    path.write_bytes(data)
    return path


def test_into_an_empty_song_adopts_its_tempo(tmp_path: Path) -> None:
    doc = Document.new()
    piano = doc.add_track("midi", "Piano", instrument=Instrument(0, 0, 0))
    report = import_midi_into(doc, _song_file(tmp_path))
    assert report.tempo_adopted
    assert doc.tempo_changes()[0].bpm == pytest.approx(90.0, abs=0.01)
    assert (doc.time_signatures()[0].numerator, doc.time_signatures()[0].denominator) == (3, 4)
    keys, drums = (doc.track(t) for t in report.track_ids)
    # Channel 0 belongs to Piano already: Keys moves to a free one, with its notes.
    assert keys.instrument.channel not in (0, 9) and keys.instrument.program == 4
    assert drums.instrument.channel == 9
    [clip] = doc.clips(keys.id)
    assert {n.channel for n in doc.notes(clip.id).values()} == {keys.instrument.channel}
    assert sorted(n.pitch for n in doc.notes(clip.id).values()) == [60, 64]
    assert [m.name for m in doc.markers().values()] == ["Verse"]
    assert report.notes == 3 and doc.clips(piano) == []
    assert doc.song_key() == (7, "major")  # the file's key signature, with its tempo
    assert doc.undo()  # one step takes it all back
    assert [t.name for t in doc.tracks()] == ["Piano"] and doc.markers() == {}
    assert doc.song_key() is None
    doc.set_song_key((0, "minor"))  # a key set by hand is not replaced by a file's
    import_midi_into(doc, _song_file(tmp_path))
    assert doc.song_key() == (0, "minor")


def test_at_a_tick_in_a_song_keeps_the_songs_tempo(tmp_path: Path) -> None:
    doc = Document.new(bpm=128.0)
    t = doc.add_track("midi", "Lead")
    doc.add_midi_clip(t, 0, PPQ)
    report = import_midi_into(doc, _song_file(tmp_path), tick=PPQ * 8)
    assert not report.tempo_adopted
    assert doc.tempo_changes()[0].bpm == 128.0 and doc.song_key() is None
    assert any("keeps its own" in m for m in report.messages)
    assert [c.start for c in doc.clips(report.track_ids[0])] == [PPQ * 8]
    assert [m.tick for m in doc.markers().values()] == [PPQ * 9]


def test_bad_files_and_full_songs_change_nothing(tmp_path: Path) -> None:
    doc = Document.new()
    for ch in range(16):
        if ch != 9:
            doc.add_track("midi", f"T{ch}", instrument=Instrument(0, 0, ch))
    before = doc.state()
    with pytest.raises(MidiImportError, match="0 synth channel"):
        import_midi_into(doc, _song_file(tmp_path))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(_song_file(tmp_path).read_bytes()[:30])
    with pytest.raises(MidiImportError, match=r"bad\.mid"):
        import_midi_into(doc, bad)
    assert doc.state() == before
