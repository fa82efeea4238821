"""Effects, the master bus, the punch range and takes (schema version 2)."""

from __future__ import annotations

import pytest
from test_doc_model import sync

from strumspace_desktop.core.document import Change, Document, DocumentError


def _song() -> tuple[Document, str]:
    d = Document.new()
    t = d.add_track("midi", "Keys")
    d.clear_undo_history()
    return d, t


def test_effect_chain_order_insert_move_and_remove_with_undo() -> None:
    d, t = _song()
    rev = d.add_effect(t, "reverb")
    comp = d.add_effect(t, "compressor", index=0)
    eq = d.add_effect(t, "eq", {"low_gain_db": 3.0}, index=1)
    assert [e.id for e in d.effects(t)] == [comp, eq, rev]
    d.move_effect(comp, 3)
    assert [e.id for e in d.effects(t)] == [eq, rev, comp]
    d.remove_effect(eq)
    assert [e.id for e in d.effects(t)] == [rev, comp]
    d.undo()
    d.undo()
    assert [e.id for e in d.effects(t)] == [comp, eq, rev]


def test_parameters_merge_clamp_and_default() -> None:
    d, t = _song()
    e = d.add_effect(t, "delay", {"feedback": 5.0})
    assert d.effect(e).params == {"delay_seconds": 0.375, "feedback": 0.95, "mix": 0.3}
    d.update_effect(e, params={"mix": 0.8}, bypass=True)
    got = d.effect(e)
    assert got.params["mix"] == 0.8 and got.params["feedback"] == 0.95 and got.bypass
    with pytest.raises(ValueError, match="unknown effect"):
        d.add_effect(t, "flanger-9000")
    with pytest.raises(DocumentError, match="VST3"):
        d.add_effect(t, "vst3")
    chords = d.add_track("chord", "Chords")
    with pytest.raises(DocumentError, match="chord tracks"):
        d.add_effect(chords, "reverb")


def test_removing_a_track_removes_its_effects_in_one_undo_step() -> None:
    d, t = _song()
    d.add_effect(t, "reverb")
    d.add_effect("master", "limiter")
    d.remove_track(t)
    assert d.effects(t) == [] and len(d.effects("master")) == 1
    d.undo()
    assert len(d.effects(t)) == 1


def test_changes_name_the_tracks_whose_effects_changed() -> None:
    d, t = _song()
    seen: list[Change] = []
    d.subscribe(seen.append)
    e = d.add_effect(t, "chorus")
    d.update_effect(e, params={"depth": 0.9})
    d.add_effect("master", "eq")
    d.remove_effect(e)
    assert [c.effects for c in seen] == [{t}, {t}, {"master"}, {t}]


def test_master_and_punch() -> None:
    d, _ = _song()
    assert d.master().limiter and d.master().volume_db == 0.0
    d.set_master(volume_db=-6.0, limiter=False)
    assert d.master().volume_db == -6.0 and not d.master().limiter
    with pytest.raises(DocumentError):
        d.set_master(limiter_threshold_db=3.0)
    d.set_punch(start=960, end=1920, enabled=True)
    assert (d.punch().start, d.punch().end, d.punch().enabled) == (960, 1920, True)
    with pytest.raises(DocumentError):
        d.set_punch(start=5000)
    d.undo()
    assert not d.punch().enabled


def test_concurrent_edits_of_different_effects_and_master_fields_merge() -> None:
    a, t = _song()
    e1 = a.add_effect(t, "reverb")
    e2 = a.add_effect(t, "delay")
    b = Document.from_state(a.state())
    a.update_effect(e1, params={"room_size": 0.9})
    b.update_effect(e2, bypass=True)
    a.set_master(volume_db=-3.0)
    b.set_master(limiter=False)
    sync(a, b)
    assert a.snapshot() == b.snapshot()
    assert a.effect(e1).params["room_size"] == 0.9 and a.effect(e2).bypass
    assert a.master().volume_db == -3.0 and not a.master().limiter


def test_takes_select_one_audible_clip() -> None:
    d, t = _song()
    takes = [d.add_midi_clip(t, 0, 960, take_group="g", take=i, muted=i < 2) for i in range(3)]
    d.select_take(takes[0])
    assert [d.clip(c).muted for c in takes] == [False, True, True]
    with pytest.raises(DocumentError, match="not a take"):
        d.select_take(d.add_midi_clip(t, 0, 960))
