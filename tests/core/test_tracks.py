"""Tests for strumspace_desktop.core.tracks: the track view over the song document."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strumspace_desktop.core.document import Document
from strumspace_desktop.core.document import Instrument as DocumentInstrument
from strumspace_desktop.core.gm import DRUM_BANK, DRUM_CHANNEL, Instrument
from strumspace_desktop.core.tracks import (
    MAX_MELODIC_TRACKS,
    MELODIC_CHANNELS,
    Change,
    Track,
    TrackLimitError,
    TrackList,
    db_to_volume,
    volume_to_db,
)

PIANO = Instrument.melodic(0)
BASS = Instrument.melodic(33)
KIT = Instrument.kit(0)


def test_melodic_tracks_get_distinct_channels_skipping_the_drum_channel() -> None:
    tl = TrackList()
    channels = [tl.add(f"t{i}", PIANO).channel for i in range(MAX_MELODIC_TRACKS)]
    assert MAX_MELODIC_TRACKS == 15
    assert channels == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]


def test_the_sixteenth_melodic_track_is_refused_with_a_clear_error() -> None:
    tl = TrackList()
    for i in range(15):
        tl.add(f"t{i}", PIANO)
    with pytest.raises(TrackLimitError, match="at most 15 instrument tracks"):
        tl.add("one too many", BASS)
    assert len(tl) == 15
    # Drum tracks share channel 9, so they still fit.
    assert tl.add("Drums", KIT).channel == DRUM_CHANNEL


def test_drum_tracks_share_channel_9() -> None:
    tl = TrackList()
    a = tl.add("Kit A", KIT)
    b = tl.add("Kit B", Instrument.kit(25))
    assert a.channel == b.channel == DRUM_CHANNEL


def test_a_removed_tracks_channel_is_reused() -> None:
    tl = TrackList()
    tl.add("a", PIANO)
    b = tl.add("b", PIANO)
    tl.add("c", PIANO)
    tl.remove(b.id)
    assert tl.add("d", PIANO).channel == b.channel


def test_switching_between_drums_and_melodic_moves_the_channel() -> None:
    tl = TrackList()
    t = tl.add("x", PIANO)
    t = tl.set_instrument(t.id, KIT)
    assert t.channel == DRUM_CHANNEL
    t = tl.set_instrument(t.id, BASS)
    assert t.channel == 0
    assert t.instrument == BASS


def test_switching_to_melodic_when_all_channels_are_taken_fails_and_keeps_the_track() -> None:
    tl = TrackList()
    for i in range(15):
        tl.add(f"t{i}", PIANO)
    d = tl.add("Drums", KIT)
    with pytest.raises(TrackLimitError):
        tl.set_instrument(d.id, PIANO)
    assert tl.get(d.id).instrument == KIT


def test_mute_and_solo_rules() -> None:
    tl = TrackList()
    a = tl.add("a", PIANO, volume=0.5)
    b = tl.add("b", BASS, volume=1.0)
    d = tl.add("d", KIT, volume=0.7)
    gains = tl.channel_gains()
    assert (gains[a.channel], gains[b.channel], gains[DRUM_CHANNEL]) == (0.5, 1.0, 0.7)
    tl.set_mute(a.id, True)
    assert tl.channel_gains()[a.channel] == 0.0
    tl.set_solo(b.id, True)  # only b sounds
    gains = tl.channel_gains()
    assert (gains[a.channel], gains[b.channel], gains[DRUM_CHANNEL]) == (0.0, 1.0, 0.0)
    tl.set_solo(d.id, True)  # b and d sound
    assert tl.channel_gains()[DRUM_CHANNEL] == 0.7
    tl.set_mute(b.id, True)  # mute wins over solo
    assert tl.channel_gains()[b.channel] == 0.0
    tl.set_solo(b.id, False)
    tl.set_solo(d.id, False)
    tl.set_mute(a.id, False)
    assert tl.channel_gains()[a.channel] == 0.5


def test_unused_channels_are_silent_and_shared_drum_channel_takes_the_loudest() -> None:
    tl = TrackList()
    tl.add("k1", KIT, volume=0.3)
    k2 = tl.add("k2", KIT, volume=0.9)
    gains = tl.channel_gains()
    assert gains[DRUM_CHANNEL] == 0.9
    assert [g for c, g in enumerate(gains) if c != DRUM_CHANNEL] == [0.0] * 15
    tl.set_mute(k2.id, True)
    assert tl.channel_gains()[DRUM_CHANNEL] == 0.3


def test_volume_is_clamped_and_must_be_a_number() -> None:
    tl = TrackList()
    t = tl.add("a", PIANO)
    assert tl.set_volume(t.id, 1.7).volume == 1.0
    assert tl.set_volume(t.id, -0.2).volume == 0.0
    with pytest.raises(ValueError):
        tl.set_volume(t.id, float("nan"))


def test_observers_see_each_change_once_and_can_unsubscribe() -> None:
    tl = TrackList()
    seen: list[tuple[Change, Track | None]] = []
    unsubscribe = tl.subscribe(lambda c, t: seen.append((c, t)))
    a = tl.add("a", PIANO)
    assert [c for c, _ in seen] == [Change.ADDED, Change.SELECTED]
    assert seen[1][1] == a
    seen.clear()
    tl.set_mute(a.id, True)
    tl.set_mute(a.id, True)  # no change, no notification
    assert seen == [(Change.CHANGED, tl.get(a.id))]
    seen.clear()
    unsubscribe()
    tl.set_volume(a.id, 0.1)
    assert seen == []


def test_selection_follows_adds_and_removals() -> None:
    tl = TrackList()
    assert tl.selected is None
    a = tl.add("a", PIANO)
    b = tl.add("b", BASS, select=False)
    assert tl.selected == a
    c = tl.add("c", KIT)
    assert tl.selected == c
    tl.select(b.id)
    tl.remove(b.id)  # the track that moved into its place is selected
    assert tl.selected == tl.get(c.id)
    tl.remove(c.id)
    assert tl.selected == tl.get(a.id)
    tl.remove(a.id)
    assert tl.selected is None
    with pytest.raises(KeyError):
        tl.select(a.id)


def test_the_drum_channel_plays_the_selected_drum_kit() -> None:
    tl = TrackList()
    p = tl.add("p", PIANO)
    tl.add("std", KIT)
    jazz = tl.add("jazz", Instrument.kit(32), select=False)
    tl.select(p.id)
    assert tl.channel_instruments() == {0: PIANO, DRUM_CHANNEL: KIT}
    tl.select(jazz.id)
    assert tl.channel_instruments()[DRUM_CHANNEL] == Instrument.kit(32)


def test_empty_names_fall_back_to_the_instrument_name() -> None:
    tl = TrackList()
    t = tl.add("  ", BASS)
    assert t.name == "Electric Bass (finger)"
    assert tl.rename(t.id, "").name == "Electric Bass (finger)"
    assert tl.rename(t.id, " Bass ").name == "Bass"


ops = st.lists(st.tuples(st.sampled_from(["add", "drum", "audio", "chord", "remove", "mute",
                                          "solo"]),
                         st.integers(0, 20)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_channels_stay_unique_and_gains_follow_the_rules(steps: list[tuple[str, int]]) -> None:
    tl = TrackList()
    for op, n in steps:
        ids = [t.id for t in tl.tracks]
        if op == "add":
            try:
                tl.add("m", PIANO)
            except TrackLimitError:
                assert tl.melodic_count() == 15
        elif op == "drum":
            tl.add("d", KIT)
        elif op == "audio":
            tl.add_audio("a", select=n % 2 == 0)
        elif op == "chord":
            try:
                tl.add_chord()
            except TrackLimitError:
                assert tl.chord_track() is not None
        elif ids and op == "remove":
            tl.remove(ids[n % len(ids)])
        elif ids and op == "mute":
            tl.set_mute(ids[n % len(ids)], n % 2 == 0)
        elif ids and op == "solo":
            tl.set_solo(ids[n % len(ids)], n % 2 == 0)
    melodic = [t.channel for t in tl.tracks if t.is_midi and not t.drums]
    assert len(melodic) == len(set(melodic))
    assert DRUM_CHANNEL not in melodic
    assert all(t.channel == DRUM_CHANNEL for t in tl.tracks if t.drums)
    assert all(t.channel is None for t in tl.tracks if not t.is_midi)
    assert sum(t.kind == "chord" for t in tl.tracks) <= 1
    soloing = any(t.solo for t in tl.tracks if t.kind != "chord")  # chords make no sound
    gains = tl.channel_gains()
    for t in tl.tracks:
        audible = not t.mute and (t.solo or not soloing)
        if t.is_midi and not t.drums:
            assert t.channel is not None
            assert gains[t.channel] == (t.volume if audible else 0.0)
    assert (tl.selected is None) == (len(tl) == 0)
    live = tl.live
    assert (live is None) == (not tl.midi_tracks)
    if tl.selected is not None and tl.selected.is_midi:
        assert live == tl.selected


# The document is the source of truth ------------------------------------------------


def test_edits_are_written_to_the_document() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    t = tl.add("Lead", Instrument.melodic(40), volume=0.5)
    kit = tl.add("Kit", Instrument.kit(25))
    tl.set_mute(t.id, True)
    tl.set_solo(kit.id, True)
    tl.rename(t.id, "Violin")
    stored = doc.track(t.id)
    assert (stored.kind, stored.name) == ("midi", "Violin")
    assert stored.instrument == DocumentInstrument(40, 0, 0)
    assert stored.mixer.mute and not stored.mixer.solo
    assert stored.mixer.volume_db == pytest.approx(-6.0206, abs=1e-4)
    assert doc.track(kit.id).instrument == DocumentInstrument(25, DRUM_BANK, DRUM_CHANNEL)
    assert doc.track(kit.id).mixer.solo
    tl.remove(kit.id)
    assert doc.track_ids() == [t.id]


def test_volume_mapping_fader_gain_to_decibels_and_back() -> None:
    assert volume_to_db(1.0) == 0.0
    assert volume_to_db(0.0) == -200.0  # the schema's floor stands for silence
    assert db_to_volume(-200.0) == 0.0
    assert db_to_volume(12.0) == 1.0  # no boost on the fader
    for step in range(101):
        assert db_to_volume(volume_to_db(step / 100)) == step / 100


def test_undo_and_redo_reach_the_observers() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    a = tl.add("a", PIANO)
    doc.clear_undo_history()
    seen: list[tuple[Change, Track | None]] = []
    tl.subscribe(lambda c, t: seen.append((c, t)))
    b = tl.add("b", BASS)
    tl.set_mute(a.id, True)
    seen.clear()
    assert doc.undo()  # the mute
    assert seen == [(Change.CHANGED, tl.get(a.id))] and not tl.get(a.id).mute
    seen.clear()
    assert doc.undo()  # the add: b goes, and the selection falls back to a
    assert [c for c, _ in seen] == [Change.REMOVED, Change.SELECTED]
    assert tl.selected == tl.get(a.id)
    seen.clear()
    assert doc.redo()
    assert [c for c, _ in seen] == [Change.ADDED]
    assert tl.get(b.id).channel == b.channel


def test_a_fader_drag_is_one_undo_step() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    t = tl.add("a", PIANO, volume=0.8)
    doc.clear_undo_history()
    tl.begin_undo_group()
    for v in (0.7, 0.5, 0.3, 0.1):
        tl.set_volume(t.id, v)
    tl.end_undo_group()
    assert doc.undo_depth == 1
    doc.undo()
    assert tl.get(t.id).volume == 0.8


def test_remote_updates_reach_the_observers() -> None:
    mine, theirs = Document.new(), Document.new()
    theirs.apply_update(mine.state())
    tl = TrackList(mine)
    seen: list[Change] = []
    tl.subscribe(lambda c, t: seen.append(c))
    partner = TrackList(theirs)
    t = partner.add("From a partner", BASS)
    mine.apply_update(theirs.update_since(mine.state_vector()))
    assert seen == [Change.ADDED, Change.SELECTED]
    assert tl.get(t.id).name == "From a partner"
    assert not mine.can_undo()  # a partner's edit is never undone by me


def test_set_document_swaps_the_tracks_and_selects_the_first() -> None:
    tl = TrackList()
    old = tl.add("old", PIANO)
    other = Document.new()
    TrackList(other).add("new one", Instrument.kit(0))
    seen: list[Change] = []
    tl.subscribe(lambda c, t: seen.append(c))
    tl.set_document(other)
    assert seen == [Change.REMOVED, Change.ADDED, Change.SELECTED]
    assert [t.name for t in tl.tracks] == ["new one"]
    assert tl.selected is not None and tl.selected.channel == DRUM_CHANNEL
    with pytest.raises(KeyError):
        tl.get(old.id)


def test_tracks_from_an_imported_file_show_drums_on_channel_9() -> None:
    doc = Document.new()
    doc.add_track("midi", "GM drums", instrument=DocumentInstrument(0, 0, DRUM_CHANNEL))
    doc.add_track("audio", "Vocals")  # listed, but it plays no synth channel
    doc.add_track("midi", "Odd kit", instrument=DocumentInstrument(99, DRUM_BANK, 9))
    tl = TrackList(doc)
    assert [(t.name, t.kind, t.instrument, t.channel) for t in tl.tracks] == [
        ("GM drums", "midi", KIT, DRUM_CHANNEL), ("Vocals", "audio", None, None),
        ("Odd kit", "midi", KIT, DRUM_CHANNEL)]


# Audio and chord tracks -----------------------------------------------------------------


def test_every_kind_is_listed_in_document_order() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    tl.add("Piano", PIANO)
    vox = tl.add_audio("Vocals")
    chords = tl.add_chord()
    tl.add("Bass", BASS)
    doc.add_track("audio", "Imported", order=-5.0)  # as an import placing it first
    assert [(t.name, t.kind) for t in tl.tracks] == [
        ("Imported", "audio"), ("Piano", "midi"), ("Vocals", "audio"), ("Chords", "chord"),
        ("Bass", "midi")]
    assert [t.name for t in tl.midi_tracks] == ["Piano", "Bass"]
    assert (vox.instrument, vox.channel, vox.volume) == (None, None, 1.0)
    assert tl.chord_track() == chords and chords.name == "Chords"
    assert doc.track(vox.id).kind == "audio" and doc.track(chords.id).kind == "chord"


def test_audio_and_chord_tracks_take_no_synth_channel() -> None:
    tl = TrackList()
    for i in range(10):
        tl.add_audio(f"a{i}")
    tl.add_chord()
    channels = [tl.add(f"t{i}", PIANO).channel for i in range(MAX_MELODIC_TRACKS)]
    assert channels == list(MELODIC_CHANNELS)
    with pytest.raises(TrackLimitError, match="at most 15 instrument tracks"):
        tl.add("one too many", BASS)
    assert tl.melodic_count() == 15 and len(tl) == 26
    assert set(tl.channel_instruments()) == set(MELODIC_CHANNELS)
    with pytest.raises(ValueError, match="no instrument"):
        tl.set_instrument(tl.tracks[0].id, PIANO)


def test_a_song_has_one_chord_track() -> None:
    tl = TrackList()
    first = tl.add_chord("Changes")
    with pytest.raises(TrackLimitError, match="already has a chord track \\(Changes\\)"):
        tl.add_chord()
    tl.remove(first.id)
    assert tl.add_chord().name == "Chords"


def test_rename_mute_solo_and_volume_work_for_audio_tracks() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    piano = tl.add("Piano", PIANO, volume=1.0)
    vox = tl.add_audio("")
    assert vox.name == "Audio"
    assert tl.rename(vox.id, "Lead Vocal").name == "Lead Vocal"
    tl.set_volume(vox.id, 0.5)
    assert doc.track(vox.id).mixer.volume_db == pytest.approx(-6.0206, abs=1e-4)
    tl.set_solo(vox.id, True)  # a soloed audio track silences the unsoloed synths
    assert tl.channel_gains()[piano.channel or 0] == 0.0
    tl.set_solo(vox.id, False)
    tl.set_mute(vox.id, True)
    assert tl.channel_gains()[piano.channel or 0] == 1.0 and doc.track(vox.id).mixer.mute


def test_live_midi_keeps_the_last_selected_midi_track_while_audio_is_selected() -> None:
    tl = TrackList()
    piano = tl.add("Piano", PIANO)
    kit = tl.add("Kit", Instrument.kit(32))
    assert tl.live == kit
    vox = tl.add_audio("Vocals")  # selected, to arm it
    assert tl.selected == vox and tl.live == kit
    assert tl.channel_instruments()[DRUM_CHANNEL] == Instrument.kit(32)
    chords = tl.add_chord()
    assert tl.selected == chords and tl.live == kit
    tl.select(piano.id)
    tl.select(vox.id)
    assert tl.live == piano
    tl.remove(piano.id)  # the live track is gone: the first MIDI track plays
    assert tl.live == kit
    tl.remove(kit.id)
    assert tl.live is None and tl.selected is not None


def test_a_loaded_song_selects_its_first_midi_track() -> None:
    doc = Document.new()
    doc.add_track("audio", "Drums loop")
    doc.add_track("chord", "Chords")
    keys = doc.add_track("midi", "Keys", instrument=DocumentInstrument(4, 0, 0))
    tl = TrackList()
    tl.set_document(doc)
    assert tl.selected is not None and tl.selected.id == keys
    only_audio = Document.new()
    only_audio.add_track("audio", "Take")
    tl.set_document(only_audio)
    assert tl.selected is not None and tl.selected.kind == "audio" and tl.live is None


def test_adding_audio_and_chord_tracks_is_undoable_and_observed() -> None:
    doc = Document.new()
    tl = TrackList(doc)
    tl.add("Piano", PIANO)
    doc.clear_undo_history()
    seen: list[tuple[Change, Track | None]] = []
    tl.subscribe(lambda c, t: seen.append((c, t)))
    vox = tl.add_audio("Vocals")
    chords = tl.add_chord()
    assert [c for c, _ in seen] == [Change.ADDED, Change.SELECTED] * 2
    assert seen[0][1] == vox and seen[3][1] == chords
    assert doc.undo() and doc.undo()
    assert [t.kind for t in tl.tracks] == ["midi"]
    assert tl.selected is not None and tl.selected.name == "Piano"
    assert doc.redo() and doc.redo()
    assert [(t.name, t.kind) for t in tl.tracks] == [
        ("Piano", "midi"), ("Vocals", "audio"), ("Chords", "chord")]
    tl.remove(vox.id)
    assert doc.undo()
    assert tl.get(vox.id).kind == "audio" and tl.index_of(vox.id) == 1
