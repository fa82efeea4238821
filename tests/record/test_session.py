"""Recording sessions on an engine graph run offline: exact ticks, takes from loop
recording, punch-in/out, overdub and replace, input quantize, count-in, held notes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from record_support import OfflineEngine

from strumspace_desktop.audio.protocol import Cmd, Evt, TransportState
from strumspace_desktop.core.document.model import Document, Note
from strumspace_desktop.core.quantize import QuantizeSettings
from strumspace_desktop.record.commit import commit_midi
from strumspace_desktop.record.session import RecordMode, RecordOptions, RecordSession

SPB = 24000  # samples per beat at 120 BPM, 48 kHz
SPT = SPB / 960  # samples per tick


@pytest.fixture
def eng() -> Iterator[OfflineEngine]:
    e = OfflineEngine()
    yield e
    e.close()


def play(eng: OfflineEngine, session: RecordSession) -> int:
    """Start the transport; returns the clock of beat 0 (after any count-in)."""
    eng.command(Cmd.PLAY)
    session.feed_all(eng.run_blocks(1))
    anchors = [e for e in eng.events if int(e[0]) == Evt.ANCHOR and e[2] != 0]
    a = anchors[-1]
    return round(a[1] - a[3] * a[4])


def stop(eng: OfflineEngine, session: RecordSession) -> None:
    eng.command(Cmd.STOP)
    session.feed_all(eng.run_blocks(2))


def test_notes_land_on_their_exact_ticks(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    t0 = play(eng, s)
    # Offsets that no block boundary lines up with.
    eng.note(t0 + 1000, 60, 5000)
    eng.note(t0 + 12000, 62, 777)
    eng.note(t0 + 50025, 64, 24000)
    s.feed_all(eng.run_until(t0 + 80000))
    stop(eng, s)
    notes = sorted((n.pitch, n.start, n.end) for p in s.finish() for n in p.notes)
    want = [(60, 1000 / SPT, 6000 / SPT), (62, 480.0, 12777 / SPT),
            (64, 50025 / SPT, 74025 / SPT)]
    assert [n[0] for n in notes] == [w[0] for w in want]
    assert [x for n in notes for x in n[1:]] == pytest.approx([x for w in want for x in w[1:]])
    doc = Document.new()
    tid = doc.add_track("midi", "Keys")
    depth = doc.undo_depth
    (cid,) = commit_midi(doc, tid, s.finish(), RecordOptions())
    got = sorted((n.pitch, n.start, n.length) for n in doc.notes(cid).values())
    assert got == [(60, 40, 200), (62, 480, 31), (64, 2001, 960)]
    assert doc.undo_depth == depth + 1  # one undo step
    doc.undo()
    assert doc.clips(tid) == []


def test_count_in_is_not_recorded_and_start_is_the_play_position() -> None:
    eng = OfflineEngine(count_in=1)
    try:
        eng.command(Cmd.LOCATE, 4.0)  # play from bar 2
        eng.run_blocks(1)
        s = RecordSession(RecordOptions(), start_tick=4 * 960)
        t0 = play(eng, s)  # clock of beat 0, four beats before the start
        eng.note(t0 + 2 * SPB, 50, 1000)  # in the count-in
        eng.note(t0 + 4 * SPB + 100, 52, 1000)
        s.feed_all(eng.run_until(t0 + 6 * SPB))
        stop(eng, s)
        (p,) = s.finish()
        assert [(n.pitch, n.start) for n in p.notes] == [(52, 3840 + 100 / SPT)]
        assert p.start == 3840
    finally:
        eng.close()


def test_held_note_is_closed_at_stop(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    t0 = play(eng, s)
    eng.midi.queue.append((t0 + 2400, [0x90, 67, 90]))
    s.feed_all(eng.run_until(t0 + SPB))
    stop_clock = eng.clock
    stop(eng, s)
    (p,) = s.finish()
    (n,) = p.notes
    assert n.start == 96 and n.end == pytest.approx((stop_clock - t0) / SPT)


def test_loop_recording_makes_one_take_per_pass(eng: OfflineEngine) -> None:
    eng.command(Cmd.LOOP, 1, 0.0, 4.0)  # one bar
    eng.run_blocks(1)
    s = RecordSession(RecordOptions(loop_takes=True), start_tick=0)
    t0 = play(eng, s)
    bar = 4 * SPB
    eng.note(t0 + 1000, 60, 1000)  # pass 1
    eng.note(t0 + bar + 2000, 62, 1000)  # pass 2
    eng.note(t0 + 2 * bar + 3 * SPB, 64, 2 * SPB)  # pass 3: held across the loop end
    s.feed_all(eng.run_until(t0 + 3 * bar + SPB))
    stop(eng, s)
    passes = s.finish()
    assert [[n.pitch for n in p.notes] for p in passes] == [[60], [62], [64], []]
    assert passes[2].notes[0].end == 3840  # closed at the loop end
    assert [(p.start, p.end) for p in passes[:3]] == [(0, 3840)] * 3
    doc = Document.new()
    tid = doc.add_track("midi")
    ids = commit_midi(doc, tid, passes, RecordOptions(loop_takes=True))
    clips = [doc.clip(i) for i in ids]
    assert len(clips) == 4 and len({c.take_group for c in clips}) == 1
    assert [c.take for c in clips] == [0, 1, 2, 3]
    assert [c.muted for c in clips] == [True, True, True, False]
    # Without loop takes, the passes merge into one clip.
    doc2 = Document.new()
    tid2 = doc2.add_track("midi")
    (cid,) = commit_midi(doc2, tid2, passes, RecordOptions(loop_takes=False))
    assert sorted(n.pitch for n in doc2.notes(cid).values()) == [60, 62, 64]


def test_punch_in_and_out(eng: OfflineEngine) -> None:
    opts = RecordOptions(punch=(960, 2880))
    s = RecordSession(opts, start_tick=0)
    t0 = play(eng, s)
    eng.note(t0 + 100, 48, 1000)  # before punch-in: dropped
    eng.note(t0 + SPB + 500, 50, 1000)  # inside
    eng.note(t0 + 2 * SPB + 12000, 52, 2 * SPB)  # held across punch-out: closed there
    eng.note(t0 + 3 * SPB + 100, 54, 1000)  # after punch-out: dropped
    for _ in range(40):
        s.feed_all(eng.run_blocks(20))
        s.punch_out_passed(eng.clock)
    stop(eng, s)
    (p,) = s.finish()
    assert (p.start, p.end) == (960, 2880)
    assert [n.pitch for n in p.notes] == [50, 52]
    assert [(n.start, n.end) for n in p.notes] == [
        pytest.approx((960 + 500 / SPT, 960 + 1500 / SPT)), (2400, 2880)]


def test_overdub_keeps_and_replace_clears_the_range(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    t0 = play(eng, s)
    eng.note(t0 + SPB, 72, 1000)
    s.feed_all(eng.run_until(t0 + 2 * SPB))
    stop(eng, s)
    passes = s.finish()
    for mode, kept in ((RecordMode.OVERDUB, {40, 41, 42}), (RecordMode.REPLACE, {42})):
        doc = Document.new()
        tid = doc.add_track("midi")
        old = doc.add_midi_clip(tid, 0, 4 * 960)
        doc.add_notes(old, [Note(40, 0, 100), Note(41, 960, 100), Note(42, 3000, 100)])
        commit_midi(doc, tid, passes, RecordOptions(mode=mode))
        assert {n.pitch for n in doc.notes(old).values()} == kept
        assert 72 in {n.pitch for c in doc.clips(tid) for n in doc.notes(c.id).values()}


def test_input_quantize(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    t0 = play(eng, s)
    eng.note(t0 + SPB + 1500, 60, 5000)  # 60 ticks after beat 1
    eng.note(t0 + 2 * SPB - 2000, 62, 5000)  # 80 ticks before beat 2
    s.feed_all(eng.run_until(t0 + 3 * SPB))
    stop(eng, s)
    doc = Document.new()
    tid = doc.add_track("midi")
    (cid,) = commit_midi(doc, tid, s.finish(),
                         RecordOptions(input_quantize=QuantizeSettings(16)))
    clip = doc.clip(cid)
    starts = sorted(clip.start + n.start for n in doc.notes(cid).values())
    assert starts == [960, 1920]


def test_nothing_played_adds_nothing(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    play(eng, s)
    s.feed_all(eng.run_blocks(50))
    stop(eng, s)
    doc = Document.new()
    tid = doc.add_track("midi")
    depth = doc.undo_depth
    assert commit_midi(doc, tid, s.finish(), RecordOptions()) == []
    assert doc.undo_depth == depth


def test_anchor_lines_follow_tempo_changes(eng: OfflineEngine) -> None:
    s = RecordSession(RecordOptions(), start_tick=0)
    t0 = play(eng, s)
    s.feed_all(eng.run_until(t0 + 2 * SPB))
    eng.command(Cmd.TEMPO, 60.0)
    s.feed_all(eng.run_blocks(1))
    line = s.timeline.lines[-1]
    assert line.state == TransportState.PLAYING and line.spb == 48000
    c = line.clock + 48000
    assert s.timeline.tick_at(c) == pytest.approx(line.tick_at(line.clock) + 960)
