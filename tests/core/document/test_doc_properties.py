"""Property-based tests over random edit sequences."""

from __future__ import annotations

import itertools
import random
import tempfile
from pathlib import Path

from doc_ops import apply, base_document, ops_strategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document.project_files import (
    new_project,
    open_project,
    save_project_as,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ops_strategy)
def test_undo_all_returns_the_original_and_redo_all_the_result(ops) -> None:
    doc = base_document()
    original = doc.snapshot()
    for op in ops:
        apply(doc, op)
    edited = doc.snapshot()
    while doc.undo():
        pass
    assert doc.snapshot() == original
    while doc.redo():
        pass
    assert doc.snapshot() == edited


@SETTINGS
@given(ops_strategy)
def test_each_edit_is_one_undo_step(ops) -> None:
    doc = base_document()
    snapshots = [doc.snapshot()]
    for op in ops:
        before = doc.revision
        apply(doc, op)
        if doc.revision != before:
            snapshots.append(doc.snapshot())
    for expected in reversed(snapshots[:-1]):
        assert doc.undo()
        assert doc.snapshot() == expected
    assert not doc.can_undo()


@SETTINGS
@given(ops_strategy)
def test_save_then_open_returns_an_equal_document(ops) -> None:
    doc = base_document()
    for op in ops:
        apply(doc, op)
    assert Document.from_state(doc.state()).snapshot() == doc.snapshot()
    with tempfile.TemporaryDirectory() as tmp:
        project = new_project(Path(tmp) / "scratch")
        project.document = doc
        save_project_as(project, Path(tmp) / "song.strumspace")
        assert open_project(Path(tmp) / "song.strumspace").document.snapshot() == doc.snapshot()


def _edits_as_updates(doc: Document, ops) -> list[bytes]:
    updates = []
    for op in ops:
        sv = doc.state_vector()
        apply(doc, op)
        updates.append(doc.update_since(sv))
    return updates


def _interleave(xs: list[bytes], ys: list[bytes], rnd: random.Random) -> list[bytes]:
    """A random merge of two peers' streams that keeps each peer's own order (what a
    sync connection delivers)."""
    out, i, j = [], 0, 0
    while i < len(xs) or j < len(ys):
        if j == len(ys) or (i < len(xs) and rnd.random() < 0.5):
            out.append(xs[i])
            i += 1
        else:
            out.append(ys[j])
            j += 1
    return out


@SETTINGS
@given(ops_strategy, ops_strategy, st.randoms(use_true_random=False))
def test_replicas_converge_whatever_the_delivery_order(ops_a, ops_b, rnd: random.Random) -> None:
    base = base_document().state()
    a, b = Document.from_state(base), Document.from_state(base)
    ups_a, ups_b = _edits_as_updates(a, ops_a), _edits_as_updates(b, ops_b)
    orders = [ups_a + ups_b, ups_b + ups_a, _interleave(ups_a, ups_b, rnd)]
    replicas = [Document.from_state(base) for _ in orders]
    for r, order in zip(replicas, orders, strict=True):
        for u in order:
            r.apply_update(u)
    # The two authors exchange full diffs, as sync step 2 does.
    a.apply_update(b.update_since(a.state_vector()))
    b.apply_update(a.update_since(b.state_vector()))
    expected = a.snapshot()
    assert b.snapshot() == expected
    for r in replicas:
        assert r.snapshot() == expected


def test_updates_arriving_before_their_dependencies_still_converge() -> None:
    """yrs 0.28 (pycrdt 0.14) lost a clip's `start` when a later edit of it arrived before
    the clip itself; Document.apply_update holds and re-applies such updates."""
    for _ in range(5):
        base = base_document().state()
        a, b = Document.from_state(base), Document.from_state(base)
        ups = _edits_as_updates(a, [("add_track", 0, 0, 0)]) + _edits_as_updates(
            b,
            [
                ("add_track", 0, 0, 0),
                ("add_clip", 0, 0, 3),
                ("move_clip", 1, 1, 0),
                ("add_track", 0, 0, 0),
            ],
        )
        a.apply_update(b.update_since(a.state_vector()))
        expected = a.snapshot()
        for perm in itertools.permutations(range(len(ups))):
            r = Document.from_state(base)
            for i in perm:
                r.apply_update(ups[i])
            assert r.snapshot() == expected, perm


@SETTINGS
@given(ops_strategy, st.lists(st.integers(0, 127), min_size=1, max_size=6))
def test_undo_never_undoes_a_partners_edits(my_ops, partner_pitches) -> None:
    base = base_document().state()
    me, partner = Document.from_state(base), Document.from_state(base)
    for op in my_ops:
        apply(me, op)
    # The partner adds things of their own meanwhile.
    t = partner.add_track("midi", "partner")
    c = partner.add_midi_clip(t, 0, 960)
    partner.add_notes(c, [Note(p, 0, 10) for p in partner_pitches])
    partner.add_marker(5, "partner marker")
    me.apply_update(partner.update_since(me.state_vector()))
    while me.undo():
        pass
    # What remains is exactly the base plus the partner's work.
    expected = Document.from_state(base)
    expected.apply_update(partner.update_since(expected.state_vector()))
    assert me.snapshot() == expected.snapshot()
