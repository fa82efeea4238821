"""Playback compilation: document -> sorted event arrays per track."""

from __future__ import annotations

import numpy as np
from doc_ops import apply, base_document, ops_strategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strumspace_desktop.core.document import BlobInfo, Document, Instrument, Note
from strumspace_desktop.core.document.compile import (
    EV_CONTROL,
    EV_NOTE_OFF,
    EV_NOTE_ON,
    EV_PROGRAM,
    PlaybackCompiler,
    TickConverter,
    compile_document,
)
from strumspace_desktop.core.timing import TempoChange, TempoMap

SR = 48000
BLOB = "ef" * 32


def _song() -> tuple[Document, str, str]:
    d = Document.new()
    t = d.add_track("midi", "Keys", instrument=Instrument(program=33, bank=130, channel=2))
    c = d.add_midi_clip(t, 960, 1920)
    return d, t, c


def test_notes_become_sorted_on_and_off_events() -> None:
    d, t, c = _song()
    d.add_notes(c, [Note(64, 480, 480, 90, 2), Note(60, 0, 480, 100, 2), Note(62, 0, 960, 80, 2)])
    song = compile_document(d, SR)
    ev = song.tracks[t].events
    assert list(ev["type"][:3]) == [EV_CONTROL, EV_CONTROL, EV_PROGRAM]
    assert list(ev["data1"][:3]) == [0, 32, 33] and list(ev["data2"][:2]) == [1, 2]
    notes = ev[3:]
    assert list(zip(notes["tick"], notes["type"], notes["data1"], strict=True)) == [
        (960, EV_NOTE_ON, 60),
        (960, EV_NOTE_ON, 62),
        (1440, EV_NOTE_OFF, 60),
        (1440, EV_NOTE_ON, 64),  # off before on at one instant
        (1920, EV_NOTE_OFF, 62),
        (1920, EV_NOTE_OFF, 64),
    ]
    assert set(notes["channel"]) == {2}
    assert notes["data2"][0] == 100
    # 120 bpm: a quarter (960 ticks) is half a second.
    assert notes["sample"][0] == SR // 2


def test_notes_are_cut_at_the_clip_end_and_silent_after_it() -> None:
    d, t, c = _song()
    d.add_notes(c, [Note(60, 1800, 500), Note(61, 1920, 10), Note(62, 5, 0)])
    ev = compile_document(d, SR).tracks[t].events
    notes = ev[ev["type"] >= EV_NOTE_OFF]
    notes = notes[(notes["type"] == EV_NOTE_ON) | (notes["type"] == EV_NOTE_OFF)]
    assert list(zip(notes["tick"], notes["data1"], strict=True)) == [(2760, 60), (2880, 60)]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 200_000), st.floats(20, 300)), max_size=8),
    st.lists(st.integers(-5000, 10_000_000), min_size=1, max_size=50),
    st.sampled_from([22050, 44100, 48000, 96000]),
)
def test_tick_to_sample_agrees_with_the_tempo_map(changes, ticks, rate) -> None:
    tempo = {0: 120.0, **dict(changes)}
    tm = TempoMap([TempoChange(t, b) for t, b in sorted(tempo.items())])
    got = TickConverter(tm, rate).samples(np.array(ticks))
    assert [int(x) for x in got] == [tm.sample_at_tick(t, rate) for t in ticks]


def test_tempo_changes_move_samples() -> None:
    d, t, c = _song()
    d.add_note(c, Note(60, 0, 960))
    d.set_tempo(960, 60.0)
    song = compile_document(d, SR)
    ev = song.tracks[t].events
    on, off = ev[ev["type"] == EV_NOTE_ON][0], ev[ev["type"] == EV_NOTE_OFF][0]
    assert on["sample"] == SR // 2 and off["sample"] == SR // 2 + SR
    assert list(song.tempo["sample"]) == [0, SR // 2]


def test_audio_regions_and_offline_audio() -> None:
    d = Document.new()
    a = d.add_track("audio", "Gtr")
    d.add_blob(BlobInfo(BLOB, "flac", 48000, 48000, 2))
    r1 = d.add_audio_region(a, BLOB, 1920, 960, offset=100, gain_db=-6.0, fade_in=10)
    d.add_audio_region(a, "12" * 32, 0, 960)  # a blob the document does not know
    song = compile_document(d, SR, offline_blobs=set())
    regions = song.tracks[a].regions
    assert list(regions["start_tick"]) == [0, 1920]
    assert list(regions["start_sample"]) == [0, SR]
    assert list(regions["online"]) == [False, True]
    assert song.tracks[a].blobs[regions["blob"][1]] == BLOB
    assert abs(regions["gain"][1] - 10 ** (-6 / 20)) < 1e-6
    assert regions["offset"][1] == 100 and regions["fade_in"][1] == 10
    offline = compile_document(d, SR, offline_blobs={BLOB})
    assert not offline.tracks[a].regions["online"].any()
    assert r1


def test_chord_tracks_are_not_compiled_and_loop_is_in_samples() -> None:
    d = Document.new()
    d.add_track("chord")
    d.set_loop(start=960, end=1920, enabled=True)
    song = compile_document(d, SR)
    assert song.tracks == {}
    assert song.loop_samples == (SR // 2, SR) and song.loop_enabled


def test_one_note_edit_recompiles_only_its_track() -> None:
    d, t, c = _song()
    other = d.add_track("midi", "Other")
    oc = d.add_midi_clip(other, 0, 960)
    d.add_note(oc, Note(50, 0, 10))
    n = d.add_note(c, Note(60, 0, 10))
    comp = PlaybackCompiler(d, SR)
    first = comp.compile()
    assert first.changed == {t, other}
    d.update_note(c, n, pitch=70)
    second = comp.update()
    assert second.changed == {t}
    assert second.tracks[other] is first.tracks[other]  # untouched arrays are reused
    assert 70 in second.tracks[t].events["data1"]
    assert comp.update().changed == frozenset()  # nothing new
    d.remove_track(other)
    third = comp.update()
    assert third.removed == {other} and other not in third.tracks


def _same(a, b) -> None:
    assert list(a.tracks) == list(b.tracks)
    for tid in a.tracks:
        x, y = a.tracks[tid], b.tracks[tid]
        assert np.array_equal(x.events, y.events), tid
        assert np.array_equal(x.regions, y.regions) and x.blobs == y.blobs
        assert (x.instrument, x.mixer) == (y.instrument, y.mixer)
    assert np.array_equal(a.tempo, b.tempo) and np.array_equal(a.meters, b.meters)
    assert (a.loop_samples, a.end_sample) == (b.loop_samples, b.end_sample)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops_strategy)
def test_incremental_updates_equal_a_full_compile(ops) -> None:
    doc = base_document()
    comp = PlaybackCompiler(doc, SR)
    comp.compile()
    for op in ops:
        apply(doc, op)
        _same(comp.update(), compile_document(doc, SR))
    while doc.undo():
        _same(comp.update(), compile_document(doc, SR))


def test_remote_edits_are_compiled_too() -> None:
    d, t, c = _song()
    comp = PlaybackCompiler(d, SR)
    comp.compile()
    partner = Document.from_state(d.state())
    partner.add_note(c, Note(99, 0, 10))
    d.apply_update(partner.update_since(d.state_vector()))
    song = comp.update()
    assert song.changed == {t} and 99 in song.tracks[t].events["data1"]


def test_muted_clips_are_silent_and_unmuting_brings_them_back() -> None:
    d = Document.new()
    t = d.add_track("midi", "Keys")
    on = d.add_midi_clip(t, 0, 3840, take_group="g", take=1)
    off = d.add_midi_clip(t, 0, 3840, muted=True, take_group="g", take=0)
    d.add_notes(on, [Note(60, 0, 960, 100)])
    d.add_notes(off, [Note(64, 0, 960, 100)])
    compiler = PlaybackCompiler(d, SR)
    ev = compiler.compile().tracks[t].events
    assert {int(e["data1"]) for e in ev[ev["type"] == EV_NOTE_ON]} == {60}
    d.select_take(off)
    ev = compiler.update().tracks[t].events
    pitches = {int(e["data1"]) for e in ev[ev["type"] == EV_NOTE_ON]}
    assert pitches == {64}
    assert d.clip(on).muted and not d.clip(off).muted
    d.undo()
    assert not d.clip(on).muted and d.clip(off).muted
