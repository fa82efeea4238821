"""Splits: SoundFont families, programs and music21 pieces never cross between sets."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from models.chords import manifest as mf
from models.chords import soundfonts as sfs
from models.chords.vocabulary import parse

EVAL_SETS = ("unseen_timbre", "music21", "valid", "valid_music21", "valid_freepats",
             "meter_valid", "meter_test", "valid_melody", "unseen_melody", "valid_voice",
             "unseen_voice")


@pytest.fixture(scope="module")
def committed() -> dict[str, dict]:
    return {name: mf.load(mf.MANIFEST_DIR / f"{name}.json") for name in EVAL_SETS}


@pytest.fixture(scope="module")
def train() -> dict:
    return mf.build("train", 60)


def test_each_family_is_in_exactly_one_split_and_fluidr3_relatives_train_together() -> None:
    split_of_family: dict[str, set[str]] = {}
    for sf in sfs.SOUNDFONTS:
        split_of_family.setdefault(sf.family, set()).add(sfs.FAMILY_SPLIT[sf.family])
    assert all(len(s) == 1 for s in split_of_family.values())
    for name in ("FluidR3_GM", "FluidR3Mono_GM", "MuseScore_General_Lite"):
        assert sfs.SOUNDFONTS_BY_NAME[name].family == "fluidr3"
    assert sfs.split_of_soundfont("TimGM6mb") == "test"
    assert {sfs.FAMILY_SPLIT[f] for f in split_of_family} == set(sfs.SPLITS)


def test_held_out_programs_are_never_training_programs() -> None:
    heldout = {p for pools in sfs.PROGRAMS.values() for p in pools["heldout"]}
    for cat, pools in sfs.PROGRAMS.items():
        # In no category: a wide program of one category is no other's held-out one.
        assert not (set(pools["train"]) | set(pools["wide"])) & heldout, cat
        assert set(sfs.program_pool(cat, "train", wide=True)) > set(pools["train"]), cat
        assert sfs.program_pool(cat, "test", wide=True) == pools["heldout"]
    assert set(sfs.HARMONY_CATEGORIES) <= set(sfs.PROGRAMS)


def test_the_wide_training_set_draws_training_families_and_wider_programs() -> None:
    wide = mf.build("train_wide", 80)
    assert wide["split"] == "train"
    heldout = {p for pools in sfs.PROGRAMS.values() for p in pools["heldout"]}
    programs = {p for c in wide["clips"] for p in c["programs"].values()} - {0}
    assert not programs & heldout
    assert programs & {p for pools in sfs.PROGRAMS.values() for p in pools["wide"]}
    assert {sfs.split_of_soundfont(c["soundfont"]) for c in wide["clips"]} == {"train"}
    seeds = {c["seed"] for c in wide["clips"]}
    assert not seeds & {c["seed"] for c in mf.build("train", 80)["clips"]}
    assert {c["source"]["kind"] for c in wide["clips"]} == {"template", "walk", "music21"}


def test_committed_manifests_use_only_their_split(committed: dict[str, dict]) -> None:
    for name, data in committed.items():
        split = data["split"]
        assert split == ("valid" if "valid" in name else "test")
        for clip in data["clips"]:
            assert sfs.split_of_soundfont(clip["soundfont"]) == split
            harmony = clip["programs"]["0"]
            assert harmony in sfs.program_pool(clip["category"], split)
            if "1" in clip["programs"]:
                assert clip["programs"]["1"] in sfs.PROGRAMS["bass"]["heldout"]
            for label, beats in clip["spans"]:
                parse(label)
                assert beats > 0


def test_train_clips_share_no_family_program_or_piece_with_evaluation(
        committed: dict[str, dict], train: dict) -> None:
    eval_families = {sfs.SOUNDFONTS_BY_NAME[c["soundfont"]].family
                     for d in committed.values() for c in d["clips"]}
    eval_programs = {(c["category"], c["programs"]["0"])
                     for d in committed.values() for c in d["clips"]}
    for clip in train["clips"]:
        assert sfs.SOUNDFONTS_BY_NAME[clip["soundfont"]].family not in eval_families
        assert (clip["category"], clip["programs"]["0"]) not in eval_programs
    assert {c["source"]["kind"] for c in train["clips"]} == {"template", "walk", "music21"}


def test_music21_test_pieces_and_their_melody_groups_stay_out_of_training(
        committed: dict[str, dict], train: dict) -> None:
    split_file = json.loads(mf.MUSIC21_SPLIT_PATH.read_text())
    groups = defaultdict(set)
    for piece, group in split_file["groups"].items():
        groups[group].add(split_file["pieces"][piece])
    assert all(len(s) == 1 for s in groups.values())  # a melody group never straddles
    test_pieces = {c["source"]["path"] for c in committed["music21"]["clips"]}
    assert test_pieces == {p for p, s in split_file["pieces"].items() if s == "test"}
    valid_pieces = {c["source"]["path"] for c in committed["valid_music21"]["clips"]}
    assert valid_pieces == {p for p, s in split_file["pieces"].items() if s == "valid"}
    train_pieces = {c["source"]["path"] for c in train["clips"]
                    if c["source"]["kind"] == "music21"}
    assert train_pieces and not train_pieces & (test_pieces | valid_pieces)
    assert all(split_file["pieces"][p] == "train" for p in train_pieces)


def test_seeds_never_overlap_between_sets(committed: dict[str, dict], train: dict) -> None:
    # A melody or voice set replays its source set's clips (same seeds) with a tune on top.
    replays = {**mf.MELODY_EVAL_SETS, **mf.VOICE_EVAL_SETS}
    sets = [d for name, d in committed.items() if name not in replays]
    seeds = [c["seed"] for d in (*sets, train, mf.build("train_melody", 40),
                                 mf.build("train_voice", 40))
             for c in d["clips"]]
    assert len(seeds) == len(set(seeds))
    for name, source in replays.items():
        assert ([c["seed"] for c in committed[name]["clips"]]
                == [c["seed"] for c in committed[source]["clips"]])


def test_committed_manifests_are_what_the_builder_makes(committed: dict[str, dict]) -> None:
    # The evaluation sets are fixed: rebuilding them must not change a committed file
    # (music21 is left out here: chordifying 37 chorales takes seconds).
    for name in ("unseen_timbre", "valid", "valid_freepats", "meter_valid", "meter_test",
                 "valid_melody", "unseen_melody", "valid_voice", "unseen_voice"):
        assert mf.build(name) == committed[name]


def test_the_meter_sets_play_each_template_in_three_and_in_four(
        committed: dict[str, dict]) -> None:
    for name in ("meter_valid", "meter_test"):
        clips = committed[name]["clips"]
        assert [c["beats_per_bar"] for c in clips] == [4, 3] * (len(clips) // 2)
        for four, three in zip(clips[::2], clips[1::2], strict=True):
            assert four["source"]["name"] == three["source"]["name"]
            for clip in (four, three):  # every chord a bar long: bar lines are known
                assert {beats for _, beats in clip["spans"]} == {clip["beats_per_bar"]}


def test_detune_and_tempo_ranges(committed: dict[str, dict], train: dict) -> None:
    for data in committed.values():
        for clip in data["clips"]:
            assert abs(clip["augment"]["detune_cents"]) <= mf.MAX_DETUNE_EVAL
            if clip["source"]["kind"] == "music21":
                assert 50 <= clip["style"]["tempo"] <= 100
    detunes = [abs(c["augment"]["detune_cents"]) for c in train["clips"]]
    assert max(detunes) <= mf.MAX_DETUNE_TRAIN and max(detunes) > mf.MAX_DETUNE_EVAL
