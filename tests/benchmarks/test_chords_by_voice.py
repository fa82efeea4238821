"""The per-voice diagnostic: the twin set sung by the training voices pairs clip for
clip with the committed voice set, and each clip counts in its groups."""

from __future__ import annotations

import json

import pytest

from benchmarks.chords_by_voice import groups_of, swapped_manifest
from benchmarks.chords_sets import MANIFESTS
from models.chords.synth_voice import HELD_OUT_VOICES, OCTAVE_DOWN, TRAIN_VOICES


@pytest.mark.parametrize("name", ["valid_voice", "unseen_voice"])
def test_the_twin_swaps_only_the_singer_for_a_training_voice_of_its_register(
        name: str) -> None:
    manifest = json.loads((MANIFESTS / f"{name}.json").read_text())
    before = json.dumps(manifest, sort_keys=True)
    twin = swapped_manifest(manifest)
    assert json.dumps(manifest, sort_keys=True) == before  # the committed one untouched
    assert twin["set"] == f"{name}_trainvoices"
    assert len(twin["clips"]) == len(manifest["clips"])
    for held, trained in zip(manifest["clips"], twin["clips"], strict=True):
        assert held["voice"]["kind"] in HELD_OUT_VOICES
        assert trained["voice"]["kind"] in TRAIN_VOICES
        # the same octave: both or neither sung an octave down
        assert (held["voice"]["kind"] in OCTAVE_DOWN) == (trained["voice"]["kind"] in OCTAVE_DOWN)
        trained_rest = {**trained, "voice": {**trained["voice"], "kind": None}}
        held_rest = {**held, "voice": {**held["voice"], "kind": None}}
        assert trained_rest == held_rest


def test_a_voice_without_a_twin_is_refused() -> None:
    manifest = {"set": "x", "clips": [{"id": "x-00000", "voice": {"kind": "soprano"}}]}
    with pytest.raises(ValueError, match="soprano"):
        swapped_manifest(manifest)


def test_a_clip_counts_in_its_kind_level_register_and_all() -> None:
    assert groups_of({"kind": "bass", "level_db": 5.0}) == [
        "kind:bass", "level:+5", "register:low", "all"]
    assert groups_of({"kind": "soprano", "level_db": -2.0}) == [
        "kind:soprano", "level:-2", "register:high", "all"]
