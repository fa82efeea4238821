"""The committed Yjs fixtures: readable, as described, and still what the generator makes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from strumspace_desktop.core.document import Document, schema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "documents"


def _generator():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["empty_v2", "small_song_v2"])
def test_fixture_matches_its_description_and_the_generator(name: str) -> None:
    gen = _generator()
    doc = Document.from_state((FIXTURES / f"{name}.ystate").read_bytes())
    assert doc.schema_version == schema.SCHEMA_VERSION and not doc.read_only
    described = json.loads((FIXTURES / f"{name}.json").read_text())
    assert json.loads(json.dumps(gen._plain(doc.snapshot()), sort_keys=True)) == described
    # Built anew by the script, the document reads the same (bytes may differ: yrs orders
    # a new map's keys by hash).
    fresh = Document.from_state(getattr(gen, name)().state())
    assert fresh.snapshot() == doc.snapshot()


@pytest.mark.parametrize("name", ["empty_v1", "small_song_v1"])
def test_version_1_fixtures_migrate_to_the_current_version(name: str) -> None:
    doc = Document.from_state((FIXTURES / f"{name}.ystate").read_bytes())
    assert doc.schema_version == schema.SCHEMA_VERSION and not doc.read_only
    described = json.loads((FIXTURES / f"{name}.json").read_text())
    plain = json.loads(json.dumps(_generator()._plain(doc.snapshot()), sort_keys=True))
    added = {k: plain.pop(k) for k in ("effects", "master", "punch", "key")}
    for entry in plain["clips"].values():  # clips read the new take keys as defaults
        clip = entry["clip"]
        assert (clip.pop("muted"), clip.pop("take_group"), clip.pop("take")) == (False, "", 0)
    assert plain == described  # nothing of version 1 changed
    assert added == {
        "effects": {},
        "master": {"volume_db": 0.0, "limiter": True, "limiter_threshold_db": -1.0},
        "punch": {"start": 0, "end": 0, "enabled": False},
        "key": None,  # optional: no key set
    }
    assert all(not c.muted and c.take_group == "" for c in doc.clips())


def test_small_song_fixture_uses_every_kind_of_object() -> None:
    doc = Document.from_state((FIXTURES / "small_song_v2.ystate").read_bytes())
    kinds = {t.kind for t in doc.tracks()}
    assert kinds == {"midi", "audio", "chord"}
    assert len(doc.tempo_changes()) == 2 and len(doc.time_signatures()) == 2
    assert doc.markers() and doc.blobs() and doc.loop().enabled
    chords = next(t for t in doc.tracks() if t.kind == "chord")
    assert {c.source for c in doc.chords(chords.id).values()} == {
        "played",
        "recognized",
        "generated",
    }
    assert any(doc.sysex(t.id) for t in doc.tracks())
    piano = doc.tracks()[0]
    assert [e.type for e in doc.effects(piano.id)] == ["compressor", "reverb"]
    assert [e.type for e in doc.effects("master")] == ["eq"]
    assert doc.master().volume_db == -1.5 and doc.punch().enabled
    takes = [c for c in doc.clips() if c.take_group]
    assert sorted((c.take, c.muted) for c in takes) == [(0, True), (1, False)]


def test_raw_keys_are_as_documented() -> None:
    """Read the fixture with bare pycrdt, as another client would."""
    ydoc: Doc = Doc()
    ydoc.apply_update((FIXTURES / "small_song_v2.ystate").read_bytes())
    meta = ydoc.get("meta", type=Map).to_py()
    assert meta["schema_version"] == 2 and meta["ppq"] == 960
    assert meta["punch_enabled"] is True and meta["master_volume_db"] == -1.5
    assert meta["key"] == {"tonic": 9, "mode": "minor"}
    effects = ydoc.get("effects", type=Map).to_py()
    reverb = next(e for e in effects.values() if e["type"] == "reverb")
    assert reverb["params"]["room_size"] == 0.8 and reverb["bypass"] is False
    clips = ydoc.get("clips", type=Map).to_py()
    midi = next(c for c in clips.values() if c["kind"] == "midi" and c["notes"])
    note = next(iter(midi["notes"].values()))
    assert len(note) == 5  # [pitch, start, length, velocity, channel]
    assert ydoc.get("tempo", type=Map).to_py()["0"] == 96.0
    assert ydoc.get("timesig", type=Map).to_py()["15360"] == [6.0, 8.0]


def test_legacy_fixture_migrates() -> None:
    doc = Document.from_state((FIXTURES / "legacy_v0.ystate").read_bytes())
    assert doc.schema_version == schema.SCHEMA_VERSION
    (track,) = doc.tracks()
    assert track.name == "Old" and track.mixer.volume_db == 0.0
    (clip,) = doc.clips()
    assert [n.pitch for n in doc.notes(clip.id).values()] == [60]


def test_newer_fixture_opens_read_only() -> None:
    doc = Document.from_state((FIXTURES / "newer_v99.ystate").read_bytes())
    assert doc.read_only and "99" in doc.read_only_reason
