"""A GPT-style decoder-only transformer over our REMI tokens (issue #6).

Pre-norm blocks (LayerNorm, causal self-attention with rotary position embeddings,
GELU MLP), tied input/output embeddings, and a preallocated key/value cache so that
sampling costs one block pass per new token (`new_cache`, `prefill`, `generate_step`).

One model serves both streams: every sequence starts with a task token
(`TASK_MELODY`, `TASK_CHORDS` or `TASK_LEAD`, appended after the 733 data tokens:
a melody alone, a progression alone, or a melody with its chords interleaved) before the
stream's own header (BOS Key TimeSig). Tokens that can never follow the header
(PAD, BOS and the task tokens) get zero probability: their logits are -inf, so
the NLL counts probability only over tokens that can occur.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.generation import tokens
from models.generation.task_tokens import (  # re-exported: the model's vocabulary
    MODEL_VOCAB as MODEL_VOCAB,
)
from models.generation.task_tokens import NEVER_PREDICTED as NEVER_PREDICTED
from models.generation.task_tokens import PREFIX_LENGTH as PREFIX_LENGTH
from models.generation.task_tokens import TASK_CHORDS as TASK_CHORDS
from models.generation.task_tokens import TASK_LEAD as TASK_LEAD
from models.generation.task_tokens import TASK_MELODY as TASK_MELODY
from models.generation.task_tokens import TASKS as TASKS


@dataclass(frozen=True)
class GPTConfig:
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    d_ff: int = 1024
    max_len: int = 512
    dropout: float = 0.1
    vocab_size: int = MODEL_VOCAB
    rope_base: float = 10000.0

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


# "cpu": ~4.9M parameters, sized for 2 hours on this machine's 2 cores (MODEL.md);
# "gpu": ~25M; "smoke": seconds-long runs in CI and the tests.
CONFIGS: dict[str, GPTConfig] = {
    "smoke": GPTConfig(d_model=48, n_layers=2, n_heads=4, d_ff=128, max_len=128,
                       dropout=0.0),
    "cpu": GPTConfig(d_model=256, n_layers=6, n_heads=4, d_ff=1024, max_len=512,
                     dropout=0.1),
    "gpu": GPTConfig(d_model=512, n_layers=8, n_heads=8, d_ff=2048, max_len=1024,
                     dropout=0.1),
}


class KVCache:
    """Keys and values of every layer, preallocated to `max_len` positions."""

    def __init__(self, config: GPTConfig, batch: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        head = config.d_model // config.n_heads
        shape = (config.n_layers, batch, config.n_heads, config.max_len, head)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0
        self.max_len = config.max_len


def _rope_tables(config: GPTConfig) -> tuple[Tensor, Tensor]:
    head = config.d_model // config.n_heads
    inv = 1.0 / config.rope_base ** (torch.arange(0, head, 2, dtype=torch.float32) / head)
    angles = torch.outer(torch.arange(config.max_len, dtype=torch.float32), inv)
    return angles.cos(), angles.sin()  # (max_len, head/2)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding on (B, H, T, D) with cos/sin of shape (T, D/2): pairs (even, odd)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class Attention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.d_model % config.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.dropout = config.dropout

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: KVCache | None,
                layer: int, pos: Tensor | None = None) -> Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, c // self.n_heads).permute(
            2, 0, 3, 1, 4)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        drop = self.dropout if self.training else 0.0
        if pos is not None and cache is not None:
            # Tokens at the positions held in the tensor `pos` (T,), against the whole
            # preallocated cache with the later positions masked: no shape depends on
            # the positions, so a CUDA graph can replay it (static_step).
            cache.k[layer].index_copy_(2, pos, k)
            cache.v[layer].index_copy_(2, pos, v)
            mask = torch.arange(cache.max_len, device=x.device)[None, :] <= pos[:, None]
            y = F.scaled_dot_product_attention(q, cache.k[layer], cache.v[layer],
                                               attn_mask=mask)
        elif cache is None:
            # Batches are right-padded, so causal attention alone keeps real tokens
            # from ever seeing padding.
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        else:
            start = cache.length
            cache.k[layer, :b, :, start:start + t] = k
            cache.v[layer, :b, :, start:start + t] = v
            keys = cache.k[layer, :b, :, :start + t]
            values = cache.v[layer, :b, :, :start + t]
            # Query i (absolute start + i) sees keys 0 .. start + i.
            mask = (torch.arange(start + t, device=x.device)[None, :]
                    <= (start + torch.arange(t, device=x.device))[:, None])
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = Attention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(nn.Linear(config.d_model, config.d_ff), nn.GELU(),
                                 nn.Linear(config.d_ff, config.d_model))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: KVCache | None,
                layer: int, pos: Tensor | None = None) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cos, sin, cache, layer, pos))
        return x + self.drop(self.mlp(self.norm2(x)))


class GPT(nn.Module):
    rope_cos: Tensor
    rope_sin: Tensor
    never: Tensor

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(config.d_model)
        cos, sin = _rope_tables(config)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        never = torch.zeros(config.vocab_size, dtype=torch.bool)
        never[[t for t in NEVER_PREDICTED if t < config.vocab_size]] = True
        self.register_buffer("never", never, persistent=False)
        self.apply(self._init)
        # GPT-2: residual projections scaled down with depth.
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        """Logits (B, T, V) for token ids (B, T), right-padded rows allowed. With a
        cache, `idx` continues the cached positions and the cache grows by T."""
        t = idx.shape[1]
        start = cache.length if cache is not None else 0
        if start + t > self.config.max_len:
            raise ValueError(f"{start + t} positions exceed max_len {self.config.max_len}")
        cos = self.rope_cos[start:start + t]
        sin = self.rope_sin[start:start + t]
        x = self.drop(self.embed(idx))
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, i)
        if cache is not None:
            cache.length = start + t
        logits = self.norm(x) @ self.embed.weight.T  # tied embeddings
        return logits.masked_fill(self.never, float("-inf"))

    def static_step(self, idx: Tensor, start: Tensor, cache: KVCache) -> Tensor:
        """Logits (B, T, V) for tokens (B, T) at positions start .. start + T - 1
        (`start` a (1,) long tensor on the model's device), written into `cache` (of
        exactly B rows); `cache.length` is left to the caller. The same result as
        `forward(idx, cache)` there, with no shape or Python value depending on the
        position, so a CUDA graph captures it once per T and replays it at every
        position (on a GPU the per-token cost is otherwise the launch of each small
        kernel from Python)."""
        pos = start + torch.arange(idx.shape[1], device=idx.device)
        cos = self.rope_cos.index_select(0, pos)
        sin = self.rope_sin.index_select(0, pos)
        x = self.embed(idx)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, i, pos)
        logits = self.norm(x) @ self.embed.weight.T
        return logits.masked_fill(self.never, float("-inf"))

    def new_cache(self, batch: int = 1) -> KVCache:
        p = self.embed.weight
        return KVCache(self.config, batch, p.device, p.dtype)

    @torch.no_grad()
    def prefill(self, idx: Tensor, cache: KVCache) -> Tensor:
        """Run a prompt (B, T) into an empty or partly filled cache; logits of its
        last position (B, V)."""
        return self.forward(idx, cache)[:, -1]

    @torch.no_grad()
    def generate_step(self, token: Tensor, cache: KVCache) -> Tensor:
        """One new token per row (B,) after the cached positions; next logits (B, V)."""
        return self.forward(token[:, None], cache)[:, -1]


def sample_next(logits: Tensor, temperature: float = 1.0, top_p: float = 1.0,
                generator: torch.Generator | None = None) -> Tensor:
    """A token per row from logits (B, V) with temperature and nucleus (top-p) sampling."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the most likely
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


@torch.no_grad()
def sample(model: GPT, prompt: list[int], max_new: int, *, temperature: float = 1.0,
           top_p: float = 1.0, seed: int = 0) -> list[int]:
    """Continue a prompt (task token first) until EOS or `max_new` tokens, with the
    KV cache. Unconstrained: grammar-constrained decoding is still to do (MODEL.md)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    cache = model.new_cache(1)
    budget = min(max_new, model.config.max_len - len(prompt))
    logits = model.prefill(torch.tensor([prompt]), cache)
    out: list[int] = []
    for _ in range(budget):
        tok = sample_next(logits, temperature, top_p, gen)
        out.append(int(tok))
        if out[-1] == tokens.EOS or cache.length >= model.config.max_len:
            break
        logits = model.generate_step(tok, cache)
    return out
