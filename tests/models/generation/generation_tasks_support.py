"""A backend over the torch model's KV cache (the Backend protocol of tasks.py), and
small models for the generation-task tests."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import torch

from models.generation.model import CONFIGS, GPT


class GPTBackend:
    """tasks.Backend on a GPT in this process: start / prefill / step on its KV cache."""

    def __init__(self, model: GPT, name: str = "torch-cpu", with_select: bool = True,
                 speculative: bool = True) -> None:
        self.model = model.eval().requires_grad_(False)
        self.vocab_size = model.config.vocab_size
        self.max_len = model.config.max_len
        self.name = name
        self.cache = model.new_cache(1)
        self.calls = {"start": 0, "prefill": 0, "step": 0}
        if not with_select:
            self.select = None  # type: ignore[assignment]  # the protocol without it
        if speculative:  # the optional extend / rewind that speculative decoding uses
            self.extend = self._extend
            self.rewind = self._rewind

    @property
    def length(self) -> int:
        return self.cache.length

    def _extend(self, ids: np.ndarray) -> np.ndarray:
        self.calls["extend"] = self.calls.get("extend", 0) + 1
        with torch.inference_mode():
            return self.model.forward(torch.from_numpy(np.asarray(ids, np.int64)),
                                      self.cache).numpy()

    def _rewind(self, length: int) -> None:
        assert 0 <= length <= self.cache.length
        self.cache.length = length

    def start(self, batch: int) -> None:
        self.cache = self.model.new_cache(batch)
        self.calls["start"] += 1

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        self.calls["prefill"] += 1
        return self.model.prefill(torch.from_numpy(np.asarray(ids, np.int64)),
                                  self.cache).numpy()

    def select(self, rows: np.ndarray) -> None:
        """The optional cache-row selection harmonize uses: new row i = old row rows[i]."""
        index = torch.from_numpy(np.asarray(rows, np.int64))
        length = self.cache.length
        self.cache.k = self.cache.k.index_select(1, index)
        self.cache.v = self.cache.v.index_select(1, index)
        self.cache.length = length

    def step(self, ids: np.ndarray) -> np.ndarray:
        self.calls["step"] += 1
        return self.model.generate_step(torch.from_numpy(np.asarray(ids, np.int64)),
                                        self.cache).numpy()


@cache
def smoke_model(seed: int = 0, max_len: int = 128) -> GPT:
    """An untrained smoke-size model: its near-uniform choices stress the grammar more
    than a trained one would."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    return GPT(replace(CONFIGS["smoke"], max_len=max_len)).eval().requires_grad_(False)


def smoke_backend(seed: int = 0, max_len: int = 128, with_select: bool = True,
                  speculative: bool = True) -> GPTBackend:
    return GPTBackend(smoke_model(seed, max_len), with_select=with_select,
                      speculative=speculative)
