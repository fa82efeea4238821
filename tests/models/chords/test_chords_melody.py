"""The lead melody over the chords (melody.py) and the sets that carry one."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from chords_support import RATE, synth

from models.chords import manifest as mf
from models.chords import soundfonts as sfs
from models.chords.melody import HIGH, LEAD_CH, LOW, lead_line, scale_of
from models.chords.performance import PlayStyle, perform
from models.chords.progressions import from_template, random_walk
from models.chords.render import performance_of
from models.chords.vocabulary import parse


def _line(seed: int, beats: int = 40) -> tuple[list, object, PlayStyle]:
    rng = np.random.default_rng(seed)
    prog = random_walk(rng, beats // 4)
    style = PlayStyle(texture="strum", tempo=float(rng.uniform(70, 160)), lead_in=0.5)
    return lead_line(prog, style, np.random.default_rng(seed + 100)), prog, style


def _chord_at(prog, style: PlayStyle, t: float):
    spb, beat = 60.0 / style.tempo, 0.0
    for span in prog.spans:
        start = style.lead_in + beat * spb
        beat += span.beats
        if start - 1e-9 <= t < style.lead_in + beat * spb - 1e-9:
            return span.chord
    return None


def test_the_tune_sings_chord_tones_on_strong_beats_and_others_between() -> None:
    on_strong = [0, 0]  # chord tones, all
    off_beat = [0, 0]
    for seed in range(12):
        notes, prog, style = _line(seed)
        assert notes and all(n.channel == LEAD_CH for n in notes)
        assert all(LOW <= n.pitch <= HIGH and n.end > n.start for n in notes)
        spb = 60.0 / style.tempo
        for n in notes:
            chord = _chord_at(prog, style, n.start)
            assert chord is not None and not chord.is_no_chord
            # Every note is of the scale that holds the chord sounding, or the next
            # chord's tone sung early.
            pos = (n.start - style.lead_in) / spb
            tone = n.pitch % 12 in chord.pitch_classes
            if abs(pos - round(pos)) < 0.05 and round(pos) % 2 == 0:
                on_strong[0] += tone
                on_strong[1] += 1
            else:
                off_beat[0] += tone
                off_beat[1] += 1
    strong_share, weak_share = on_strong[0] / on_strong[1], off_beat[0] / off_beat[1]
    # (strong beats counted from the clip's start, not each chord's, hence the margins)
    assert strong_share > 0.7 and weak_share < strong_share - 0.1
    assert 0.3 < weak_share < 0.9  # a tune, not an arpeggio nor a random walk


def test_the_tune_moves_mostly_by_step_and_breathes_between_phrases() -> None:
    notes, _, style = _line(3, beats=80)
    leaps = [abs(b.pitch - a.pitch) for a, b in itertools.pairwise(notes)]
    assert np.median(leaps) <= 4 and max(leaps) <= HIGH - LOW
    gaps = [b.start - a.end for a, b in itertools.pairwise(notes)]
    assert sum(g > 0.4 * 60.0 / style.tempo for g in gaps) >= 2  # rests between phrases


def test_scale_of_holds_the_chord_and_follows_its_third() -> None:
    for label in ("C:maj", "A:min", "B:dim7", "F#:hdim7", "E:aug", "D:sus4", "G:7"):
        chord = parse(label)
        scale = scale_of(chord)
        assert set(chord.pitch_classes) <= scale
        assert len(scale) <= 9
    assert 4 in scale_of(parse("C:maj")) and 3 not in scale_of(parse("C:maj"))
    assert 0 in scale_of(parse("A:min")) and 1 not in scale_of(parse("A:min"))


def test_nothing_is_sung_over_no_chord() -> None:
    prog = from_template("pop/axis", 0, 2)
    prog = dataclasses.replace(prog, spans=[*prog.spans[:2],
                                            dataclasses.replace(prog.spans[2],
                                                                chord=parse("N")),
                                            *prog.spans[3:]])
    style = PlayStyle(tempo=100.0, lead_in=0.5)
    notes = lead_line(prog, style, np.random.default_rng(0))
    spb = 60.0 / style.tempo
    n_start = 0.5 + sum(s.beats for s in prog.spans[:2]) * spb
    n_end = n_start + prog.spans[2].beats * spb
    # An anticipation of the next chord may start an eighth before it, no earlier.
    assert not [n for n in notes if n_start - 1e-9 <= n.start < n_end - 0.5 * spb - 1e-9]


def test_a_melody_set_plays_its_sources_accompaniment_note_for_note() -> None:
    valid, melody = mf.build("valid", 6), mf.build("valid_melody", 6)
    assert melody["split"] == "valid" and melody["set"] == "valid_melody"
    for a, b in zip(valid["clips"], melody["clips"], strict=True):
        assert b["id"].startswith("valid_melody-") and b["seed"] == a["seed"]
        assert b["augment"] == a["augment"] and b["spans"] == a["spans"]
        assert b["programs"][str(LEAD_CH)] in sfs.PROGRAMS["lead"]["heldout"]
        with_tune, without = performance_of(b), performance_of(a)
        assert with_tune.segments == without.segments
        assert [n for n in with_tune.notes if n.channel != LEAD_CH] == without.notes
        assert any(n.channel == LEAD_CH for n in with_tune.notes)


def test_the_melody_training_set_leads_on_training_programs_only() -> None:
    data = mf.build("train_melody", 40)
    heldout = {p for pools in sfs.PROGRAMS.values() for p in pools["heldout"]}
    leads = {c["programs"][str(LEAD_CH)] for c in data["clips"]}
    assert leads <= set(sfs.program_pool("lead", "train", wide=True))
    assert not leads & heldout and len(leads) >= 5
    assert {sfs.split_of_soundfont(c["soundfont"]) for c in data["clips"]} == {"train"}


def test_the_lead_renders_on_its_own_channel() -> None:
    entry = mf.build("train_melody", 1)["clips"][0]
    perf = performance_of(entry)
    programs = {int(ch): p for ch, p in entry["programs"].items()}
    with_lead = synth().render(perf, programs)
    without = synth().render(
        dataclasses.replace(perf, notes=[n for n in perf.notes if n.channel != LEAD_CH]),
        {ch: p for ch, p in programs.items() if ch != LEAD_CH})
    diff = with_lead.mean(axis=1) - without.mean(axis=1)
    assert with_lead.shape == without.shape and with_lead.shape[0] > RATE
    # The tune is heard: a few dB of the mix, not a whisper.
    assert np.sqrt(np.mean(diff**2)) > 0.1 * np.sqrt(np.mean(without**2))


def test_perform_alone_draws_no_melody() -> None:
    prog = from_template("pop/axis", 0)
    perf = perform(prog, PlayStyle(), np.random.default_rng(0))
    assert not [n for n in perf.notes if n.channel == LEAD_CH]


@pytest.mark.parametrize("name", sorted(mf.MELODY_EVAL_SETS))
def test_melody_sets_are_in_the_set_names(name: str) -> None:
    assert name in mf.set_names()
