"""The document API, merge semantics, schema versions and migrations."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from strumspace_desktop.core.document import (
    AudioRegion,
    ChordItem,
    Document,
    DocumentError,
    Instrument,
    MidiClip,
    Mixer,
    Note,
    ReadOnlyError,
    SchemaError,
)
from strumspace_desktop.core.document import schema as S
from strumspace_desktop.core.timing import TempoChange

BLOB = "ab" * 32


def sync(a: Document, b: Document) -> None:
    """Exchange what each lacks, in both directions."""
    ua = a.update_since(b.state_vector())
    ub = b.update_since(a.state_vector())
    b.apply_update(ua)
    a.apply_update(ub)


def test_new_document_has_defaults() -> None:
    d = Document.new("Song", bpm=90)
    assert d.title == "Song"
    assert d.schema_version == S.SCHEMA_VERSION
    assert d.tempo_changes() == [TempoChange(0, 90.0)]
    assert [(t.tick, t.numerator, t.denominator) for t in d.time_signatures()] == [(0, 4, 4)]
    assert d.tracks() == [] and d.clips() == []
    assert not d.read_only
    assert not d.can_undo()  # creating the document is not an edit


def test_tracks_clips_notes_round_trip() -> None:
    d = Document.new()
    t = d.add_track("midi", "Keys", instrument=Instrument(5, 3, 2), mixer=Mixer(-6.0, 0.5))
    c = d.add_midi_clip(t, 960, 3840, "A")
    ids = d.add_notes(c, [Note(60, 0, 480), Note(62, 480, 480, 64, 2)])
    track = d.track(t)
    assert (track.kind, track.name, track.instrument, track.mixer) == (
        "midi",
        "Keys",
        Instrument(5, 3, 2),
        Mixer(-6.0, 0.5),
    )
    assert d.clip(c) == MidiClip(c, t, 960, 3840, "A")
    assert d.notes(c) == {ids[0]: Note(60, 0, 480), ids[1]: Note(62, 480, 480, 64, 2)}
    assert d.update_note(c, ids[0], pitch=61, length=240) == Note(61, 0, 240)
    d.remove_note(c, ids[1])
    assert list(d.notes(c)) == [ids[0]]
    assert d.note_count() == 1


def test_audio_region_and_chords() -> None:
    d = Document.new()
    a = d.add_track("audio", "Gtr")
    r = d.add_audio_region(a, BLOB, 0, 1920, offset=10, gain_db=-3, fade_in=5, fade_out=6)
    assert d.clip(r) == AudioRegion(r, a, 0, 1920, BLOB, 10, -3.0, 5, 6, "")
    d.update_clip(r, gain_db=1.5, fade_out=100)
    assert d.clip(r) == AudioRegion(r, a, 0, 1920, BLOB, 10, 1.5, 5, 100, "")
    ch = d.add_track("chord", "Chords")
    item = ChordItem(0, 960, "C:maj7", 0, 0.75, "recognized")
    cid = d.add_chord(ch, item)
    assert d.chords(ch) == {cid: item}
    d.set_chord(ch, cid, ChordItem(0, 1920, "C:maj7/3", 4, 1.0, "played"))
    assert d.chords(ch)[cid].end == 1920


@pytest.mark.parametrize(
    "call",
    [
        lambda d, t, c: d.add_note(c, Note(128, 0, 1)),
        lambda d, t, c: Note(60, -1, 1),
        lambda d, t, c: Note(60, 0, 1, velocity=0),
        lambda d, t, c: d.add_midi_clip("nope", 0, 1),
        lambda d, t, c: d.add_audio_region(t, BLOB, 0, 10),  # MIDI track
        lambda d, t, c: d.set_tempo(0, 500.0),
        lambda d, t, c: d.set_time_signature(0, 3, 3),
        lambda d, t, c: d.remove_tempo(0),
        lambda d, t, c: d.update_clip(c, gain_db=1.0),  # not audio
        lambda d, t, c: d.set_mixer(t, pan=2.0),
        lambda d, t, c: ChordItem(0, 10, "C:maj", source="dreamed"),  # type: ignore[arg-type]
        lambda d, t, c: d.update_note(c, "missing", pitch=1),
        lambda d, t, c: d.set_loop(start=100, end=50),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(call) -> None:
    d = Document.new()
    t = d.add_track("midi")
    c = d.add_midi_clip(t, 0, 100)
    before = d.state_vector()
    with pytest.raises(DocumentError):
        call(d, t, c)
    assert d.state_vector() == before


def test_each_session_has_a_fresh_client_id() -> None:
    d = Document.new()
    first = d.add_track("midi")
    reopened = Document.from_state(d.state())
    assert reopened.client_id != d.client_id
    second = reopened.add_track("midi")
    assert first.split(".")[0] != second.split(".")[0]
    assert reopened.ydoc.client_id == reopened.client_id


def test_concurrent_edits_of_different_fields_all_survive() -> None:
    a = Document.new()
    t = a.add_track("midi", "Old")
    c = a.add_midi_clip(t, 0, 960)
    n1, n2 = a.add_notes(c, [Note(60, 0, 10), Note(62, 0, 10)])
    b = Document.from_state(a.state())
    a.update_track(t, name="New")
    b.set_mixer(t, volume_db=-12.0)
    a.update_clip(c, start=480)
    b.update_clip(c, name="Riff")
    a.update_note(c, n1, pitch=48)
    b.update_note(c, n2, velocity=20)
    a.set_tempo(960, 140)
    b.set_time_signature(960, 3, 4)
    sync(a, b)
    for d in (a, b):
        assert d.track(t).name == "New" and d.track(t).mixer.volume_db == -12.0
        assert d.clip(c) == MidiClip(c, t, 480, 960, "Riff")
        assert d.notes(c)[n1].pitch == 48 and d.notes(c)[n2].velocity == 20
        assert [x.tick for x in d.tempo_changes()] == [0, 960]
        assert [x.tick for x in d.time_signatures()] == [0, 960]
    assert a.snapshot() == b.snapshot()


def test_concurrent_writes_to_one_field_resolve_identically() -> None:
    a = Document.new()
    t = a.add_track("midi", "X")
    b = Document.from_state(a.state())
    a.update_track(t, name="from a")
    b.update_track(t, name="from b")
    a.set_tempo(0, 100)
    b.set_tempo(0, 150)
    sync(a, b)
    assert a.track(t).name == b.track(t).name
    assert a.track(t).name in ("from a", "from b")
    assert a.tempo_changes() == b.tempo_changes()


def test_clip_added_to_a_concurrently_deleted_track_is_ignored() -> None:
    a = Document.new()
    t = a.add_track("midi")
    b = Document.from_state(a.state())
    a.remove_track(t)
    b.add_midi_clip(t, 0, 960)
    sync(a, b)
    assert a.tracks() == b.tracks() == []
    assert a.clips() == b.clips() == []


def test_subscribe_reports_what_changed() -> None:
    d = Document.new()
    t = d.add_track("midi")
    c = d.add_midi_clip(t, 0, 960)
    seen = []
    unsubscribe = d.subscribe(seen.append)
    d.add_note(c, Note(60, 0, 1))
    d.set_mixer(t, mute=True)
    d.set_tempo(0, 99)
    assert seen[0].clips == {c} and seen[0].local
    assert seen[1].tracks == {t}
    assert seen[2].tempo
    other = Document.from_state(d.state())
    other.set_loop(end=960)
    d.apply_update(other.update_since(d.state_vector()))
    assert seen[-1].meta and not seen[-1].local
    unsubscribe()
    d.set_title("quiet")
    assert not seen[-1].clips and seen[-1].meta and len(seen) == 4


def test_move_track_writes_only_order() -> None:
    d = Document.new()
    ids = [d.add_track("midi", str(i)) for i in range(4)]
    d.move_track(ids[3], 1)
    assert d.track_ids() == [ids[0], ids[3], ids[1], ids[2]]
    d.move_track(ids[0], 3)
    assert d.track_ids() == [ids[3], ids[1], ids[2], ids[0]]


def test_remove_track_removes_its_clips_in_one_undo_step() -> None:
    d = Document.new()
    t = d.add_track("midi")
    c = d.add_midi_clip(t, 0, 10)
    d.add_note(c, Note(1, 0, 1))
    d.remove_track(t)
    assert d.clips() == []
    d.undo()
    assert d.notes(c) == {next(iter(d.notes(c))): Note(1, 0, 1)}


def test_legacy_document_is_migrated_and_migration_is_idempotent() -> None:
    ydoc: Doc = Doc()
    tracks = ydoc.get(S.ROOT_TRACKS, type=Map)
    clips = ydoc.get(S.ROOT_CLIPS, type=Map)
    tracks["t"] = Map({S.TRACK_NAME: "bare"})
    clips["c"] = Map({S.CLIP_TRACK: "t", S.CLIP_START: 0, S.CLIP_LENGTH: 10})
    assert S.schema_version(ydoc) == 0
    assert S.migrate(ydoc) == [0, 1]
    once = ydoc.get(S.ROOT_META, type=Map).to_py(), tracks.to_py(), clips.to_py()
    S._migrate_0_to_1(ydoc)  # running them again changes nothing
    S._migrate_1_to_2(ydoc)
    assert S.migrate(ydoc) == []
    assert (ydoc.get(S.ROOT_META, type=Map).to_py(), tracks.to_py(), clips.to_py()) == once
    d = Document(ydoc)
    assert d.track("t").kind == "midi" and d.notes("c") == {}
    assert d.tempo_changes() == [TempoChange(0, 120.0)]


def test_concurrent_migrations_converge() -> None:
    ydoc: Doc = Doc()
    ydoc.get(S.ROOT_TRACKS, type=Map)["t"] = Map({S.TRACK_NAME: "bare"})
    state = ydoc.get_update()
    a, b = Document.from_state(state), Document.from_state(state)  # each migrates
    sync(a, b)
    assert a.snapshot() == b.snapshot() and a.schema_version == S.SCHEMA_VERSION


def test_newer_schema_opens_read_only() -> None:
    d = Document.new()
    ydoc = d.ydoc
    ydoc.get(S.ROOT_META, type=Map)[S.META_SCHEMA_VERSION] = S.SCHEMA_VERSION + 1
    newer = Document.from_state(d.state())
    assert newer.read_only and "newer" in newer.read_only_reason
    before = newer.state()
    with pytest.raises(ReadOnlyError):
        newer.add_track("midi")
    with pytest.raises(ReadOnlyError):
        newer.undo()
    assert newer.state() == before
    assert newer.schema_version == S.SCHEMA_VERSION + 1  # not "migrated" backwards


def test_empty_update_opens_as_a_blank_song() -> None:
    assert Document.from_state(b"\x00\x00").schema_version == S.SCHEMA_VERSION


@pytest.mark.parametrize("data", [b"", b"\x00\x01garbage", b"\xff" * 50])
def test_garbage_state_is_a_schema_error(data: bytes) -> None:
    with pytest.raises(SchemaError):
        Document.from_state(data)


def test_truncated_state_is_a_schema_error() -> None:
    d = Document.new()
    t = d.add_track("midi", "x" * 50)
    d.add_notes(d.add_midi_clip(t, 0, 10), [Note(60, i, 1) for i in range(50)])
    state = d.state()
    for cut in (1, len(state) // 3, len(state) // 2, len(state) - 1):
        with pytest.raises(SchemaError):
            Document.from_state(state[:cut])


def test_time_signature_map_counts_bars() -> None:
    d = Document.new()
    d.set_time_signature(3840 * 2, 3, 4)  # after two bars of 4/4
    d.set_time_signature(3840 * 2 + 2880 * 3 + 100, 6, 8)  # mid-bar: from the next bar
    tsm = d.time_signature_map()
    assert [(c.bar, c.numerator, c.denominator) for c in tsm.changes] == [
        (0, 4, 4),
        (2, 3, 4),
        (6, 6, 8),
    ]
    assert tsm.bar_start_tick(2) == 7680 and tsm.bar_start_tick(6) == 7680 + 4 * 2880


def test_the_song_key_is_set_undone_saved_and_merged() -> None:
    d = Document.new("Song")
    assert d.song_key() is None
    d.set_song_key((9, "minor"))
    assert d.song_key() == (9, "minor") and d.song_key().mode == "minor"
    assert Document.from_state(d.state()).song_key() == (9, "minor")  # saved with the song
    d.undo()
    assert d.song_key() is None
    d.redo()
    d.set_song_key(None)
    assert d.song_key() is None
    d.undo()
    assert d.song_key() == (9, "minor")
    # A partner's key arrives like any other edit, and is not on my undo stack.
    partner = Document.from_state(d.state())
    partner.set_song_key((2, "major"))
    sync(d, partner)
    assert d.song_key() == (2, "major")
    for bad in [(12, "major"), (-1, "minor"), (True, "major"), (0, "dorian"), (0, "")]:
        with pytest.raises(DocumentError):
            d.set_song_key(bad)
    assert d.song_key() == (2, "major")


@pytest.mark.parametrize("value", ["A minor", {"tonic": 13, "mode": "major"},
                                   {"tonic": 1.5, "mode": "minor"}, {"mode": "major"},
                                   {"tonic": 3, "mode": "lydian"}, 7])
def test_a_foreign_key_value_reads_as_no_key(value: object) -> None:
    d = Document.new()
    with d.ydoc.transaction():
        d.ydoc.get(S.ROOT_META, type=Map)[S.META_KEY] = value
    assert d.song_key() is None
