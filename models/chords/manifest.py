"""Clip manifests: everything needed to render a clip, resolved and written down.

A manifest entry holds the chord spans themselves (labels and beats), not just the
recipe, so an evaluation set does not change when numpy's random streams or
music21's parser do; the remaining randomness (voicing choices, timing jitter,
noise) comes from the clip's seed. The evaluation sets' manifests are committed
(`manifests/*.json`) before any model is trained on data drawn with other seeds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from models.chords import augment, soundfonts
from models.chords.melody import LEAD_CH
from models.chords.performance import BASS_CH, DRUM_CH, HARMONY_CH, PlayStyle, random_style
from models.chords.progressions import (
    TEMPLATES,
    ChordSpan,
    Progression,
    from_music21,
    from_template,
    random_walk,
    template_names,
)
from models.chords.synth_voice import HELD_OUT_VOICES, draw_voice
from models.chords.vocabulary import parse

MANIFEST_DIR = Path(__file__).parent / "manifests"
MUSIC21_SPLIT_PATH = MANIFEST_DIR / "music21_split.json"
FORMAT = "strumspace-chords-manifest"
VERSION = 1
SAMPLE_RATE = 22050
# Seeds of the sets never overlap: a clip's seed is base + index.
SET_SEEDS = {"train": 0, "valid": 50_000_000, "unseen_timbre": 60_000_000,
             "music21": 70_000_000, "valid_music21": 80_000_000, "train_wide": 90_000_000,
             "train_freepats": 100_000_000, "train_tonejs": 110_000_000,
             "valid_freepats": 120_000_000, "train_synth": 130_000_000,
             "meter_valid": 140_000_000, "meter_test": 150_000_000,
             "train_melody": 160_000_000, "train_voice": 170_000_000}
# Training sets: `train` (the training programs), `train_wide` (the same recipe over
# more programs of the training families: more timbres, never a held-out one) and
# `train_tonejs` (recorded instruments from npm, a fourth family; mostly guitar, where
# the test set's errors are), `train_synth` (synth_random.py: a new random instrument
# in every clip). `train_freepats` (the wide programs on FreePats) was a
# third family until 2026-11-27; FreePats is now the independent validation family
# (`valid_freepats`), so that set's name and seeds are retired, never to be reused.
TRAIN_SETS = ("train", "train_wide", "train_tonejs", "train_synth", "train_melody",
              "train_voice")
WIDE_SETS = ("train_wide", "train_tonejs", "train_synth", "train_melody", "train_voice")
# `train_melody` (melody.py): the wide recipe with a lead melody over every clip.
MELODY_TRAIN_SETS = ("train_melody",)
# Evaluation sets with a melody: every clip of the source set, the same seed and so
# the same accompaniment note for note, with a held-out lead instrument playing a
# tune on top (melody.py). The pair measures what a melody costs.
MELODY_EVAL_SETS = {"valid_melody": "valid", "unseen_melody": "unseen_timbre"}
# The same with the tune sung (synth_voice.py): `train_voice` is the wide recipe with a
# training voice (soprano or tenor) singing over every clip; the evaluation pair sings
# every clip of its source set with a held-out voice (alto and bass by turns).
VOICE_TRAIN_SETS = ("train_voice",)
VOICE_EVAL_SETS = {"valid_voice": "valid", "unseen_voice": "unseen_timbre"}
RETIRED_SETS = ("train_freepats",)
# Sets drawn on one sound source rather than the split's SoundFonts.
SET_SOUNDFONT = {"train_tonejs": "ToneJS", "valid_freepats": "FreePats",
                 "train_synth": "RandomTimbre"}
TARGET_SECONDS = 30.0
# Detune range in cents: the issue's +-50 for training; evaluation stays within +-25,
# where the nearest semitone is still the labelled root.
MAX_DETUNE_TRAIN = 50.0
# Guitar first (the musicians this is for strum), then keyboards; a third of the
# evaluation clips and 30 % of training are guitar.
EVAL_CATEGORY_CYCLE = ("guitar", "piano", "organ", "guitar", "electric_piano", "strings",
                       "guitar", "pad", "mallet")
TRAIN_CATEGORY_WEIGHTS = {"guitar": 3.0, "piano": 2.0, "electric_piano": 1.0, "organ": 1.0,
                          "strings": 1.0, "pad": 1.0, "mallet": 1.0}
MAX_DETUNE_EVAL = 25.0
# The recordings hold no electric piano, pad or mallet in the guitar range; guitar
# weighs twice as much as in the other training sets (the test set's guitars lag:
# MODEL.md, Known limits).
SET_CATEGORY_WEIGHTS = {"train_tonejs": {"guitar": 6.0, "piano": 1.5, "organ": 1.0,
                                         "strings": 1.0}}


# Sets for the bar estimate (`key_tempo.beats_per_bar`, benchmarks/chords_meter.py):
# the same templates in 3/4 and in 4/4 by turns, on the validation or the test family.
# Never trained on; the chord model never sees a 3/4 template.
METER_SETS = {"meter_valid": "valid", "meter_test": "test"}
METER_CLIPS = 48


class ManifestError(ValueError):
    pass


def music21_split() -> dict[str, str]:
    """Corpus path -> split for the Bach chorales (committed file; see build_music21_split)."""
    data: dict[str, str] = json.loads(MUSIC21_SPLIT_PATH.read_text())["pieces"]
    return data


def build_music21_split() -> dict[str, Any]:
    """The chorales' split taken from the generation dataset (models/generation), whose
    groups keep every harmonization of one melody in one split: the chord and the
    generation models then share their test chorales."""
    from models.generation import dataset_cache

    ds = dataset_cache.load()
    pieces = {p.piece_id: s for p, s in zip(ds.pieces, ds.splits, strict=True)
              if p.source == "bach_chorales"}
    groups = {p.piece_id: p.group for p in ds.pieces if p.source == "bach_chorales"}
    return {"source": "models/generation/data/corpus.npz (splits by melody group)",
            "pieces": dict(sorted(pieces.items())), "groups": dict(sorted(groups.items()))}


def _spans_json(prog: Progression) -> list[list[Any]]:
    return [[s.chord.label(), s.beats] for s in prog.spans]


def progression_of(entry: dict[str, Any]) -> Progression:
    spans = [ChordSpan(parse(label), float(beats)) for label, beats in entry["spans"]]
    return Progression(spans, int(entry["beats_per_bar"]), entry["source"]["kind"])


def style_of(entry: dict[str, Any]) -> PlayStyle:
    return PlayStyle(**entry["style"])


def programs_of(entry: dict[str, Any]) -> dict[int, int]:
    return {int(ch): int(p) for ch, p in entry["programs"].items()}


def eval_categories(soundfont: str) -> tuple[str, ...]:
    """The evaluation category cycle, less the categories whose held-out programs the
    sound source lacks (FreePats has no held-out organ, string or mallet)."""
    have = soundfonts.SOUNDFONTS_BY_NAME[soundfont].programs
    return tuple(c for c in EVAL_CATEGORY_CYCLE
                 if soundfonts.program_pool(c, "test", available=have))


def _clip(set_name: str, index: int, split: str, source: dict[str, Any], prog: Progression,
          rng: np.random.Generator, augment_strength: float,
          soundfont: str | None = None) -> dict[str, Any]:
    wide = set_name in WIDE_SETS
    sfs = [sf.name for sf in soundfonts.soundfonts_for(split)]
    sf = soundfont or SET_SOUNDFONT.get(set_name) or sfs[int(rng.integers(len(sfs)))]
    available = soundfonts.SOUNDFONTS_BY_NAME[sf].programs
    if split == "train":
        table = SET_CATEGORY_WEIGHTS.get(set_name, TRAIN_CATEGORY_WEIGHTS)
        cats = list(table)
        weights = np.array(list(table.values()))
        category = cats[int(rng.choice(len(cats), p=weights / weights.sum()))]
    else:  # evaluation sets cycle, so every category is there in fixed shares
        cycle = eval_categories(sf)
        category = cycle[index % len(cycle)]
    textures = soundfonts.TEXTURES_FOR[category]
    style = random_style(rng, textures[int(rng.integers(len(textures)))])
    pool = soundfonts.program_pool(category, split, wide, available)
    programs = {HARMONY_CH: int(pool[int(rng.integers(len(pool)))])}
    if style.bass:
        bass_pool = soundfonts.program_pool("bass", split, wide, available)
        programs[BASS_CH] = int(bass_pool[int(rng.integers(len(bass_pool)))])
    if style.drums and soundfonts.SOUNDFONTS_BY_NAME[sf].drums:
        programs[DRUM_CH] = 0
    style = dataclasses.replace(style, bass=BASS_CH in programs, drums=DRUM_CH in programs)
    if set_name in MELODY_TRAIN_SETS:
        leads = soundfonts.program_pool("lead", split, wide, available)
        programs[LEAD_CH] = int(leads[int(rng.integers(len(leads)))])
    if source["kind"] == "music21":  # a chorale changes chord every beat: sing-able tempos
        style = dataclasses.replace(style, tempo=float(rng.uniform(50, 100)))
    entry = {
        "id": f"{set_name}-{index:05d}", "seed": SET_SEEDS[set_name] + index,
        "source": source, "beats_per_bar": prog.beats_per_bar, "spans": _spans_json(prog),
        "soundfont": sf, "category": category,
        "programs": {str(k): v for k, v in sorted(programs.items())},
        "style": {k: (round(v, 4) if isinstance(v, float) else v)
                  for k, v in dataclasses.asdict(style).items()},
        "augment": augment.draw(rng, augment_strength,
                                MAX_DETUNE_TRAIN if split == "train" else MAX_DETUNE_EVAL),
        "sample_rate": SAMPLE_RATE,
    }
    if set_name in VOICE_TRAIN_SETS:  # drawn last: the other sets' streams stay as they were
        entry["voice"] = dataclasses.asdict(draw_voice(rng))
    return entry


def build(set_name: str, count: int | None = None) -> dict[str, Any]:
    """The manifest of a set: ``unseen_timbre`` (test families, held-out programs, every
    template at least once plus random walks; every other clip clean), ``valid`` (the
    same recipe on the validation family), ``music21`` (every test-split chorale on the
    test family), ``valid_music21`` (every validation-split chorale on the validation
    family: chorale harmony for choices made on validation), ``train`` (training
    families and programs; templates, walks and training chorales transposed to random
    keys) or ``train_wide`` (the same over the wider training program pools)."""
    if set_name in MELODY_EVAL_SETS:
        return with_melody(build(MELODY_EVAL_SETS[set_name], count), set_name)
    if set_name in VOICE_EVAL_SETS:
        return with_voice(build(VOICE_EVAL_SETS[set_name], count), set_name)
    if set_name not in SET_SEEDS or set_name in RETIRED_SETS:
        raise ManifestError(f"unknown set {set_name!r}; choose from {set_names()}")
    split = {"unseen_timbre": "test", "music21": "test", "valid_music21": "valid",
             "valid_freepats": "valid", **METER_SETS,
             **{s: "train" for s in TRAIN_SETS}}.get(set_name, set_name)
    clips: list[dict[str, Any]] = []
    if set_name in METER_SETS:
        return _wrap(set_name, split, _meter_clips(set_name, split, count or METER_CLIPS))
    if set_name in ("music21", "valid_music21"):
        pieces = [p for p, s in music21_split().items() if s == split]
        for i, path in enumerate(pieces[:count]):
            rng = np.random.default_rng(SET_SEEDS[set_name] + i)
            prog = from_music21(path)
            clips.append(_clip(set_name, i, split, {"kind": "music21", "path": path,
                                                     "transpose": 0}, prog, rng,
                               0.0 if i % 2 else 1.0))
        return _wrap(set_name, split, clips)
    names = template_names()
    chorales = [p for p, s in music21_split().items() if s == "train"]
    n = count if count is not None else {"unseen_timbre": 60, "valid": 60,
                                         "valid_freepats": 60}.get(set_name, 1000)
    for i in range(n):
        rng = np.random.default_rng(SET_SEEDS[set_name] + i)
        kind_draw = rng.random()
        if split != "train" and i < len(names):
            kind = "template"
        elif split == "train":
            kind = "template" if kind_draw < 0.45 else "walk" if kind_draw < 0.8 else "music21"
        else:
            kind = "walk"
        if kind == "template":
            name = names[i % len(names)] if split != "train" else \
                names[int(rng.integers(len(names)))]
            tonic, halve = int(rng.integers(12)), bool(rng.random() < 0.2)
            base = from_template(name, tonic, 1, halve=halve)
            bpm_guess = 100.0
            repeats = max(1, round(TARGET_SECONDS / (base.total_beats * 60 / bpm_guess)))
            prog = from_template(name, tonic, min(repeats, 4), halve=halve)
            source: dict[str, Any] = {"kind": "template", "name": name, "tonic": tonic,
                                      "halve": halve}
        elif kind == "walk":
            prog = random_walk(rng, int(rng.integers(10, 20)))
            source = {"kind": "walk"}
        else:
            path = chorales[int(rng.integers(len(chorales)))]
            shift = int(rng.integers(-6, 6))
            prog = from_music21(path).transpose(shift)
            source = {"kind": "music21", "path": path, "transpose": shift}
        strength = 1.0 if split == "train" else (0.0 if i % 2 else 1.0)
        clips.append(_clip(set_name, i, split, source, prog, rng, strength))
    return _wrap(set_name, split, clips)


def _meter_clips(set_name: str, split: str, count: int) -> list[dict[str, Any]]:
    """Clip i plays template i // 2 (of those whose chords each last one bar) in 4/4
    when i is even and in 3/4 when odd, so both meters get the same harmony; pairs
    alternate between augmented and clean. A clip starts on a bar line after its
    lead-in, so its downbeats follow from its tempo."""
    names = [n for n in template_names() if "@" not in TEMPLATES[n.split("/")[0]][
        n.split("/")[1]]]
    clips = []
    for i in range(count):
        rng = np.random.default_rng(SET_SEEDS[set_name] + i)
        meter, name = (4, 3)[i % 2], names[(i // 2) % len(names)]
        tonic = int(rng.integers(12))
        base = from_template(name, tonic, 1, beats_per_bar=meter)
        repeats = max(1, round(TARGET_SECONDS / (base.total_beats * 60 / 100.0)))
        prog = from_template(name, tonic, min(repeats, 4), beats_per_bar=meter)
        source = {"kind": "template", "name": name, "tonic": tonic, "halve": False}
        clips.append(_clip(set_name, i, split, source, prog, rng,
                           1.0 if (i // 2) % 2 == 0 else 0.0))
    return clips


def with_melody(source: dict[str, Any], set_name: str) -> dict[str, Any]:
    """``source``'s clips, each with a held-out lead instrument (in turn) playing a
    melody over it; ids renamed, seeds, accompaniment, labels and augmentation kept."""
    clips = []
    for i, entry in enumerate(source["clips"]):
        available = soundfonts.SOUNDFONTS_BY_NAME[entry["soundfont"]].programs
        leads = soundfonts.program_pool("lead", source["split"], available=available)
        programs = {**entry["programs"], str(LEAD_CH): int(leads[i % len(leads)])}
        clips.append({**entry, "id": f"{set_name}-{i:05d}",
                      "programs": dict(sorted(programs.items(), key=lambda kv: int(kv[0])))})
    return {**source, "set": set_name, "clips": clips}


def with_voice(source: dict[str, Any], set_name: str) -> dict[str, Any]:
    """``source``'s clips, each with a held-out voice (alto and bass by turns, at
    their own formants) singing a tune over it (synth_voice.py); the voice at -2, +2
    and +5 dB over the band by turns; accompaniment, labels and augmentation kept."""
    clips = []
    levels = (-2.0, 2.0, 5.0)
    for i, entry in enumerate(source["clips"]):
        drawn = draw_voice(np.random.default_rng([int(entry["seed"]), 13]),
                           (HELD_OUT_VOICES[i % len(HELD_OUT_VOICES)],))
        voice = dataclasses.replace(drawn, formant_scale=1.0, level_db=levels[i % 3])
        clips.append({**entry, "id": f"{set_name}-{i:05d}",
                      "voice": dataclasses.asdict(voice)})
    return {**source, "set": set_name, "clips": clips}


def set_names() -> list[str]:
    """The sets ``build`` makes (the retired ones left out)."""
    return sorted([*(s for s in SET_SEEDS if s not in RETIRED_SETS), *MELODY_EVAL_SETS,
                   *VOICE_EVAL_SETS])


def _wrap(set_name: str, split: str, clips: list[dict[str, Any]]) -> dict[str, Any]:
    fonts = ([soundfonts.SOUNDFONTS_BY_NAME[SET_SOUNDFONT[set_name]]]
             if set_name in SET_SOUNDFONT else soundfonts.soundfonts_for(split))
    return {"format": FORMAT, "version": VERSION, "set": set_name, "split": split,
            "soundfonts": {sf.name: {"family": sf.family, "package": sf.package,
                                     "licence": sf.licence} for sf in fonts},
            "clips": clips}


def load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ManifestError(f"{path} is not a version-{VERSION} chord manifest")
    return data


def save(manifest: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1) + "\n")
