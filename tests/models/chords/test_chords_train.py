"""Chord training pieces: frame labels, transposition, segments, and the smoke run of
the command line (renders its own tiny clips with FluidR3_GM)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.chords import features as feat
from models.chords.train import (
    BASS_N,
    CACHE_BINS,
    CACHE_OFFSET,
    HARMONIC_SHIFTS,
    HARMONIC_WEIGHTS,
    CachedSet,
    Sampler,
    TrainError,
    build_cache,
    frame_labels,
    lr_at,
    main,
    merged,
    onset_weights,
    segments_from_frames,
    transpose_tables,
)
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, from_index, parse

REPO = Path(__file__).resolve().parents[3]


def test_frame_labels_follow_the_segment_under_each_frame_centre() -> None:
    rows = [(0.0, 0.5, "N"), (0.5, 1.0, "C:maj/3"), (1.0, 2.0, "A:min7")]
    n = int(2.5 * feat.FPS)
    chord, bass = frame_labels(rows, n)
    t = np.asarray(feat.frame_time(np.arange(n)))
    assert (chord[t < 0.5] == N_INDEX).all() and (bass[t < 0.5] == BASS_N).all()
    mid = (t >= 0.5) & (t < 1.0)
    assert (chord[mid] == parse("C:maj").index).all() and (bass[mid] == 4).all()
    late = (t >= 1.0) & (t < 2.0)
    assert (chord[late] == parse("A:min7").index).all() and (bass[late] == 9).all()
    assert (chord[t >= 2.0] == N_INDEX).all()  # after the last segment: no chord


def test_transposition_tables_agree_with_the_vocabulary() -> None:
    tc, tb = transpose_tables()
    for s in range(12):
        for i in range(NUM_CLASSES):
            assert tc[s, i] == from_index(i).transpose(s).index
        assert tb[s, BASS_N] == BASS_N
        assert list(tb[s, :12]) == [(p + s) % 12 for p in range(12)]


def test_merged_collapses_repeats() -> None:
    assert merged(np.array([3, 3, 5, 5, 5, 3, 156, 156])).tolist() == [3, 5, 3, 156]
    assert merged(np.array([], np.int64)).size == 0


def test_segments_from_frames_tile_the_clip_and_name_inversions() -> None:
    c_maj, g7 = parse("C:maj").index, parse("G:7").index
    chord = np.array([N_INDEX] * 3 + [c_maj] * 10 + [g7] * 10)
    bass = np.array([BASS_N] * 3 + [4] * 10 + [7] * 6 + [11] * 4)
    duration = 23 / feat.FPS + 0.05
    iv, labels = segments_from_frames(chord, bass, duration)
    assert labels == ["N", "C:maj/3", "G:7"]
    assert iv[0, 0] == 0.0 and iv[-1, 1] == pytest.approx(duration)
    assert np.allclose(iv[1:, 0], iv[:-1, 1])
    iv, labels = segments_from_frames(np.zeros(0, np.int64), np.zeros(0, np.int64), 1.0)
    assert labels == ["N"]


def _spike_set(midi: int) -> CachedSet:
    """One clip of C:maj whose spectrum is a single line at ``midi``."""
    n = 300
    feats = np.zeros((n, CACHE_BINS), np.float16)
    feats[:, CACHE_OFFSET + 3 * (midi - feat.LOWEST_MIDI) + 1] = 3.0
    return CachedSet("spike", feats, np.full(n, parse("C:maj").index, np.int16),
                     np.zeros(n, np.int8), np.array([0, n]), ["spike"], np.array([7.0]),
                     ["unused.lab"])


def test_transposition_moves_spectrum_and_labels_together() -> None:
    sampler = Sampler([_spike_set(60)], 100, 16, np.random.default_rng(0))
    seen = set()
    for _ in range(4):
        b = sampler.batch_arrays()
        for j in range(16):
            root = int(b["chord"][j, 0]) // 13
            line = int(b["x"][j].mean(0).argmax())
            shift = (line - 1) // 3 + feat.LOWEST_MIDI - 60
            assert shift % 12 == root and b["bass"][j, 0] == root
            assert b["targets"].size == 16  # one chord per crop
            seen.add(shift)
    assert len(seen) >= 8  # most of the 12 keys come up


def _coverage(sampler: Sampler, n: int, draws: int = 4000) -> np.ndarray:
    seen = np.zeros(n)
    for _ in range(draws):
        a = sampler.crop_start(n)
        assert 0 <= a <= n - sampler.crop
        seen[a: a + sampler.crop] += 1
    return seen / draws


def test_frame_coverage_crops_see_a_clips_last_second_as_often_as_its_middle() -> None:
    n, crop = 1300, 646  # a 30-s clip, 15-s crops
    start = _coverage(Sampler([_spike_set(60)], crop, 8, np.random.default_rng(0)), n)
    frames = _coverage(Sampler([_spike_set(60)], crop, 8, np.random.default_rng(0),
                               coverage="frames"), n)
    last_second = slice(n - 43, n)
    # uniform starts: the closing second (the ring-out labelled N) is in few crops
    assert start[last_second].mean() < 0.05 and start[n // 2] > 0.95
    assert frames[last_second].mean() > 0.25 and frames[:43].mean() > 0.25
    # within a factor of two (the crops moved inside add to the frames a crop's length
    # from each edge); the edges as often as the middle of a long clip
    assert frames.max() / frames.min() < 2.2
    long = _coverage(Sampler([_spike_set(60)], crop, 8, np.random.default_rng(2),
                             coverage="frames"), 3000, 6000)
    assert long.max() / long.min() < 2.2
    assert long[-43:].mean() == pytest.approx(long[1500], rel=0.2)
    # a clip shorter than the crop is taken whole either way
    assert Sampler([_spike_set(60)], crop, 8, np.random.default_rng(1),
                   coverage="frames").crop_start(300) == 0
    with pytest.raises(TrainError):
        Sampler([_spike_set(60)], crop, 8, np.random.default_rng(0), coverage="edges")


def _sized_set(name: str, clips: list[int]) -> CachedSet:
    """Clips of the given frame counts (empty spectra, C:maj): only sizes matter."""
    n = sum(clips)
    return CachedSet(name, np.zeros((n, CACHE_BINS), np.float16),
                     np.full(n, parse("C:maj").index, np.int16), np.zeros(n, np.int8),
                     np.concatenate([[0], np.cumsum(clips)]), [f"{name}{i}" for i in
                                                              range(len(clips))],
                     np.array(clips, float) / feat.FPS, ["unused.lab"] * len(clips))


def test_shares_give_a_set_its_fraction_of_the_crops_and_the_rest_by_length() -> None:
    big, wide, rec = (_sized_set("train", [400, 200, 200]), _sized_set("wide", [800]),
                      _sized_set("rec", [100, 300]))
    plain = Sampler([big, wide, rec], 50, 4, np.random.default_rng(0))
    assert plain.p.tolist() == pytest.approx([0.2, 0.1, 0.1, 0.4, 0.05, 0.15])
    shared = Sampler([big, wide, rec], 50, 4, np.random.default_rng(0),
                     shares={"rec": 0.1})
    # rec: 10 % by its clips' lengths; train and wide: 90 % by theirs
    assert shared.p.tolist() == pytest.approx([0.225, 0.1125, 0.1125, 0.45, 0.025, 0.075])
    picks = np.random.default_rng(1).choice(6, size=20000, p=shared.p)
    assert np.isin(picks, [4, 5]).mean() == pytest.approx(0.1, abs=0.01)
    for bad in ({"nope": 0.1}, {"rec": 0.0}, {"rec": 1.0}, {"rec": 0.6, "wide": 0.5},
                {"train": 0.3, "wide": 0.3, "rec": 0.3}):
        with pytest.raises(TrainError):
            Sampler([big, wide, rec], 50, 4, np.random.default_rng(0), shares=bad)


def test_share_option_reads_set_equals_fraction() -> None:
    from models.chords.train import _share

    assert _share("build/chords/train_tonejs=0.15") == ("train_tonejs", 0.15)
    for bad in ("train_tonejs", "train_tonejs=1.5", "=0.1", "train_tonejs=x"):
        with pytest.raises(argparse.ArgumentTypeError):
            _share(bad)


def _flat_set() -> CachedSet:
    """One clip of C:maj whose spectrum is the same level in every bin."""
    return _one_clip_set("flat", np.full((300, CACHE_BINS), 3.0, np.float16))


def _one_clip_set(name: str, frames: np.ndarray) -> CachedSet:
    n = frames.shape[0]
    return CachedSet(name, frames, np.full(n, parse("C:maj").index, np.int16),
                     np.zeros(n, np.int8), np.array([0, n]), [name], np.array([7.0]),
                     ["unused.lab"])


def _assert_off_draws_nothing(cached: CachedSet, seed: int, **off: Any) -> None:
    """An augmentation at 0 gives the batches of a sampler without it, so the earlier
    recipes rebuild as they were."""
    plain = Sampler([cached], 100, 8, np.random.default_rng(seed)).batch_arrays()
    same = Sampler([cached], 100, 8, np.random.default_rng(seed), **off).batch_arrays()
    for k in plain:
        assert np.array_equal(plain[k], same[k]), k


def test_spectral_envelope_is_a_smooth_eq_per_crop_and_off_by_default() -> None:
    _assert_off_draws_nothing(_flat_set(), 3, envelope_db=0.0)
    on = Sampler([_flat_set()], 100, 8, np.random.default_rng(3), envelope_db=6.0)
    b = on.batch_arrays()
    assert (b["chord"] // 13 == b["bass"]).all()  # labels still follow the shift alone
    # back to dB on the magnitudes (features are log1p of them); the top 2 semitones
    # can be zeros after a transposition, so read the bins every shift fills
    db = 20 * np.log10(np.expm1(b["x"][:, :, : feat.N_BINS - 6].astype(np.float64)))
    assert np.allclose(db, db[:, :1], atol=1e-3)  # one EQ over a whole crop
    curve = db[:, 0] - db[:, 0].mean(axis=1, keepdims=True)
    spread = curve.max(axis=1) - curve.min(axis=1)
    assert (spread > 3).all() and spread.max() < 70  # an EQ of a few to tens of dB
    assert np.abs(np.diff(curve, axis=1)).max() < 1.5  # smooth: < 1.5 dB per bin
    assert np.abs(curve[0] - curve[1]).max() > 1  # every crop its own
    with pytest.raises(TrainError):
        Sampler([_flat_set()], 100, 8, np.random.default_rng(0), envelope_db=-1)


def _tone_set() -> CachedSet:
    """One clip whose spectrum is a single bin (a sine at MIDI 48) at log1p(1)."""
    f = np.zeros((300, CACHE_BINS), np.float16)
    f[:, CACHE_OFFSET + feat.BINS_PER_SEMITONE * (48 - feat.LOWEST_MIDI) + 1] = np.log1p(1.0)
    return _one_clip_set("tone", f)


def test_harmonic_copies_add_partials_at_harmonic_intervals_only() -> None:
    _assert_off_draws_nothing(_tone_set(), 5, harmonics=0.0)
    b = Sampler([_tone_set()], 100, 16, np.random.default_rng(5),
                harmonics=0.8).batch_arrays()
    assert (b["chord"] // 13 == b["bass"]).all()  # labels still follow the shift alone
    m = np.expm1(b["x"].astype(np.float64))
    assert np.allclose(m, m[:, :1], atol=1e-6)  # one balance over a whole crop
    seen = np.zeros(len(HARMONIC_SHIFTS))
    offsets = [s * feat.BINS_PER_SEMITONE for s in HARMONIC_SHIFTS]
    for crop in m[:, 0]:
        lit = np.flatnonzero(crop > 1e-9)
        k0 = int(lit[0])  # the tone itself, wherever the transposition put it
        assert set(lit - k0) <= {0, *offsets}  # nothing between the partials
        for i, (off_k, w) in enumerate(zip(offsets, HARMONIC_WEIGHTS, strict=True)):
            ratio = crop[k0 + off_k] / crop[k0] if k0 + off_k < crop.size else 0.0
            assert 0.0 <= ratio <= 0.8 * w + 1e-6
            seen[i] = max(seen[i], ratio / (0.8 * w))
    assert (seen > 0.5).all()  # the gains are drawn over their range, not stuck near 0
    with pytest.raises(TrainError, match="harmonic"):
        Sampler([_tone_set()], 100, 8, np.random.default_rng(0), harmonics=-0.1)


def test_frequency_warp_moves_a_partial_a_little_and_keeps_its_energy() -> None:
    _assert_off_draws_nothing(_tone_set(), 6, warp=0.0)
    b = Sampler([_tone_set()], 100, 8, np.random.default_rng(6), warp=1.5).batch_arrays()
    assert (b["chord"] // 13 == b["bass"]).all()  # labels still follow the shift alone
    m = np.expm1(b["x"].astype(np.float64))
    assert np.allclose(m, m[:, :1], atol=1e-6)  # one warp over a whole crop
    # each partial alone: every bin of a one-bin spectrum, warped by one draw
    warp = Sampler([_tone_set()], 100, 8, np.random.default_rng(8), warp=1.5)
    bins = np.arange(feat.N_BINS)
    moves = set()
    for _ in range(20):
        out = warp.frequency_warp(np.eye(feat.N_BINS, dtype=np.float32))  # row p: bin p
        inner = slice(3, feat.N_BINS - 3)  # the edges are clamped
        assert (np.count_nonzero(out[inner] > 1e-7, axis=1) <= 3).all()  # its neighbours
        assert np.allclose(out[inner].sum(axis=1), 1.0, atol=0.05)  # kept, but for the stretch
        move = (out[inner] * bins).sum(axis=1) / out[inner].sum(axis=1) - bins[inner]
        assert np.abs(move).max() <= 1.5 + 0.05
        assert np.abs(np.diff(move)).max() < 0.1  # smooth over the registers
        moves.add(round(float(move[100]), 6))
    assert len(moves) == 20 and max(abs(d) for d in moves) > 0.5
    with pytest.raises(TrainError, match="warp"):
        Sampler([_tone_set()], 100, 8, np.random.default_rng(0), warp=-1)


def test_frequency_masks_silence_narrow_bands_and_leave_the_rest() -> None:
    _assert_off_draws_nothing(_flat_set(), 7, mask_bins=0)
    b = Sampler([_flat_set()], 100, 32, np.random.default_rng(7), mask_bins=6).batch_arrays()
    x = b["x"][:, :, : feat.N_BINS - 6]  # the bins every transposition fills
    assert np.array_equal(x, np.repeat(x[:, :1], x.shape[1], axis=1))
    widest = 0
    for crop in x[:, 0]:
        off = crop == 0
        assert np.allclose(crop[~off], crop[~off][0])  # the rest as it was (one gain)
        edges = np.flatnonzero(np.diff(np.r_[0, off.astype(int), 0]))  # starts, ends
        runs = edges[1::2] - edges[::2]  # the silenced bands' widths
        assert len(runs) <= 2 and off.sum() <= 12
        widest = max(widest, int(runs.max(initial=0)))
    assert widest >= 5  # widths are drawn up to the limit
    with pytest.raises(TrainError, match="masks"):
        Sampler([_flat_set()], 100, 8, np.random.default_rng(0), mask_bins=-1)


def test_lr_warms_up_then_decays() -> None:
    lrs = [lr_at(p, 1.0) for p in np.linspace(0, 1, 101)]
    top = int(np.argmax(lrs))
    assert lrs[0] < 0.1 and top <= 4
    assert all(a >= b for a, b in zip(lrs[top:], lrs[top + 1:], strict=False))
    assert lrs[-1] == pytest.approx(0.02)


def test_test_sets_are_refused(tmp_path: Path) -> None:
    d = tmp_path / "unseen_timbre"
    (d / "audio").mkdir(parents=True)
    with pytest.raises(TrainError, match="test set"):
        build_cache(d, tmp_path / "cache")
    with pytest.raises(TrainError, match="no audio"):
        build_cache(tmp_path / "nothing", tmp_path / "cache")


@pytest.mark.parametrize("shape", [["--hidden", "128"], ["--stack-harmonics", "1,2,3"],
                                   ["--contrast-bins", "37"]])
@pytest.mark.parametrize("run", [["--init", "a.pt"], ["--resume"], ["--smoke"]])
def test_model_shapes_are_only_for_a_new_model(tmp_path: Path, run: list[str],
                                               shape: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), *shape, *run])
    assert stop.value.code == 2 and "shape a new model" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["1,-2", "1,0", "1,1", "1,x", ""])
def test_stacked_harmonics_must_be_distinct_positive_numbers(
        tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--stack-harmonics", bad])
    assert stop.value.code == 2 and "--stack-harmonics" in capsys.readouterr().err


def test_a_negative_spectral_envelope_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--spectral-envelope", "-3"])
    assert stop.value.code == 2 and "strength in dB" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--harmonics", "-0.5"])
    assert stop.value.code == 2 and "--harmonics is a gain" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--warp", "-1"])
    assert stop.value.code == 2 and "are in bins" in capsys.readouterr().err
    for bad in (["--average-from", "1.5"], ["--average-from", "-0.1"],
                ["--average-every", "0"]):
        with pytest.raises(SystemExit) as stop:
            main(["--out", str(tmp_path), *bad])
        assert stop.value.code == 2 and "fraction of the budget" in capsys.readouterr().err


def test_a_missing_validation_set_is_named_with_its_render_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = tmp_path / "valid_freepats"
    assert main(["--out", str(tmp_path / "run"), "--valid", str(gone)]) == 2
    err = capsys.readouterr().err
    assert str(gone) in err and "manifests/valid_freepats.json" in err


def test_onset_weights_mark_the_frames_after_each_change() -> None:
    ign = -100
    chord = np.array([[5, 5, 7, 7, 7, 7, 9, 9, ign, ign],
                      [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]])
    w = onset_weights(chord, 3, 4.0)
    assert w[0].tolist() == [1, 1, 4, 4, 4, 1, 4, 4, 0, 0]
    assert w[1].tolist() == [1] * 10  # no change (the crop's first frame is none)
    assert onset_weights(chord, 3, 1.0).tolist() == (chord != ign).astype(float).tolist()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "models.chords.train", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.timeout(1500)  # about a minute alone; far longer on a machine busy with training
def test_smoke_training_runs_validates_and_resumes(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from models.chords.model import load_checkpoint

    out = tmp_path / "run"
    r = _run("--smoke", "--out", str(out), "--minutes", "0.25", "--threads", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["done"] and summary["step"] > 0
    for name in ("last.pt", "best.pt", "log.json", "plot.png"):
        assert (out / name).exists(), name
    log = json.loads((out / "log.json").read_text())
    valid = [e["valid"] for e in log if "valid" in e]
    assert valid and all(0.0 <= v["offline_majmin"] <= 1.0 for v in valid)
    # best.pt is chosen on the mean over both validation sets; the first set's
    # figures stay at the top level.
    for v in valid:
        assert list(v["sets"]) == ["smoke-valid", "smoke-valid-b"]
        assert v["sets"]["smoke-valid"]["offline_majmin"] == v["offline_majmin"]
        mean = sum(r["score"] for r in v["sets"].values()) / 2
        assert abs(v["score"] - mean) < 1e-4
    assert summary["best"]["score"] == max(v["score"] for v in valid)
    model, ck = load_checkpoint(out / "best.pt")
    assert ck["meta"]["blank"] == NUM_CLASSES and not model.training

    r2 = _run("--smoke", "--out", str(out), "--minutes", "0.35", "--resume")
    assert r2.returncode == 0, r2.stderr[-2000:]
    assert "resumed at step" in r2.stdout
    assert json.loads(r2.stdout.strip().splitlines()[-1])["step"] > summary["step"]

    # The live branch alone, with a causal trunk of its own: the rest stays as it was.
    live = tmp_path / "live"
    r3 = _run("--smoke", "--out", str(live), "--minutes", "0.15", "--init",
              str(out / "best.pt"), "--live-only", "--live-lookahead", "0",
              "--onset-weight", "3")
    assert r3.returncode == 0, r3.stderr[-2000:]
    r4 = _run("--smoke", "--out", str(live), "--minutes", "0.25", "--resume", "--live-only")
    assert r4.returncode == 0, r4.stderr[-2000:]
    assert "resumed at step" in r4.stdout
    tuned, ck3 = load_checkpoint(live / "last.pt")
    assert ck3["meta"]["live_lookahead"] == 0 and tuned.live_trunk is not None
    before, _ = load_checkpoint(out / "best.pt")
    after = tuned.state_dict()
    for name, value in before.state_dict().items():
        if not name.startswith("live_"):
            assert (after[name] == value).all(), name
    assert not (after["live_trunk.proj.weight"] == before.trunk.proj.weight).all()

    # A step budget: the run stops at that step, and the same seed gives the same
    # weights bit for bit however fast the machine is.
    # The second run also averages its weights (steps 6, 8, 10, 12), which must not
    # change its training.
    runs = [tmp_path / "steps-a", tmp_path / "steps-b"]
    averaging = {runs[0]: [], runs[1]: ["--average-from", "0.5", "--average-every", "2"]}
    for d in runs:
        r5 = _run("--smoke", "--out", str(d), "--steps", "12", "--threads", "1",
                  *averaging[d])
        assert r5.returncode == 0, r5.stderr[-2000:]
        done = json.loads(r5.stdout.strip().splitlines()[-1])
        assert done["done"] and done["step"] == 12
        checks = [e["step"] for e in json.loads((d / "log.json").read_text()) if "valid" in e]
        assert checks == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]  # every twentieth, at least 1
    a, _ = load_checkpoint(runs[0] / "last.pt")
    b, _ = load_checkpoint(runs[1] / "last.pt")
    b_weights = b.state_dict()
    for name, value in a.state_dict().items():
        assert (b_weights[name] == value).all(), name
    assert not (runs[0] / "average.pt").exists()
    # --bf16: the same run with its forward pass in bfloat16 trains other weights (the
    # flag takes effect) and still writes float32 ones, as a float32 run does.
    bf = tmp_path / "steps-bf16"
    r7 = _run("--smoke", "--out", str(bf), "--steps", "12", "--threads", "1", "--bf16")
    assert r7.returncode == 0, r7.stderr[-2000:]
    c, ck_c = load_checkpoint(bf / "last.pt")
    assert ck_c["args"]["bf16"] == "True"
    a_weights = a.state_dict()
    assert all(v.dtype == a_weights[n].dtype for n, v in c.state_dict().items())
    assert c.state_dict()["trunk.proj.weight"].dtype == torch.float32
    assert not (c.state_dict()["trunk.proj.weight"] == a_weights["trunk.proj.weight"]).all()
    mean, ck_mean = load_checkpoint(runs[1] / "average.pt")
    assert ck_mean["state"]["averaged"] == 4 and ck_mean["state"]["step"] == 12
    assert not (mean.state_dict()["trunk.proj.weight"] == b_weights["trunk.proj.weight"]).all()
    log_b = [e for e in json.loads((runs[1] / "log.json").read_text()) if "valid" in e]
    assert [e.get("average", {}).get("weights") for e in log_b] == [
        None] * 5 + [1, 1, 2, 2, 3, 3, 4]
    # An average of the last step alone is the last weights, batch-norm statistics too.
    one = tmp_path / "steps-one"
    r6 = _run("--smoke", "--out", str(one), "--steps", "12", "--threads", "1",
              "--average-from", "0.99", "--average-every", "1")
    assert r6.returncode == 0, r6.stderr[-2000:]
    last, _ = load_checkpoint(one / "last.pt")
    only, ck_only = load_checkpoint(one / "average.pt")
    assert ck_only["state"]["averaged"] == 1
    last_weights = last.state_dict()
    for name, value in only.state_dict().items():
        assert (last_weights[name] == value).all(), name
    with pytest.raises(SystemExit) as stop:
        main(["--smoke", "--out", str(runs[0]), "--steps", "12", "--minutes", "1"])
    assert stop.value.code == 2 and "instead of --minutes" in capsys.readouterr().err

    (out / "last.pt").write_bytes(b"not a checkpoint")
    assert main(["--smoke", "--out", str(out), "--minutes", "0.5", "--resume"]) == 2
    assert "not readable" in capsys.readouterr().err


def test_two_runs_building_one_cache_at_once_both_succeed(tmp_path: Path) -> None:
    """Two trainings started together on a set not yet cached each build its cache
    (the second used to find the first's temporary file renamed away)."""
    import soundfile as sf

    set_dir = tmp_path / "valid_x"
    (set_dir / "audio").mkdir(parents=True)
    (set_dir / "labels").mkdir()
    t = np.arange(int(feat.SAMPLE_RATE * 6)) / feat.SAMPLE_RATE
    for i in range(6):
        freqs = np.array([261.6 * 2 ** (i / 12), 329.6, 392.0])
        tone = np.sin(2 * np.pi * freqs[:, None] * t).sum(axis=0)
        sf.write(set_dir / "audio" / f"c{i}.flac", (0.2 * tone).astype(np.float32),
                 feat.SAMPLE_RATE)
        (set_dir / "labels" / f"c{i}.lab").write_text("0.0 6.0 C:maj\n")
    go = tmp_path / "go"
    code = ("import sys, time; from pathlib import Path\n"
            "from models.chords.train import build_cache\n"
            f"while not Path({str(go)!r}).exists(): time.sleep(0.005)\n"
            f"s = build_cache(Path({str(set_dir)!r}), Path({str(tmp_path / 'cache')!r}))\n"
            "print(len(s), s.feats.shape[0])\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    last = [o[0].strip().splitlines()[-1] for o in outs]
    assert last[0] == last[1] and last[0].startswith("6 ")
    left = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert left == ["valid_x.f16", "valid_x.npz"]  # no temporary file stays behind


@pytest.mark.parametrize("bad", ["0", "36", "-3"])
def test_contrast_bins_must_be_a_positive_odd_number(
        tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--contrast-bins", bad])
    assert stop.value.code == 2 and "--contrast-bins" in capsys.readouterr().err


def test_a_gpu_asked_for_where_torch_sees_none_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["--smoke", "--out", str(tmp_path / "r"), "--steps", "2",
                 "--device", "cuda"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before anything is written


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_smoke_training_on_a_gpu_writes_a_checkpoint_the_cpu_reads(tmp_path: Path) -> None:
    import torch

    from models.chords.model import load_checkpoint

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    out = tmp_path / "gpu"
    r = _run("--smoke", "--out", str(out), "--steps", "12", "--device", "cuda", "--bf16")
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"device": "cuda' in r.stdout
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["done"] and summary["step"] == 12
    model, ck = load_checkpoint(out / "last.pt")  # on the CPU
    assert ck["args"]["device"] == "cuda" and ck["args"]["bf16"] == "True"
    weight = model.state_dict()["trunk.proj.weight"]
    assert weight.device.type == "cpu" and weight.dtype == torch.float32
    r2 = _run("--smoke", "--out", str(out), "--steps", "16", "--device", "cuda", "--resume")
    assert r2.returncode == 0, r2.stderr[-2000:]
    assert json.loads(r2.stdout.strip().splitlines()[-1])["step"] == 16
