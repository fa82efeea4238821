"""The auxiliary note targets: the pitch classes that sound in each frame, rebuilt from
a set's manifest, transposed with the crop, and a training run that learns them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.chords import features as feat
from models.chords import manifest as mf
from models.chords.note_targets import (
    NoteTargetError,
    bits_to_matrix,
    frame_bits,
    manifest_path,
    set_bits,
)
from models.chords.performance import DRUM_CH, Note, Performance, Segment
from models.chords.render import performance_of
from models.chords.train import CACHE_BINS, CachedSet, Sampler, main
from models.chords.vocabulary import from_index, parse


def _perf(notes: list[Note]) -> Performance:
    return Performance(notes, [Segment(0.0, 2.0, "C:maj")], 2.0)


def test_a_note_sounds_from_its_note_on_to_its_note_off_and_drums_never() -> None:
    perf = _perf([Note(0.5, 1.0, 60, 90, 0), Note(0.75, 1.5, 76, 90, 1),
                  Note(0.0, 2.0, 38, 90, DRUM_CH)])
    n = 86
    m = bits_to_matrix(frame_bits(perf, n))
    t = np.asarray(feat.frame_time(np.arange(n)))
    c = (t >= 0.5) & (t < 1.0)
    e = (t >= 0.75) & (t < 1.5)
    assert (m[:, 0] == c).all() and (m[:, 4] == e).all()
    assert m[:, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]].sum() == 0  # the snare (D) is a drum


def test_transposed_targets_move_with_the_spectrum() -> None:
    bits = frame_bits(_perf([Note(0.0, 1.0, 60, 90, 0), Note(0.0, 1.0, 67, 90, 0)]), 10)
    up = bits_to_matrix(bits, 5)  # C and G up a fourth: F and C
    assert np.flatnonzero(up[0]).tolist() == [0, 5]
    assert (bits_to_matrix(bits, -7) == up).all()


def _set_from_manifest(root: Path, name: str, clips: int) -> Path:
    """A set folder with the first clips of the committed validation manifest (their
    labels; noise in place of the audio: only the frame counts matter here) and the
    manifest beside it, as data.py leaves a training set."""
    data = mf.load(mf.MANIFEST_DIR / "valid.json")
    data["clips"] = data["clips"][:clips]
    set_dir = root / name
    (set_dir / "audio").mkdir(parents=True)
    (set_dir / "labels").mkdir()
    rng = np.random.default_rng(0)
    for entry in data["clips"]:
        perf = performance_of(entry)
        audio = 0.01 * rng.standard_normal(int(perf.duration * 22050)).astype(np.float32)
        sf.write(set_dir / "audio" / f"{entry['id']}.flac", audio, 22050)
        (set_dir / "labels" / f"{entry['id']}.lab").write_text(perf.lab())
    (root / f"{name}.json").write_text(json.dumps(data))
    return set_dir


def test_set_bits_hold_the_chords_notes_and_are_cached(tmp_path: Path) -> None:
    set_dir = _set_from_manifest(tmp_path, "train_x", 2)
    from models.chords.train import build_cache

    cached = build_cache(set_dir, tmp_path / "cache", progress=False)
    bits = set_bits(set_dir, cached.ids, cached.offsets, tmp_path / "cache", "train_x")
    assert bits.shape == cached.chord.shape and bits.dtype == np.uint16
    sounding = bits_to_matrix(bits)
    chord_frames = [i for i in range(bits.size) if not from_index(int(cached.chord[i])).is_no_chord]
    # the renderer plays chord tones only; most chord frames sound notes
    for i in chord_frames:
        tones = set(from_index(int(cached.chord[i])).pitch_classes)
        assert set(np.flatnonzero(sounding[i]).tolist()) <= tones
    assert np.mean([sounding[i].any() for i in chord_frames]) > 0.8
    assert (tmp_path / "cache" / "train_x.notes.npz").exists()
    # the cache answers for the same clips, and is rebuilt (from the manifest) for others
    (tmp_path / "train_x.json").write_text("not read when cached")
    again = set_bits(set_dir, cached.ids, cached.offsets, tmp_path / "cache", "train_x")
    assert (again == bits).all()
    with pytest.raises(NoteTargetError, match="not a readable manifest"):
        set_bits(set_dir, cached.ids[:1], cached.offsets[:2], tmp_path / "cache", "train_x")
    assert sorted(p.name for p in (tmp_path / "cache").glob("*notes*")) == [
        "train_x.notes.npz"]  # no temporary file left behind


def test_a_set_without_its_manifest_or_its_clips_is_named(tmp_path: Path) -> None:
    with pytest.raises(NoteTargetError, match="no manifest"):
        manifest_path(tmp_path / "nowhere")
    assert manifest_path(tmp_path / "valid") == mf.MANIFEST_DIR / "valid.json"
    set_dir = _set_from_manifest(tmp_path, "train_y", 1)
    with pytest.raises(NoteTargetError, match="not in its manifest"):
        set_bits(set_dir, ["stranger"], np.array([0, 10]), tmp_path / "cache", "train_y")


def _spike(name: str, notes: bool) -> CachedSet:
    n = 300
    feats = np.zeros((n, CACHE_BINS), np.float16)
    bits = frame_bits(_perf([Note(0.0, 10.0, 60, 90, 0), Note(0.0, 10.0, 64, 90, 0)]), n)
    return CachedSet(name, feats, np.full(n, parse("C:maj").index, np.int16),
                     np.zeros(n, np.int8), np.array([0, n]), [name], np.array([7.0]),
                     ["unused.lab"], bits if notes else None)


def test_batches_carry_note_targets_transposed_with_the_chord() -> None:
    sampler = Sampler([_spike("a", True), _spike("b", True)], 100, 16,
                      np.random.default_rng(0))
    b = sampler.batch_arrays()
    assert b["notes"].shape == (16, 100, 12)
    for j in range(16):
        root = int(b["chord"][j, 0]) // 13
        assert np.flatnonzero(b["notes"][j, 0]).tolist() == sorted({root, (root + 4) % 12})
    # a set without notes: no targets at all (a crop without them would be unlabelled)
    mixed = Sampler([_spike("a", True), _spike("b", False)], 100, 4, np.random.default_rng(0))
    assert "notes" not in mixed.batch_arrays()


def test_training_with_the_note_head_learns_saves_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    train_dir = _set_from_manifest(tmp_path, "train_x", 2)
    valid_dir = _set_from_manifest(tmp_path / "v", "valid_x", 1)
    out = tmp_path / "run"
    common = ["--train", str(train_dir), "--valid", str(valid_dir), "--cache",
              str(tmp_path / "cache"), "--crop", "4", "--batch", "2", "--threads", "1",
              "--notes-weight", "0.3"]
    assert main(["--out", str(out), "--steps", "3", *common]) == 0
    log = [json.loads(line) for line in capsys.readouterr().out.splitlines()
           if line.startswith("{")]
    losses = [e["notes"] for e in log if "notes" in e]
    assert losses and all(v > 0 for v in losses)
    ck = torch.load(out / "last.pt", weights_only=False)
    head = ck["notes_head"]
    assert head["weight"].shape == (12, 256)
    # resumed, the head goes on from where it was
    assert main(["--out", str(out), "--steps", "5", "--resume", *common]) == 0
    ck2 = torch.load(out / "last.pt", weights_only=False)
    assert ck2["state"]["step"] == 5
    assert not torch.equal(ck2["notes_head"]["weight"], head["weight"])
    with pytest.raises(SystemExit):
        main(["--out", str(out), "--smoke", "--notes-weight", "0.3"])
