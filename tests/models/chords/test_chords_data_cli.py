"""`python -m models.chords.data`: manifests and renders, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import mir_eval.chord as mc
import soundfile as sf
from chords_support import CI_SOUNDFONT, read_lab

from models.chords import data
from models.chords import manifest as mf


def _tiny_manifest(tmp_path: Path) -> Path:
    """Two short clips of the unseen-timbre recipe, moved to the CI SoundFont."""
    m = mf.build("unseen_timbre", 2)
    for clip in m["clips"]:
        clip["soundfont"] = CI_SOUNDFONT
        clip["spans"] = clip["spans"][:3]
    path = tmp_path / "tiny.json"
    mf.save(m, path)
    return path


def test_render_writes_flac_and_lab_that_agree_and_resumes(tmp_path: Path, capsys) -> None:
    manifest = _tiny_manifest(tmp_path)
    out = tmp_path / "out"
    assert data.main(["render", str(manifest), "--out", str(out), "--limit", "1"]) == 0
    assert sorted(p.name for p in (out / "audio").iterdir()) == ["unseen_timbre-00000.flac"]
    info = sf.info(out / "audio" / "unseen_timbre-00000.flac")
    assert info.samplerate == mf.SAMPLE_RATE and info.channels == 1
    rows = read_lab(out / "labels" / "unseen_timbre-00000.lab")
    mc.validate([r[2] for r in rows], [r[2] for r in rows])
    assert rows[0][0] == 0.0 and abs(rows[-1][1] - info.duration) < 1e-3
    chords = [r[2] for r in rows if r[2] != "N"]
    spans = json.loads(manifest.read_text())["clips"][0]["spans"]
    assert chords == [label for label, _ in spans]
    log = json.loads((out / "render_log.json").read_text())
    first = log["unseen_timbre-00000"]
    # A second run renders only the missing clip; the first is left as it was.
    assert data.main(["render", str(manifest), "--out", str(out)]) == 0
    log = json.loads((out / "render_log.json").read_text())
    assert log["unseen_timbre-00000"] == first and "unseen_timbre-00001" in log
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["clips"] == 2 and summary["audio_s_per_cpu_s"] > 0


def test_rendering_again_gives_the_same_audio(tmp_path: Path) -> None:
    manifest = _tiny_manifest(tmp_path)
    for out in ("a", "b"):
        assert data.main(["render", str(manifest), "--out", str(tmp_path / out),
                          "--limit", "1"]) == 0
    logs = [json.loads((tmp_path / o / "render_log.json").read_text()) for o in "ab"]
    assert logs[0]["unseen_timbre-00000"]["sha256_pcm16"] == \
        logs[1]["unseen_timbre-00000"]["sha256_pcm16"]


def test_bad_manifests_are_refused_with_a_message(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert data.main(["render", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read manifest" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something else"}))
    assert data.main(["render", str(other), "--out", str(tmp_path / "o")]) == 2
    m = json.loads(_tiny_manifest(tmp_path).read_text())
    m["clips"][0]["soundfont"] = "NoSuchFont"
    bad_sf = tmp_path / "badsf.json"
    bad_sf.write_text(json.dumps(m))
    assert data.main(["render", str(bad_sf), "--out", str(tmp_path / "o")]) == 2
    assert "NoSuchFont" in capsys.readouterr().err


def test_manifest_command_writes_where_asked(tmp_path: Path, capsys) -> None:
    out = tmp_path / "train.json"
    assert data.main(["manifest", "train", "--count", "5", "--out", str(out)]) == 0
    assert len(mf.load(out)["clips"]) == 5
    assert json.loads(capsys.readouterr().out)["clips"] == 5
