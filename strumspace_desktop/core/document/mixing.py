"""The mixing and recording parts of the document (schema version 2): track and
master effects, the master bus and the punch range.

A mixin of `Document`, kept apart so that model.py does not keep growing. Each
effect is one plain value in the `effects` root (like a clip references its
track, an effect names its track), so no peer ever has to create a nested map
on a track it did not create.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Map

from ..effects import MASTER, effect_type
from . import schema as S
from .errors import DocumentError


@dataclass(frozen=True, slots=True)
class Effect:
    id: str
    track_id: str  # or "master"
    type: str
    order: float
    bypass: bool = False
    params: dict[str, float] = field(default_factory=dict)
    plugin: str = ""  # VST3 path

    def encode(self) -> dict[str, Any]:
        return {
            S.EFFECT_TRACK: self.track_id,
            S.EFFECT_TYPE: self.type,
            S.EFFECT_ORDER: self.order,
            S.EFFECT_BYPASS: self.bypass,
            S.EFFECT_PARAMS: dict(self.params),
            S.EFFECT_PLUGIN: self.plugin,
        }

    @classmethod
    def decode(cls, effect_id: str, value: Any) -> Effect | None:
        """None for an item this version cannot use (unknown type, damaged value)."""
        if not isinstance(value, dict):
            return None
        try:
            kind = effect_type(str(value.get(S.EFFECT_TYPE, "")))
            raw = value.get(S.EFFECT_PARAMS) or {}
            params = kind.normalized({str(k): float(v) for k, v in dict(raw).items()})
            return cls(
                effect_id,
                str(value[S.EFFECT_TRACK]),
                kind.name,
                float(value.get(S.EFFECT_ORDER, 0.0)),
                bool(value.get(S.EFFECT_BYPASS, False)),
                params,
                str(value.get(S.EFFECT_PLUGIN, "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Master:
    volume_db: float = 0.0
    limiter: bool = True
    limiter_threshold_db: float = -1.0


@dataclass(frozen=True, slots=True)
class PunchRange:
    start: int
    end: int
    enabled: bool


def _finite(name: str, value: float, lo: float, hi: float) -> float:
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise DocumentError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


class MixingMixin:
    # Provided by Document.
    _meta: Map
    _effects: Map
    _edit: Callable[[], AbstractContextManager[None]]
    _new_id: Callable[[], str]
    _track_map: Callable[[str], Map]

    # ----- effects -------------------------------------------------------------

    def all_effects(self) -> list[Effect]:
        out = [Effect.decode(k, v) for k, v in self._effects.items()]
        effects = [e for e in out if e is not None]
        effects.sort(key=lambda e: (e.track_id, e.order, e.id))
        return effects

    def effects(self, track_id: str) -> list[Effect]:
        """The effect chain of a track (or of "master"), in processing order."""
        return [e for e in self.all_effects() if e.track_id == track_id]

    def effect(self, effect_id: str) -> Effect:
        e = Effect.decode(effect_id, self._effects.get(effect_id))
        if e is None:
            raise DocumentError(f"no effect {effect_id!r}")
        return e

    def _check_owner(self, track_id: str) -> None:
        if track_id == MASTER:
            return
        tmap = self._track_map(track_id)
        if tmap.get(S.TRACK_KIND) == "chord":
            raise DocumentError("chord tracks make no sound and take no effects")

    def _orders(self, track_id: str, exclude: str = "") -> list[float]:
        return [e.order for e in self.effects(track_id) if e.id != exclude]

    @staticmethod
    def _order_at(orders: list[float], index: int | None) -> float:
        if not orders:
            return 0.0
        if index is None or index >= len(orders):
            return orders[-1] + 1.0
        if index <= 0:
            return orders[0] - 1.0
        return (orders[index - 1] + orders[index]) / 2.0

    def add_effect(
        self,
        track_id: str,
        type: str,
        params: dict[str, float] | None = None,
        index: int | None = None,
        plugin: str = "",
    ) -> str:
        """Insert an effect in a track's chain (at the end unless `index` says where)."""
        self._check_owner(track_id)
        kind = effect_type(type)
        if kind.name == "vst3" and not plugin:
            raise DocumentError("a VST3 effect needs the plugin's path")
        effect = Effect(
            self._new_id(),
            track_id,
            kind.name,
            self._order_at(self._orders(track_id), index),
            False,
            kind.normalized(params or {}),
            str(plugin),
        )
        with self._edit():
            self._effects[effect.id] = effect.encode()
        return effect.id

    def update_effect(
        self,
        effect_id: str,
        *,
        params: dict[str, float] | None = None,
        bypass: bool | None = None,
    ) -> Effect:
        """Change some parameters (merged into the others) or the bypass switch."""
        cur = self.effect(effect_id)
        merged = dict(cur.params)
        if params:
            merged.update({str(k): float(v) for k, v in params.items()})
        new = Effect(
            cur.id,
            cur.track_id,
            cur.type,
            cur.order,
            cur.bypass if bypass is None else bool(bypass),
            effect_type(cur.type).normalized(merged),
            cur.plugin,
        )
        if new != cur:
            with self._edit():
                self._effects[effect_id] = new.encode()
        return new

    def move_effect(self, effect_id: str, index: int) -> None:
        cur = self.effect(effect_id)
        order = self._order_at(self._orders(cur.track_id, exclude=effect_id), index)
        with self._edit():
            self._effects[effect_id] = Effect(
                cur.id, cur.track_id, cur.type, order, cur.bypass, cur.params, cur.plugin
            ).encode()

    def remove_effect(self, effect_id: str) -> None:
        self.effect(effect_id)
        with self._edit():
            del self._effects[effect_id]

    # ----- master bus ----------------------------------------------------------

    def master(self) -> Master:
        m = self._meta
        return Master(
            float(m.get(S.META_MASTER_VOLUME_DB, 0.0)),
            bool(m.get(S.META_MASTER_LIMITER, True)),
            float(m.get(S.META_MASTER_LIMITER_DB, -1.0)),
        )

    def set_master(
        self,
        volume_db: float | None = None,
        limiter: bool | None = None,
        limiter_threshold_db: float | None = None,
    ) -> None:
        values: list[tuple[str, Any]] = []
        if volume_db is not None:
            values.append((S.META_MASTER_VOLUME_DB, _finite("volume_db", volume_db, -200, 24)))
        if limiter is not None:
            values.append((S.META_MASTER_LIMITER, bool(limiter)))
        if limiter_threshold_db is not None:
            values.append(
                (S.META_MASTER_LIMITER_DB, _finite("limiter threshold", limiter_threshold_db,
                                                   -30, 0))
            )
        with self._edit():
            for key, value in values:
                self._meta[key] = value

    # ----- punch range ---------------------------------------------------------

    def punch(self) -> PunchRange:
        m = self._meta
        return PunchRange(
            int(m.get(S.META_PUNCH_START, 0) or 0),
            int(m.get(S.META_PUNCH_END, 0) or 0),
            bool(m.get(S.META_PUNCH_ENABLED, False)),
        )

    def set_punch(
        self, start: int | None = None, end: int | None = None, enabled: bool | None = None
    ) -> None:
        cur = self.punch()
        new_start = cur.start if start is None else int(start)
        new_end = cur.end if end is None else int(end)
        if new_start < 0 or new_end < new_start:
            raise DocumentError(
                f"punch range needs 0 <= start <= end, got {new_start}..{new_end}"
            )
        with self._edit():
            if start is not None:
                self._meta[S.META_PUNCH_START] = new_start
            if end is not None:
                self._meta[S.META_PUNCH_END] = new_end
            if enabled is not None:
                self._meta[S.META_PUNCH_ENABLED] = bool(enabled)

    def iter_take_group(self, group: str) -> Iterator[Any]:
        """The clips of one take group, oldest take first."""
        clips = [c for c in self.clips() if c.take_group == group]  # type: ignore[attr-defined]
        clips.sort(key=lambda c: (c.take, c.id))
        return iter(clips)

    def select_take(self, clip_id: str) -> None:
        """Make one take of its group the audible one (the others are muted), one undo step."""
        chosen = self.clip(clip_id)  # type: ignore[attr-defined]
        if not chosen.take_group:
            raise DocumentError("this clip is not a take")
        with self._edit():
            for c in self.iter_take_group(chosen.take_group):
                if c.muted != (c.id != clip_id):
                    self.update_clip(c.id, muted=c.id != clip_id)  # type: ignore[attr-defined]
