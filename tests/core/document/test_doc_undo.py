"""Undo grouping and scope."""

from __future__ import annotations

from strumspace_desktop.core.document import Document, Note


def _song() -> tuple[Document, str, str]:
    d = Document.new()
    t = d.add_track("midi")
    c = d.add_midi_clip(t, 0, 3840)
    d.clear_undo_history()
    return d, t, c


def test_a_drag_is_one_undo_step() -> None:
    d, _t, c = _song()
    n = d.add_note(c, Note(60, 0, 240))
    d.begin_undo_group()  # mouse press
    for x in range(1, 50):  # mouse moves, each its own transaction
        d.update_note(c, n, start=x * 10)
    d.end_undo_group()  # mouse release
    assert d.note(c, n).start == 490
    assert d.undo_depth == 2  # the add and the drag
    d.undo()
    assert d.note(c, n).start == 0
    d.redo()
    assert d.note(c, n).start == 490


def test_separate_quick_edits_are_separate_steps() -> None:
    d, _t, c = _song()
    for p in range(10):
        d.add_note(c, Note(p, 0, 1))
    assert d.undo_depth == 10
    d.undo()
    assert len(d.notes(c)) == 9


def test_transaction_groups_several_calls() -> None:
    d, _t, _c = _song()
    with d.transaction():
        d.set_tempo(0, 100)
        d.set_time_signature(0, 3, 4)
        d.add_marker(0, "A")
    assert d.undo_depth == 1
    d.undo()
    assert d.tempo_changes()[0].bpm == 120 and d.markers() == {}


def test_history_is_unlimited() -> None:
    d, _t, c = _song()
    n = d.add_note(c, Note(0, 0, 1))
    for i in range(1, 600):
        d.update_note(c, n, pitch=i % 128)
    assert d.undo_depth == 600
    while d.undo():
        pass
    assert d.notes(c) == {}


def test_new_edit_after_undo_clears_redo_and_stays_its_own_step() -> None:
    d, _t, _c = _song()
    d.set_title("one")
    d.set_title("two")
    d.undo()
    assert d.can_redo()
    d.set_title("three")
    assert not d.can_redo()
    d.undo()
    assert d.title == "one"


def test_partner_edits_are_not_undone() -> None:
    me, t, c = _song()
    partner = Document.from_state(me.state())
    mine = me.add_note(c, Note(60, 0, 10))
    theirs = partner.add_note(c, Note(72, 0, 10))
    partner.update_track(t, name="partner's name")
    me.apply_update(partner.update_since(me.state_vector()))
    assert not me.can_redo()
    assert me.undo()
    assert not me.can_undo()  # the partner's edits are not on my stack
    assert set(me.notes(c)) == {theirs} and me.track(t).name == "partner's name"
    assert mine not in me.notes(c)
    # My undo reaches the partner as an ordinary edit.
    partner.apply_update(me.update_since(partner.state_vector()))
    assert partner.snapshot() == me.snapshot()


def test_undo_of_my_edit_keeps_partner_edit_of_another_field() -> None:
    me, _t, c = _song()
    partner = Document.from_state(me.state())
    me.update_clip(c, start=960)
    partner.update_clip(c, name="Partner")
    me.apply_update(partner.update_since(me.state_vector()))
    me.undo()
    assert me.clip(c).start == 0 and me.clip(c).name == "Partner"
