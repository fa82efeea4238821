"""The chord CRNN: output contract, the live branch run chunk by chunk equals the
same branch over the whole clip, and checkpoints load or fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.chords import features as feat
from models.chords.model import (
    BASS_CLASSES,
    BLANK,
    CHECKPOINT_FORMAT,
    CONTEXT_LEFT,
    CTC_CLASSES,
    LOOKAHEAD,
    CheckpointError,
    ChordCRNN,
    LiveGraph,
    ModelConfig,
    config_dict,
    count_parameters,
    harmonic_shifts,
    load_checkpoint,
    local_contrast,
    meta,
    stack_harmonics,
)
from models.chords.vocabulary import NUM_CLASSES

torch.set_num_threads(1)


def _model(cfg: ModelConfig | None = None) -> ChordCRNN:
    torch.manual_seed(0)
    m = ChordCRNN(cfg)
    # Non-trivial batch-norm statistics, so a padding mistake would show.
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                assert mod.running_mean is not None and mod.running_var is not None
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


@pytest.fixture(scope="module")
def model() -> ChordCRNN:
    return _model()


@pytest.fixture(scope="module")
def causal_model() -> ChordCRNN:
    """The live branch with a causal trunk of its own (no look-ahead)."""
    return _model(ModelConfig(live_lookahead=0))


@pytest.fixture(scope="module")
def harmonic_model() -> ChordCRNN:
    """Both trunks read the spectrum stacked at six harmonics."""
    return _model(ModelConfig(live_lookahead=0, stacked_harmonics=(0.5, 1, 2, 3, 4, 5)))


def test_default_size_is_in_the_planned_range(model: ChordCRNN) -> None:
    assert 500_000 <= count_parameters(model) <= 1_500_000
    assert CTC_CLASSES == NUM_CLASSES + 1 == BLANK + 1


@pytest.mark.parametrize("t", [1, 2, 7, 130])
def test_offline_graph_outputs(model: ChordCRNN, t: int) -> None:
    x = torch.rand(1, t, feat.N_BINS) * 3
    with torch.no_grad():
        ctc, frame, bass, emb = model(x)
    assert ctc.shape == (1, t, CTC_CLASSES)
    assert frame.shape == (1, t, NUM_CLASSES)
    assert bass.shape == (1, t, BASS_CLASSES)
    assert emb.shape == (1, model.cfg.embedding_dim)
    for lp in (ctc, frame, bass):  # log-probabilities
        torch.testing.assert_close(lp.exp().sum(-1), torch.ones(1, t))
    assert torch.isfinite(emb).all()


def test_offline_graph_mixes_the_training_views_heads(model: ChordCRNN) -> None:
    x = torch.rand(2, 50, feat.N_BINS) * 3
    with torch.no_grad():
        out = model.offline(x)
        _, frame, _, _ = model(x[:1])
    # the graph's frame posteriors: the offline and causal heads' mean probability
    mixed = (torch.softmax(out["frame"][:1], -1) + torch.softmax(out["live_frame"][:1], -1)) / 2
    torch.testing.assert_close(torch.log(mixed), frame)


@pytest.mark.parametrize("which", ["model", "causal_model", "harmonic_model"])
def test_live_graph_chunk_by_chunk_equals_the_whole_clip(which: str,
                                                          request: pytest.FixtureRequest
                                                          ) -> None:
    model: ChordCRNN = request.getfixturevalue(which)
    context, ahead = model.live_context, model.cfg.live_lookahead
    assert context + 1 + ahead == CONTEXT_LEFT + 1 + LOOKAHEAD  # one kernel size
    t = 90
    x = torch.rand(1, t, feat.N_BINS) * 3
    with torch.no_grad():
        whole = model.offline(x)
        ref = torch.log_softmax(whole["live_frame"], -1)
        ref_bass = torch.log_softmax(whole["live_bass"], -1)
        live = LiveGraph(model)
        state = model.initial_state()
        # The stream starts with `context` silent frames; each call needs the
        # look-ahead frames after its chunk.
        buf = torch.cat([torch.zeros(1, context, feat.N_BINS), x], 1)
        frames, basses, i = [], [], 0
        for k in (1, 5, 13, 2, 30, 20):
            k = min(k, t - ahead - i)
            f, b, state = live(buf[:, i:i + context + k + ahead], state)
            assert f.shape == (1, k, NUM_CLASSES) and b.shape == (1, k, BASS_CLASSES)
            assert state.shape == (2, 1, model.cfg.live_hidden)
            frames.append(f)
            basses.append(b)
            i += k
    got = torch.cat(frames, 1)
    torch.testing.assert_close(got, ref[:, :i], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.cat(basses, 1), ref_bass[:, :i], atol=1e-4, rtol=1e-4)


def test_stacked_harmonics_bring_each_partial_to_its_fundamentals_bin() -> None:
    per_octave = 12 * feat.BINS_PER_SEMITONE
    assert harmonic_shifts((0.5, 1, 2, 3, 4, 5)) == [-per_octave, 0, per_octave, 57, 72, 84]
    assert harmonic_shifts(()) == []
    with pytest.raises(ValueError, match="positive"):
        harmonic_shifts((1, 0))
    # a note at bin 30 with partials at its 2nd and 3rd harmonics' bins
    x = torch.zeros(2, 4, feat.N_BINS)
    x[..., [30, 30 + per_octave, 30 + 57]] = torch.tensor([1.0, 0.5, 0.25])
    h = stack_harmonics(x, harmonic_shifts((0.5, 1, 2, 3)))
    assert h.shape == (2, 4, 4, feat.N_BINS)
    torch.testing.assert_close(h[:, 1], x)  # the spectrum itself
    for ch, want in ((1, 1.0), (2, 0.5), (3, 0.25)):
        assert h[0, ch, 0, 30] == want
    assert h[0, 0, 0, 30 + per_octave] == 1.0  # half the frequency: the octave above
    # shifted past either end of the range: zeros, never wrapped around
    assert (h[:, 2, :, -per_octave:] == 0).all() and (h[:, 0, :, :per_octave] == 0).all()
    torch.testing.assert_close(stack_harmonics(x, []), x.unsqueeze(1))


def test_local_contrast_takes_a_broad_envelope_away_and_keeps_the_notes() -> None:
    bins = feat.N_BINS
    tilt = torch.linspace(3.0, 0.0, bins)  # a bright or a dull instrument: a slope
    notes = torch.zeros(bins)
    notes[[60, 72, 81]] = 2.0
    x = (tilt + notes).expand(1, 2, bins).clone()
    c = local_contrast(x, 37)
    assert c.shape == x.shape
    inner = slice(18, bins - 18)  # a whole window inside the range
    flat = local_contrast(tilt.expand(1, 1, bins).clone(), 37)[0, 0, inner]
    assert flat.abs().max() < 1e-5  # a straight slope is all envelope
    assert (c[0, 0, [60, 72, 81]] > 1.7).all()  # the notes stand out by their height
    # at the ends the mean covers fewer bins, never zeros past the range
    torch.testing.assert_close(local_contrast(torch.ones(1, 1, bins), 37),
                               torch.zeros(1, 1, bins))


@pytest.mark.parametrize("bins", [-1, 36])
def test_contrast_bins_must_be_odd(bins: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        ChordCRNN(ModelConfig(contrast_bins=bins))


def test_causal_live_branch_never_reads_a_later_frame(causal_model: ChordCRNN) -> None:
    x = torch.rand(1, 40, feat.N_BINS) * 3
    y = x.clone()
    y[:, 25:] = torch.rand(1, 15, feat.N_BINS) * 3  # a different future from frame 25
    with torch.no_grad():
        a, b = causal_model.offline(x), causal_model.offline(y)
    torch.testing.assert_close(a["live_frame"][:, :25], b["live_frame"][:, :25])
    assert not torch.allclose(a["live_frame"][:, 25], b["live_frame"][:, 25])
    # the offline branch is bidirectional: it does read ahead
    assert not torch.allclose(a["frame"][:, 20], b["frame"][:, 20])
    m = meta(causal_model)
    assert m["live_lookahead"] == 0 and m["live_context_left"] == CONTEXT_LEFT + LOOKAHEAD


def test_meta_records_what_an_exporter_needs(model: ChordCRNN) -> None:
    m = meta(model)
    assert m["blank"] == BLANK and m["n_bins"] == feat.N_BINS
    assert m["live_context_left"] == CONTEXT_LEFT and m["live_lookahead"] == LOOKAHEAD
    assert m["live_state_shape"] == [2, 1, model.cfg.live_hidden]
    assert m["embedding_dim"] == model.cfg.embedding_dim


@pytest.mark.parametrize("harmonics", [(), (0.5, 1, 2)])
def test_checkpoint_round_trip_and_clear_errors(tmp_path: Path,
                                                harmonics: tuple[float, ...]) -> None:
    cfg = ModelConfig(**{**config_dict(ModelConfig.tiny()), "stacked_harmonics": harmonics})
    m = ChordCRNN(cfg).eval()
    path = tmp_path / "best.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "config": config_dict(cfg),
                "model": m.state_dict()}, path)
    loaded, ck = load_checkpoint(path)
    x = torch.rand(1, 20, feat.N_BINS)
    with torch.no_grad():
        for a, b in zip(m(x), loaded(x), strict=True):
            torch.testing.assert_close(a, b)
    assert not loaded.training and ck["config"]["hidden"] == cfg.hidden
    assert loaded.trunk.conv1.in_channels == max(1, len(harmonics))
    assert json.loads(json.dumps(config_dict(cfg))) == config_dict(cfg)  # as chords.json

    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(damaged)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": 1}, foreign)
    with pytest.raises(CheckpointError, match="not a chord model checkpoint"):
        load_checkpoint(foreign)
