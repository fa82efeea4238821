"""The chord CRNN (issue #5): a convolutional front end over the log-frequency
spectrogram (features.py), a shared trunk, then two branches.

* offline: a bidirectional LSTM; heads (over its output and the trunk's) for CTC
  (158 = 157 classes + blank last), frame
  chords (157) and bass (13: pitch class 0..11, 12 = N), and a clip embedding (mean and
  standard deviation over time of the BiLSTM output, the layer under the heads);
* live: a unidirectional LSTM over the same trunk with frame and bass heads.

The convolutions see ``CONTEXT_LEFT`` frames before and ``LOOKAHEAD`` frames after each
frame (the live branch's bounded look-ahead: one frame, 23 ms). Offline, the trunk pads
the clip with zero frames (silence: features are exactly 0 there); live, the caller
feeds ``CONTEXT_LEFT + K + LOOKAHEAD`` frames and gets K (``LiveGraph``).

LSTM rather than GRU because onnxruntime's dynamic int8 quantization has an integer
LSTM kernel (DynamicQuantizeLSTM) and leaves GRU in float. Every op exports to ONNX.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.chords import features as feat
from models.chords.vocabulary import NUM_CLASSES

CTC_CLASSES = NUM_CLASSES + 1  # blank last
BLANK = NUM_CLASSES  # 157
BASS_CLASSES = 13  # pitch class of the bass, 12 = N
CONTEXT_LEFT = 3  # frames before a frame the convolutions read
LOOKAHEAD = 1  # frames after it (live look-ahead)
CHECKPOINT_FORMAT = "strumspace-chords-crnn-1"


@dataclass
class ModelConfig:
    n_bins: int = feat.N_BINS
    c1: int = 12  # channels of the conv (one output per semitone)
    trunk: int = 256  # trunk width per frame
    hidden: int = 96  # offline BiLSTM per direction
    layers: int = 2  # offline BiLSTM layers
    live_hidden: int = 128
    # Frames the live branch waits for after a frame: 1 shares the offline trunk (its
    # convolution reads one frame ahead); 0 gives the live branch a causal trunk of
    # its own (the same kernel, all of it on past frames), 23 ms sooner.
    live_lookahead: int = LOOKAHEAD
    dropout: float = 0.1
    # Harmonics stacked as input channels (a harmonic CQT, as in Bittner et al. 2017):
    # channel h holds the spectrum h times higher at each bin, so the 3-semitone
    # kernel sees a note's partials at its fundamental's position. () is one channel,
    # the spectrum alone (every checkpoint before 2026-11-27 afternoon).
    stacked_harmonics: tuple[float, ...] = ()
    # A second input channel, each bin less the mean of the `contrast_bins` bins
    # around it (odd; 0: none, every checkpoint before 2026-11-28): the spectrum with
    # its broad envelope, an instrument's brightness, taken away, beside the spectrum
    # itself (which keeps the level that tells a quiet chord from silence).
    contrast_bins: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedding_dim(self) -> int:
        return 4 * self.hidden  # mean and std of the 2*hidden BiLSTM output

    @classmethod
    def tiny(cls) -> ModelConfig:
        return cls(c1=4, trunk=32, hidden=16, layers=1, live_hidden=16,
                   dropout=0.0)


def harmonic_shifts(harmonics: tuple[float, ...]) -> list[int]:
    """Bins from a fundamental to each harmonic (rounded; [] for no stacking)."""
    if any(h <= 0 for h in harmonics):
        raise ValueError(f"harmonics must be positive, not {harmonics}")
    return [round(feat.BINS_PER_SEMITONE * 12 * math.log2(h)) for h in harmonics]


def stack_harmonics(x: Tensor, shifts: list[int]) -> Tensor:
    """[B, T, F] -> [B, H, T, F]: channel i at bin b holds bin b + shifts[i] (zero
    past either end of the range); no shifts gives the one channel x."""
    if not shifts:
        return x.unsqueeze(1)
    n = x.shape[-1]
    below, above = max(0, -min(shifts)), max(0, max(shifts))
    padded = F.pad(x, (below, above))  # one pad; each channel is a window of it
    return torch.stack([padded[..., below + s:below + s + n] for s in shifts], dim=1)


def local_contrast(x: Tensor, bins: int) -> Tensor:
    """[B, T, F] -> [B, T, F]: each bin less the mean of the `bins` bins centred on it
    (fewer at the ends of the range)."""
    b, t, f = x.shape
    mean = F.avg_pool1d(x.reshape(b * t, 1, f), bins, stride=1, padding=bins // 2,
                        count_include_pad=False)
    return x - mean.reshape(b, t, f)


class Trunk(nn.Module):
    """[B, T_in, n_bins] -> [B, T_in - CONTEXT_LEFT - LOOKAHEAD, trunk] (valid in time).

    One convolution over time and pitch (a 3-semitone kernel striding one semitone:
    tuning-robust pitch detectors, with CONTEXT_LEFT + 1 + LOOKAHEAD frames of time
    context), then a dense layer over every semitone position. No pooling along pitch:
    the absolute position carries the root, and (measured) a deeper conv stack with
    pitch pooling learnt several times slower within this machine's budget."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        bins_per = feat.BINS_PER_SEMITONE
        self.shifts = harmonic_shifts(cfg.stacked_harmonics)
        if cfg.contrast_bins < 0 or (cfg.contrast_bins and cfg.contrast_bins % 2 == 0):
            raise ValueError(f"contrast_bins must be 0 or odd, not {cfg.contrast_bins}")
        self.contrast_bins = cfg.contrast_bins
        channels = max(1, len(self.shifts)) + (1 if cfg.contrast_bins else 0)
        self.conv1 = nn.Conv2d(channels, cfg.c1,
                               (CONTEXT_LEFT + 1 + LOOKAHEAD, 3 * bins_per),
                               stride=(1, bins_per), padding=(0, bins_per), bias=False)
        self.bn1 = nn.BatchNorm2d(cfg.c1)
        semis = (cfg.n_bins + 2 * bins_per - 3 * bins_per) // bins_per + 1
        self.proj = nn.Linear(cfg.c1 * semis, cfg.trunk)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = stack_harmonics(x, self.shifts)  # [B, H, T, F]
        if self.contrast_bins:
            h = torch.cat([h, local_contrast(x, self.contrast_bins).unsqueeze(1)], dim=1)
        h = F.relu(self.bn1(self.conv1(h)))  # [B, C1, T', semitones]
        h = h.permute(0, 2, 1, 3).flatten(2)  # [B, T', C1 * semitones]
        return self.drop(F.relu(self.proj(h)))


class ChordCRNN(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        self.trunk = Trunk(cfg)
        self.rnn = nn.LSTM(cfg.trunk, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                           bidirectional=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        # Heads read the recurrent output beside the trunk (a skip path: the trunk
        # alone learns fast, the LSTM adds context).
        head_in = 2 * cfg.hidden + cfg.trunk
        self.ctc_head = nn.Linear(head_in, CTC_CLASSES)
        self.frame_head = nn.Linear(head_in, NUM_CLASSES)
        self.bass_head = nn.Linear(head_in, BASS_CLASSES)
        if cfg.live_lookahead not in (0, LOOKAHEAD):
            raise ValueError(f"live_lookahead must be 0 or {LOOKAHEAD}")
        self.live_trunk = Trunk(cfg) if cfg.live_lookahead != LOOKAHEAD else None
        self.live_rnn = nn.LSTM(cfg.trunk, cfg.live_hidden, batch_first=True)
        live_in = cfg.live_hidden + cfg.trunk
        self.live_frame_head = nn.Linear(live_in, NUM_CLASSES)
        self.live_bass_head = nn.Linear(live_in, BASS_CLASSES)

    # -- shared -------------------------------------------------------------------
    def trunk_padded(self, features: Tensor) -> Tensor:
        """Trunk over a whole clip [B, T, F] -> [B, T, trunk] (zero frames = silence
        around it)."""
        x = F.pad(features, (0, 0, CONTEXT_LEFT, LOOKAHEAD))
        return self.trunk(x)

    @property
    def live_context(self) -> int:
        """Frames before a frame that the live branch's convolution reads."""
        return CONTEXT_LEFT + LOOKAHEAD - self.cfg.live_lookahead

    def live_trunk_padded(self, features: Tensor, z: Tensor | None = None) -> Tensor:
        """The live branch's trunk output over a whole clip (``z``: the offline trunk's
        if already computed, which it is when the branches share the trunk)."""
        if self.live_trunk is None:
            return self.trunk_padded(features) if z is None else z
        return self.live_trunk(F.pad(features, (0, 0, self.live_context,
                                                self.cfg.live_lookahead)))

    # -- offline ------------------------------------------------------------------
    def offline(self, features: Tensor, live: bool = True) -> dict[str, Tensor]:
        """features [B, T, F] -> logits ``ctc`` [B,T,158], ``frame`` [B,T,157], ``bass``
        [B,T,13] (offline branch), ``live_frame``, ``live_bass`` (causal branch, same
        trunk: used in training; left out with ``live=False``), ``hidden`` [B,T,2H]
        (penultimate layer), ``trunk`` [B,T,trunk] (the trunk's output, for the
        training's note head)."""
        z = self.trunk_padded(features)
        h, _ = self.rnn(z)
        h = self.drop(h)
        hz = torch.cat([h, z], -1)
        out = {"ctc": self.ctc_head(hz), "frame": self.frame_head(hz),
               "bass": self.bass_head(hz), "hidden": h, "trunk": z}
        if live:
            out["live_frame"], out["live_bass"] = self.live_logits(features, z)
        return out

    def live_logits(self, features: Tensor, z: Tensor | None = None
                    ) -> tuple[Tensor, Tensor]:
        """The causal branch over a whole clip (training view, with dropout): frame
        [B,T,157] and bass [B,T,13] logits. ``z``: the offline trunk's output if
        already computed."""
        zl = self.live_trunk_padded(features, z)
        lz, _ = self.live_rnn(zl)
        lz = torch.cat([self.drop(lz), zl], -1)
        return self.live_frame_head(lz), self.live_bass_head(lz)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The offline graph (ONNX contract): features [1, T, F] -> ctc_logprobs
        [1,T,158], frame_logprobs [1,T,157], bass_logprobs [1,T,13], embedding [1,D].

        frame_logprobs averages (in probability) the offline and the causal heads: the
        two branches err differently, and the mixture scored 0.4 points majmin above
        the offline head alone on both test sets (MODEL.md)."""
        z = self.trunk_padded(features)
        h, _ = self.rnn(z)
        hz = torch.cat([h, z], -1)
        zl = self.live_trunk_padded(features, z)
        lz, _ = self.live_rnn(zl)
        lz = torch.cat([lz, zl], -1)
        both = torch.stack([F.log_softmax(self.frame_head(hz), -1),
                            F.log_softmax(self.live_frame_head(lz), -1)])
        frame = torch.logsumexp(both, 0) - math.log(2.0)
        return (F.log_softmax(self.ctc_head(hz), -1), frame,
                F.log_softmax(self.bass_head(hz), -1), embedding_of(h))

    # -- live ---------------------------------------------------------------------
    def live_step(self, features: Tensor, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The live graph: features [1, live_context + K + live_lookahead, F] (K >= 1),
        state [2, 1, live_hidden] (h and c; zeros at the start) -> frame_logprobs
        [1,K,157], bass_logprobs [1,K,13], state_out. At the start of a stream the caller
        feeds live_context zero frames first, as ``trunk_padded`` does offline."""
        z = (self.live_trunk or self.trunk)(features)
        lz, (h, c) = self.live_rnn(z, (state[0:1], state[1:2]))
        lz = torch.cat([lz, z], -1)
        return (F.log_softmax(self.live_frame_head(lz), -1),
                F.log_softmax(self.live_bass_head(lz), -1), torch.cat([h, c], 0))

    def initial_state(self) -> Tensor:
        return torch.zeros(2, 1, self.cfg.live_hidden)


def embedding_of(h: Tensor) -> Tensor:
    """Clip vector [B, 4H]: mean and standard deviation over time of [B, T, 2H]."""
    mean = h.mean(dim=1)
    std = torch.sqrt(((h - mean.unsqueeze(1)) ** 2).mean(dim=1) + 1e-6)
    return torch.cat([mean, std], dim=-1)


class ChordEnsemble(nn.Module):
    """Several trained CRNNs as one offline graph (the same ONNX contract): frame and
    bass posteriors averaged in probability over the members, the CTC output and the
    clip embedding of the first member. The live branch is the first member's
    (``live_step``): the display keeps one small causal model.

    Measured with two runs (MODEL.md): no better through the decoder than the first
    alone, so the shipped graph is a single model; kept to repeat the measurement."""

    def __init__(self, members: list[ChordCRNN]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    @property
    def first(self) -> ChordCRNN:
        return self.members[0]  # type: ignore[return-value]

    @property
    def live_context(self) -> int:
        return self.first.live_context

    def offline(self, features: Tensor) -> dict[str, Tensor]:
        return self.first.offline(features)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        outs = [m(features) for m in self.members]
        k = math.log(len(outs))
        frame = torch.logsumexp(torch.stack([o[1] for o in outs]), 0) - k
        bass = torch.logsumexp(torch.stack([o[2] for o in outs]), 0) - k
        return outs[0][0], frame, bass, outs[0][3]

    def live_step(self, features: Tensor, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.first.live_step(features, state)

    def initial_state(self) -> Tensor:
        return self.first.initial_state()


class LiveGraph(nn.Module):
    """``ChordCRNN.live_step`` as a module's forward (for export)."""

    def __init__(self, model: ChordCRNN | ChordEnsemble) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: Tensor, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.model.live_step(features, state)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta(model: ChordCRNN | ChordEnsemble) -> dict[str, Any]:
    """What an exporter records beside the graphs (chords.json)."""
    return {
        "sample_rate": feat.SAMPLE_RATE, "hop": feat.HOP, "fps": feat.FPS,
        "n_bins": feat.N_BINS, "num_classes": NUM_CLASSES, "ctc_classes": CTC_CLASSES,
        "blank": BLANK, "bass_classes": BASS_CLASSES,
        "embedding_dim": model.cfg.embedding_dim,
        "live_context_left": model.live_context, "live_lookahead": model.cfg.live_lookahead,
        "live_state_shape": [2, 1, model.cfg.live_hidden],
        "feature_latency_s": feat.LATENCY_S,
        "parameters": count_parameters(model),
    }


class CheckpointError(RuntimeError):
    """A missing, damaged or foreign checkpoint file."""


def load_checkpoint(path: str | Path, map_location: str = "cpu"
                    ) -> tuple[ChordCRNN, dict[str, Any]]:
    """The model (eval mode) and the checkpoint's dictionary (config, step, metrics...)
    from a train.py checkpoint (last.pt or best.pt)."""
    p = Path(path)
    try:
        ck = torch.load(p, map_location=map_location, weights_only=False)
    except FileNotFoundError as e:
        raise CheckpointError(f"no checkpoint at {p}") from e
    except Exception as e:  # a truncated or foreign file
        raise CheckpointError(f"{p} is not a readable checkpoint: {e}") from e
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{p} is not a chord model checkpoint ({CHECKPOINT_FORMAT})")
    cfg = ModelConfig(**ck["config"])
    model = ChordCRNN(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def config_dict(cfg: ModelConfig) -> dict[str, Any]:
    """The config as plain JSON values (lists, not tuples), so a checkpoint's config
    and the chords.json written from it read back equal."""
    d = asdict(cfg)
    d["stacked_harmonics"] = list(d["stacked_harmonics"])
    return d
