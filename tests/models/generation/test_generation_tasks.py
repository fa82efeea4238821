"""Generation tasks on a smoke-size model: every output is a valid clip that respects
the request (bars, key, given chords), and bad input gives a clear message."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import numpy as np
import pytest
from generation_tasks_support import smoke_backend

from models.generation import grammar as gm
from models.generation import tasks, tokens
from models.generation.midi_io import parse_chord
from models.generation.piece import MAJOR, MINOR, Piece, bar_ticks
from models.generation.tasks import GenerationError, GenerationRequest, generate

HOT: dict[str, Any] = {"temperature": 2.0, "top_p": 1.0}


def _tune(bars: int = 2, meter: tuple[int, int] = (4, 4)) -> Piece:
    """A C-major scale fragment repeated over `bars` bars."""
    bar = bar_ticks(*meter)
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [[b * bar + i * (bar // 4), bar // 4, pitches[(b * 4 + i) % 8], 90]
             for b in range(bars) for i in range(4)]
    return Piece("test", "tune", notes=np.array(notes, np.int32),
                 bars=np.array([[b * bar, *meter] for b in range(bars)], np.int32))


def _valid(piece: Piece, bars: int, meter: tuple[int, int] = (4, 4)) -> None:
    """Tokenizes (a playable clip in our vocabulary), exactly `bars` bars, nothing past
    the end, no overlapping notes."""
    tokens.encode(piece)
    assert len(piece.bars) == bars
    end = bars * bar_ticks(*meter)
    n = piece.notes
    if len(n):
        assert (n[:, 0] + n[:, 1]).max() <= end and n[:, 0].min() >= 0
        assert (n[1:, 0] >= n[:-1, 0] + n[:-1, 1]).all()


@pytest.mark.parametrize("seed", [0, 10, 20])
def test_continue_many_seeds_hot(seed: int) -> None:
    be = smoke_backend()
    msgs: list[str] = []
    out = generate(GenerationRequest("continue", prompt=_tune(), bars=6, seed=seed,
                                     variations=4, **HOT), be, messages=msgs)
    assert len(out) == 4
    for p in out:
        _valid(p, 6)
        assert (p.keys[0, 1], p.keys[0, 2]) == (0, MAJOR)
    assert any("estimated" in m for m in msgs)


def test_continue_with_chords_continues_the_lead_sheet_in_key_and_odd_meter() -> None:
    prompt = _tune(2, (7, 8))
    prompt.chords = np.array([[0, 84, 0, 0], [84, 84, 7, 0]], np.int32)
    out = generate(GenerationRequest("continue", prompt=prompt, bars=5, keep_in_key=True,
                                     key="C", variations=3, **HOT), smoke_backend())
    for p in out:
        _valid(p, 5, (7, 8))
        assert set((p.notes[:, 2] % 12).tolist()) <= gm.scale_pitch_classes(0, MAJOR)
        assert (p.bars[:, 1:] == [7, 8]).all()


def test_continue_keeps_the_lead_sheets_harmonic_rhythm() -> None:
    prompt = _tune(2)
    bar = bar_ticks(4, 4)
    prompt.chords = np.array([[0, bar, 0, 0], [bar, bar, 7, 0]], np.int32)  # C | G
    out = generate(GenerationRequest("continue", prompt=prompt, bars=6, seed=3,
                                     variations=4, **HOT), smoke_backend())
    for p in out:
        _valid(p, 6)
        # (the first row is the prompt's G sounding on into the new bars, not a change)
        per_bar = np.bincount(p.chords[1:, 0] // bar, minlength=6)
        assert per_bar.max() <= 1, per_bar  # a change a bar at most, like the prompt
    # Asked for more, it may write more.
    busy = generate(GenerationRequest("continue", prompt=prompt, bars=6, seed=3, variations=4,
                                      max_chords_per_bar=4, **HOT), smoke_backend())
    assert max(np.bincount(p.chords[1:, 0] // bar).max() for p in busy) > 1


def test_long_generation_slides_the_context_window() -> None:
    be = smoke_backend()  # context 128 tokens: 16 dense bars need several windows
    before = be.calls["prefill"]
    out = generate(GenerationRequest("continue", prompt=_tune(), bars=16, density=4.0,
                                     **HOT), be)
    _valid(out[0], 16)
    assert be.calls["prefill"] - before > 1


def test_a_prompt_longer_than_the_context_keeps_its_last_bars() -> None:
    msgs: list[str] = []
    out = generate(GenerationRequest("continue", prompt=_tune(12), bars=2), smoke_backend(),
                   messages=msgs)
    _valid(out[0], 2)
    assert any("last" in m and "bars are used" in m for m in msgs)


def test_melody_over_chords_keeps_every_given_chord() -> None:
    for chords, bars, want in [("C G Am F", None, 4), ("C | G D | Am | F", 8, 8),
                               ("A:min E:7", 3, 3)]:
        out = generate(GenerationRequest("melody", chords=chords, bars=bars, variations=3,
                                         **HOT), smoke_backend())
        for p in out:
            _valid(p, want)
            assert len(p.chords) and p.chords[0, 0] == 0
            # the lead sheet it was sampled as carries the given changes
            seq = tokens.encode(p).tolist()
            assert seq.count(tokens.BAR) == want
        labels = [c for c in chords.replace("|", " ").split()]
        first = parse_chord(labels[0])
        assert first is not None and tuple(out[0].chords[0, 2:]) == first


def test_melody_over_chords_as_tick_changes_in_minor_key() -> None:
    chords = [(0, "Am"), (48, "Dm"), (96, "E7"), (144, "Am")]
    out = generate(GenerationRequest("melody", chords=chords, keep_in_key=True, **HOT),
                   smoke_backend())
    p = out[0]
    _valid(p, 2)
    assert (p.keys[0, 1], p.keys[0, 2]) == (9, MINOR)
    assert set((p.notes[:, 2] % 12).tolist()) <= gm.scale_pitch_classes(9, MINOR)
    assert p.chords[:, 0].tolist() == [0, 48, 96, 144]


def test_harmonize_gives_every_bar_a_chord_from_the_candidates() -> None:
    prompt = _tune(4, (3, 4))
    for temperature in (0.0, 1.5):
        out = generate(GenerationRequest("harmonize", prompt=prompt, key="C", variations=2,
                                         temperature=temperature), smoke_backend())
        for p in out:
            assert np.array_equal(p.notes, prompt.notes)
            assert set(p.bars[:, 0].tolist()) <= set(p.chords[:, 0].tolist())
            cands = set(tasks.harmony_candidates((0, MAJOR)))
            assert {gm.chord_token(r, q) for _, _, r, q in p.chords.tolist()} <= cands
            assert (p.chords[:, 0] + p.chords[:, 1]).max() == p.end_tick()
            p.notes[:, 3] = tokens.quantize_velocity(p.notes[:, 3])  # the user's own
            tokens.encode(p)


def test_chords_task_writes_and_continues_progressions() -> None:
    out = generate(GenerationRequest("chords", key="Eb", bars=6, variations=3,
                                     keep_in_key=True, max_chords_per_bar=1, **HOT),
                   smoke_backend())
    scale = gm.scale_pitch_classes(3, MAJOR)
    for p in out:
        _valid(p, 6)
        assert len(p.notes) == 0 and len(p.chords) >= 1
        assert all(gm.chord_pitch_classes(r, q) <= scale for _, _, r, q in p.chords.tolist())
        assert np.bincount(p.chords[:, 0] // 96).max() <= 1
    cont = generate(GenerationRequest("chords", chords="C G Am F", bars=4, **HOT),
                    smoke_backend())
    _valid(cont[0], 4)


def test_next_chords_model_and_ngram() -> None:
    be = smoke_backend()
    for source in ("model", "ngram"):
        for history in ("C G Am", "", [(0, "Dm"), (96, "G7")]):
            sugg = tasks.next_chords(history, "C", n=5, backend=be, source=source)
            assert len(sugg) == 5
            probs = [p for _, p in sugg]
            assert sum(probs) <= 1 + 1e-9 and probs == sorted(probs, reverse=True)
            for label, _ in sugg:
                assert parse_chord(label) is not None
            if history == "C G Am":
                assert "Am" not in [lab for lab, _ in sugg]  # a suggestion is a change
    assert tasks.next_chords("C G", None, n=3)  # no backend: the n-gram; key estimated
    out = generate(GenerationRequest("next-chord", chords="C G Am", variations=3), be)
    assert len(out) == 3 and all(len(p.bars) == 4 and len(p.chords) == 4 for p in out)


def test_same_seed_same_result_and_variations_differ() -> None:
    req = GenerationRequest("continue", prompt=_tune(), bars=4, seed=5, variations=3, **HOT)
    a = generate(req, smoke_backend())
    b = generate(req, smoke_backend())
    assert all(np.array_equal(x.notes, y.notes) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].notes, a[1].notes) or \
        not np.array_equal(a[1].notes, a[2].notes)


def test_progress_is_reported_and_cancel_stops_the_run() -> None:
    seen: list[tasks.GenerationProgress] = []
    generate(GenerationRequest("continue", prompt=_tune(), bars=3), smoke_backend(),
             progress=seen.append)
    steps = [s for s in seen if not s.message]
    assert steps and steps[-1].fraction == 1.0
    assert all(a.fraction <= b.fraction for a, b in itertools.pairwise(steps))
    flag = threading.Event()

    def stop_soon(p: tasks.GenerationProgress) -> None:
        if p.tokens >= 5:
            flag.set()

    with pytest.raises(tasks.GenerationCancelled):
        generate(GenerationRequest("continue", prompt=_tune(), bars=8), smoke_backend(),
                 progress=stop_soon, cancel=flag)
    with pytest.raises(tasks.GenerationCancelled):
        generate(GenerationRequest("harmonize", prompt=_tune()), smoke_backend(),
                 cancel=lambda: True)


def test_empty_and_one_note_prompts() -> None:
    msgs: list[str] = []
    out = generate(GenerationRequest("continue", prompt=Piece("x", "empty"), bars=2),
                   smoke_backend(), messages=msgs)
    _valid(out[0], 2)
    assert any("no notes" in m for m in msgs)
    msgs.clear()
    one = Piece("x", "one", notes=np.array([[0, 24, 67, 100]], np.int32),
                bars=np.array([[0, 4, 4]], np.int32))
    out = generate(GenerationRequest("continue", prompt=one, bars=2), smoke_backend(),
                   messages=msgs)
    _valid(out[0], 2)
    assert any("single note" in m for m in msgs)
    assert any("C major assumed" in m for m in msgs)
    assert (out[0].notes[:, 3] == 96).all()  # the prompt's dynamic (100), in the bins


def test_absurd_settings_are_clamped_with_a_message() -> None:
    msgs: list[str] = []
    out = generate(GenerationRequest("chords", key="G", temperature=50, top_p=0, bars=500,
                                     variations=0, density=-3, pitch_range=(0, 300)),
                   smoke_backend(), messages=msgs)
    assert len(out) == 1 and len(out[0].bars) == 64
    text = " ".join(msgs)
    for name in ("temperature", "top_p", "bars", "variations", "density", "pitch range"):
        assert name in text


@pytest.mark.parametrize(("request_", "match"), [
    (GenerationRequest("compose"), "unknown task"),
    (GenerationRequest("harmonize"), "needs a melody"),
    (GenerationRequest("melody"), "needs chords"),
    (GenerationRequest("melody", chords="C Hm F"), "Hm"),
    (GenerationRequest("melody", chords="C Cfoo"), "unknown quality"),
    (GenerationRequest("melody", chords="   "), "empty"),
    (GenerationRequest("chords", key="H major"), "key"),
    (GenerationRequest("chords", time_signature=(7, 3)), "7/3"),
    (GenerationRequest("continue", temperature=float("nan")), "temperature"),
    (GenerationRequest("continue", prompt=Piece(
        "x", "low", notes=np.array([[0, 24, 5, 80]], np.int32))), "outside"),
])
def test_bad_input_gives_a_clear_error(request_: GenerationRequest, match: str) -> None:
    with pytest.raises(GenerationError, match=match):
        generate(request_, smoke_backend())


def test_parse_key() -> None:
    assert tasks.parse_key("C") == (0, MAJOR)
    assert tasks.parse_key("Am") == (9, MINOR)
    assert tasks.parse_key("F# minor") == (6, MINOR)
    assert tasks.parse_key("Bb major") == (10, MAJOR)
    assert tasks.parse_key("eb:min") == (3, MINOR)
    with pytest.raises(GenerationError):
        tasks.parse_key("Q")


def test_every_task_runs_on_the_shipped_onnx_backend() -> None:
    from models.generation.backends import load_backend

    be = load_backend("onnx")
    tune = _tune(2)
    for req, bars in [(GenerationRequest("continue", prompt=tune, bars=2, variations=2), 2),
                      (GenerationRequest("melody", chords="C G", variations=2), 2),
                      (GenerationRequest("chords", key="D", bars=2, variations=2), 2),
                      (GenerationRequest("harmonize", prompt=tune), 2)]:
        for p in generate(req, be):
            assert len(p.bars) == bars
    sugg = tasks.next_chords("C F", "C", n=3, backend=be, source="model")
    assert len(sugg) == 3 and sum(p for _, p in sugg) <= 1 + 1e-9


def test_next_chord_measurement_runs_on_a_few_validation_pieces() -> None:
    from generation_tasks_support import smoke_model

    for variant in ("stream", "bars"):
        res = tasks.next_chord_accuracy(smoke_model(), "valid", limit=2, variant=variant)
        assert res["targets"] > 0
        for who in ("ngram", "model"):
            assert 0 <= res[who]["top1"] <= res[who]["top3"] <= 1


def test_bar_level_keeps_the_chord_at_each_bar_line() -> None:
    p = Piece("t", "t", bars=np.array([[0, 4, 4], [96, 4, 4], [192, 4, 4]], np.int32),
              chords=np.array([[0, 48, 0, 0], [48, 96, 7, 0], [144, 144, 7, 4]], np.int32))
    q = tasks.bar_level(p)
    assert q.chords.tolist() == [[0, 96, 0, 0], [96, 96, 7, 0], [192, 96, 7, 4]]


def test_harmonize_scores_the_same_with_and_without_cache_row_selection() -> None:
    from generation_tasks_support import smoke_backend as make

    prefixes = [[734, 1, 40, 50, 3, 100, 200]] * 3 + [[734, 1, 40, 50, 3, 101, 200]] * 2
    segs = [[3, 60, 400], [3, 61, 400], [3, 62], [3, 60, 400], [3, 63]]
    ids = [0, 0, 0, 1, 1]
    fast = tasks._score(make(), prefixes, segs, None, ids)
    slow = tasks._score(make(with_select=False), prefixes, segs, None, ids)
    assert np.allclose(fast, slow, atol=1e-4)
    prompt = _tune(2)
    a = generate(GenerationRequest("harmonize", prompt=prompt, key="C", temperature=0),
                 make())
    b = generate(GenerationRequest("harmonize", prompt=prompt, key="C", temperature=0),
                 make(with_select=False))
    assert np.array_equal(a[0].chords, b[0].chords)


def test_harmonize_fit_weight_picks_chords_holding_the_notes() -> None:
    arpeggios = [[0, 60], [24, 64], [48, 67], [72, 64],  # C E G E
                 [96, 67], [120, 71], [144, 74], [168, 71]]  # G B D B
    prompt = Piece("t", "arp", notes=np.array([[t, 24, p, 80] for t, p in arpeggios], np.int32),
                   bars=np.array([[0, 2, 4], [48, 2, 4], [96, 2, 4], [144, 2, 4]], np.int32))
    out = tasks.harmonize(GenerationRequest("harmonize", prompt=prompt, key="C",
                                            temperature=0), smoke_backend(), fit_weight=100.0)
    for o, _, r, q in out[0].chords.tolist():  # C (or a chord holding C E G), then G
        bar = prompt.notes[(prompt.notes[:, 0] >= o) & (prompt.notes[:, 0] < o + 48)]
        assert set((bar[:, 2] % 12).tolist()) <= gm.chord_pitch_classes(r, q)
    assert out[0].chords[:, 0].tolist() == [0, 48, 96, 144]


def test_progressions_are_written_in_a_key_the_chords_stream_knows_and_moved_back() -> None:
    # The chords stream trains in its pieces' own keys (mostly G, F, C, D major and
    # A, D, G minor): other keys are moved to the nearest of those and back.
    assert tasks.chord_stream_shift((0, MAJOR)) == 0
    assert tasks.chord_stream_shift((4, MAJOR)) == 1  # E -> F
    assert tasks.chord_stream_shift((11, MAJOR)) == 1  # B -> C
    assert tasks.chord_stream_shift((9, MINOR)) == 0
    assert tasks.chord_stream_shift((1, MINOR)) == 1  # C# minor -> D minor
    be = smoke_backend()
    out = generate(GenerationRequest("chords", chords="E B C#m A", key="E", bars=4,
                                     keep_in_key=True, seed=3, **HOT), be)
    scale = gm.scale_pitch_classes(4, MAJOR)
    for piece in out:
        assert (piece.keys[0, 1], piece.keys[0, 2]) == (4, MAJOR)
        for _, _, root, quality in piece.chords.tolist():
            assert gm.chord_pitch_classes(root, quality) <= scale  # E major's chords
    # E major is asked in F major: the same answers a semitone lower
    in_e = tasks.next_chords("E B C#m", "E", n=5, backend=be, source="model")
    in_f = tasks.next_chords("F C Dm", "F", n=5, backend=be, source="model")
    assert [p for _, p in in_e] == pytest.approx([p for _, p in in_f])
    for (e, _), (f, _) in zip(in_e, in_f, strict=True):
        (re, qe), (rf, qf) = parse_chord(e), parse_chord(f)  # type: ignore[misc]
        assert (re, qe) == ((rf - 1) % 12, qf)


def test_the_tasks_and_the_onnx_runtime_load_without_torch() -> None:
    # torch takes over a second to import: the generation worker's ONNX path skips it.
    import subprocess
    import sys

    code = ("import sys, models.generation.tasks, models.generation.backends; "
            "sys.exit(int('torch' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
