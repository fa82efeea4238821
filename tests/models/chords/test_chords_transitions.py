"""The chord-change table the `hmm` decoder uses: counting, transposition invariance,
the log-probabilities, the committed file and its command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.chords import transitions as tr
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, NUM_QUALITIES, QUALITIES

MAJ, MIN = QUALITIES.index("maj"), QUALITIES.index("min")


def _lab(path: Path, labels: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i:.1f}\t{i + 1:.1f}\t{x}\n" for i, x in enumerate(labels)))


def test_changes_are_counted_by_quality_and_interval_whatever_the_key() -> None:
    cls = [tr.class_of(x) for x in ("N", "C", "C", "G", "A:min", "N")]
    counts = tr.count_changes([cls])
    assert counts.sum() == 4  # C C is one chord
    assert counts[tr.NO_CHORD_Q, MAJ, 0] == 1  # N -> C: no interval
    assert counts[MAJ, MAJ, 7] == 1  # C -> G: up a fifth
    assert counts[MAJ, MIN, 2] == 1  # G -> A:min: up a tone
    assert counts[MIN, tr.NO_CHORD_Q, 0] == 1
    up_a_tone = [tr.class_of(x) for x in ("N", "D", "D", "A", "B:min", "N")]
    assert (tr.count_changes([up_a_tone]) == counts).all()


def test_the_bass_is_not_part_of_the_class() -> None:
    assert tr.class_of("C:maj/3") == tr.class_of("C") == 0
    assert tr.class_of("Db:min7") == 1 * NUM_QUALITIES + QUALITIES.index("min7")
    assert tr.class_of("N") == N_INDEX


def test_log_transitions_are_a_distribution_per_chord_and_shift_with_the_root() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, (NUM_QUALITIES + 1, NUM_QUALITIES + 1, 12))
    log_p = tr.log_transitions(counts)
    assert log_p.shape == (NUM_CLASSES, NUM_CLASSES)
    off = ~np.eye(NUM_CLASSES, dtype=bool)
    row_sums = np.where(off, np.exp(log_p), 0.0).sum(axis=1)
    assert row_sums == pytest.approx(np.ones(NUM_CLASSES))
    # the same change from another root has the same probability
    c_maj, g_maj = 0 * NUM_QUALITIES + MAJ, 7 * NUM_QUALITIES + MAJ
    d_maj, a_maj = 2 * NUM_QUALITIES + MAJ, 9 * NUM_QUALITIES + MAJ
    assert log_p[c_maj, g_maj] == pytest.approx(log_p[d_maj, a_maj])
    # N -> maj is one count shared by the twelve roots
    n_to_maj = [log_p[N_INDEX, r * NUM_QUALITIES + MAJ] for r in range(12)]
    assert np.ptp(n_to_maj) == pytest.approx(0.0)


def test_a_change_never_counted_is_rare_not_impossible() -> None:
    counts = np.zeros((NUM_QUALITIES + 1, NUM_QUALITIES + 1, 12), dtype=np.int64)
    counts[MAJ, MAJ, 7] = 1000
    log_p = tr.log_transitions(counts)
    c_maj, g_maj, cs_maj = MAJ, 7 * NUM_QUALITIES + MAJ, NUM_QUALITIES + MAJ
    assert np.isfinite(log_p[c_maj, cs_maj])
    assert log_p[c_maj, g_maj] > log_p[c_maj, cs_maj] + 5


def test_a_table_of_the_wrong_shape_or_sign_is_refused() -> None:
    with pytest.raises(tr.TransitionTableError):
        tr.log_transitions(np.zeros((3, 3, 12)))
    bad = np.zeros((NUM_QUALITIES + 1, NUM_QUALITIES + 1, 12))
    bad[0, 0, 0] = -1
    with pytest.raises(tr.TransitionTableError):
        tr.log_transitions(bad)


def test_a_table_survives_a_round_trip_and_a_corrupt_one_is_refused(tmp_path: Path) -> None:
    counts = tr.count_changes([[0, 91, 0, N_INDEX]])
    path = tmp_path / "t.json"
    tr.save_table(counts, ["toy (1 clip)"], path)
    assert (tr.load_table(path) == counts).all()
    path.write_text("{not json")
    with pytest.raises(tr.TransitionTableError, match="cannot read"):
        tr.load_table(path)
    doc = json.loads(tr.TABLE_PATH.read_text())
    doc["qualities"] = doc["qualities"][:-1]
    path.write_text(json.dumps(doc))
    with pytest.raises(tr.TransitionTableError, match="vocabulary"):
        tr.load_table(path)
    with pytest.raises(tr.TransitionTableError, match="cannot read"):
        tr.load_table(tmp_path / "missing.json")


def test_the_committed_table_counts_training_labels_only() -> None:
    doc = json.loads(tr.TABLE_PATH.read_text())
    counts = tr.load_table()
    assert doc["changes"] == int(counts.sum()) > 50_000
    assert doc["sources"] and all(s.startswith("train") for s in doc["sources"])
    # the decoder's bonus: staying costs nothing, common changes pay less than rare
    bonus = tr.switch_bonus(6.0)
    assert (np.diag(bonus) == 0).all() and not bonus.flags.writeable
    g, c, cs = 7 * NUM_QUALITIES + MAJ, MAJ, NUM_QUALITIES + MAJ
    assert bonus[g, c] > 0 > bonus[g, cs]


def test_the_command_line_counts_a_set_and_refuses_an_evaluation_set(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _lab(tmp_path / "train_toy" / "labels" / "a.lab", ["N", "C", "G", "N"])
    _lab(tmp_path / "train_toy" / "labels" / "b.lab", ["N", "D", "A", "N"])
    out = tmp_path / "t.json"
    assert tr.main([str(tmp_path / "train_toy"), "--out", str(out)]) == 0
    assert "6 changes from 2 clips" in capsys.readouterr().out
    counts = tr.load_table(out)
    assert counts[MAJ, MAJ, 7] == 2
    assert json.loads(out.read_text())["sources"] == ["train_toy (2 clips)"]
    _lab(tmp_path / "valid" / "labels" / "a.lab", ["C", "G"])
    with pytest.raises(SystemExit):
        tr.main([str(tmp_path / "valid"), "--out", str(out)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        tr.main([str(tmp_path / "empty"), "--out", str(out)])


def test_a_malformed_label_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.lab"
    path.write_text("0.0\t1.0\tC\n1.0\tG\n")
    with pytest.raises(tr.TransitionTableError, match=r"x\.lab:2"):
        tr.lab_sequence(path)
